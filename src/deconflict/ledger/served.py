"""Served objects held to the ledger entries that record them (pure: dicts in, sentences out).

`compare_served` takes what the API served a party (notices, acknowledgements, messages and
their receipts, conflicts, alerts) and the log's entries that concern it, and says, object
by object and field by field, where the two differ (`ledger verify`); `compare_one` holds
one object to the one entry its `ledger_index` names (`Client.check_served`).

- each served object must be explained by an entry (every field compared), and its
  `ledger_index` must name that entry;
- what the log held before the views were fetched (``size_before``) must show in them: a
  newer version, an acknowledgement, a delivery or a notice the hub leaves out is reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ServedViews", "compare_conflict_sides", "compare_one", "compare_served"]

Doc = dict[str, Any]
CONFLICT_TYPES = ("conflict_opened", "conflict_updated", "conflict_resolved")
NOTICE_FIELDS = ("kind", "title", "remarks", "priority", "addressees", "volumes", "ack_deadline")
MESSAGE_FIELDS = ("priority", "subject", "body")


@dataclass
class ServedViews:
    size_before: int
    notices: list[Doc] = field(default_factory=list)
    acks: list[Doc] = field(default_factory=list)
    messages: list[Doc] = field(default_factory=list)
    conflicts: list[Doc] = field(default_factory=list)
    alerts: list[Doc] = field(default_factory=list)
    # False when a listing was cut at its cap: what is logged but not served is not reported
    parties: list[Doc] = field(default_factory=list)
    # what the log cannot settle either way (said to the party, not a failure)
    warnings: list[str] = field(default_factory=list)
    keys: list[Doc] = field(default_factory=list)  # every party's, each with its ledger_index
    conflicts_complete: bool = True
    alerts_complete: bool = True


def _norm(value: Any) -> Any:
    return None if value in ("", None) else value


def _differs(what: str, index: int, name: str, served: Any, logged: Any) -> str:
    return (
        f"{what}: the hub serves {name} = {_short(served)} but its ledger entry {index} says "
        f"{_short(logged)}: the served copy was changed behind the log"
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def compare_served(
    views: ServedViews, entries: dict[int, Doc], me: str | None, problems: list[str]
) -> int:
    """Append a sentence per difference; returns the number of objects compared."""
    versions: dict[tuple[Any, Any], tuple[int, Doc]] = {}
    latest: dict[Any, tuple[int, Doc]] = {}
    events: dict[tuple[Any, ...], tuple[int, Doc]] = {}
    expired: dict[tuple[Any, Any], int] = {}
    withdrawn: dict[Any, int] = {}  # notice -> the version that no longer addresses `me`
    messages: dict[Any, tuple[int, Doc]] = {}
    receipts: dict[tuple[Any, ...], tuple[int, Doc]] = {}
    conflicts: dict[tuple[Any, Any], tuple[int, Doc]] = {}
    alerts: dict[Any, dict[str, tuple[int, Doc]]] = {}
    for i, d in sorted(entries.items()):
        t = d.get("type")
        if t in CONFLICT_TYPES:
            for reader in d.get("readers") or ():
                conflicts[(d.get("conflict_id"), reader)] = (i, d)  # the latest
        elif t in ("alert_raised", "alert_cleared"):
            alerts.setdefault(d.get("alert_id"), {})[str(t)] = (i, d)
        elif t == "alert_acknowledged":
            alerts.setdefault(d.get("alert_id"), {}).setdefault(f"ack:{d.get('party')}", (i, d))
        if t == "notice_version":
            versions[(d.get("notice_id"), d.get("version"))] = (i, d)
            latest[d.get("notice_id")] = (i, d)
        elif t in ("ack", "delivery", "ack_overdue"):
            events.setdefault((t, d.get("notice_id"), d.get("version"), d.get("party")), (i, d))
        elif t == "notice_expired":
            expired[(d.get("notice_id"), d.get("version"))] = i
        elif t == "notice_withdrawn" and d.get("party") == me:
            withdrawn[d.get("notice_id")] = int(d.get("version") or 0)
        elif t == "message":
            messages[d.get("message_id")] = (i, d)
        elif t == "message_receipt":
            key = (d.get("message_id"), d.get("party"), d.get("receipt"))
            receipts.setdefault(key, (i, d))
    compared = 0
    served_ids = set()
    for n in views.notices:
        compared += 1
        served_ids.add(n.get("id"))
        _notice(n, versions, latest, expired, views.size_before, problems)
        for a in n.get("acks") or ():
            _ack(a, versions, events, views.size_before, problems)
    for notice_id, (i, d) in latest.items():
        content = d.get("content") or {}
        to = content.get("addressees") or []
        mine = me is None or d.get("issuer") == me or me in to or "*" in to
        if withdrawn.get(notice_id, 0) > int(d.get("version") or 0):
            mine = False  # a later version is no longer addressed to `me`, as logged
        if mine and i < views.size_before and notice_id not in served_ids:
            problems.append(
                f"notice {notice_id}: in the log (entry {i}, version {d.get('version')}) but "
                "not served: it was hidden or deleted"
            )
    for a in views.acks:
        compared += 1
        _ack(a, versions, events, views.size_before, problems)
    for m in views.messages:
        compared += 1
        _message(m, messages, receipts, me, problems)
    if me is not None:
        served_conflicts = set()
        for c in views.conflicts:
            compared += 1
            served_conflicts.add(c.get("id"))
            _conflict(
                c, conflicts.get((c.get("id"), me)), views.size_before, problems, views.warnings
            )
        for (conflict_id, reader), (i, d) in conflicts.items():
            if (
                reader == me
                and views.conflicts_complete
                and i < views.size_before
                and conflict_id not in served_conflicts
            ):
                problems.append(
                    f"conflict {conflict_id}: in the log (entry {i}, {d.get('type')}) but not "
                    "served: it was hidden or deleted"
                )
    served_alerts = set()
    for a in views.alerts:
        compared += 1
        served_alerts.add(a.get("id"))
        _alert(a, alerts.get(a.get("id"), {}), views.size_before, problems)
    if me is not None:
        compared += _directory(views, entries, problems)
    if me is not None and views.alerts_complete:
        for alert_id, logged in alerts.items():
            raised = logged.get("alert_raised")
            if raised and raised[0] < views.size_before and alert_id not in served_alerts:
                problems.append(
                    f"alert {alert_id}: in the log (entry {raised[0]}) but not served: it was "
                    "hidden or deleted"
                )
    return compared


def _directory(views: ServedViews, entries: dict[int, Doc], problems: list[str]) -> int:
    """The party directory and the parties' keys (public entries) against the log: a key
    swapped in the table would make forged statements verify for whoever trusts the API."""
    registered: dict[Any, tuple[int, Doc]] = {}
    keys: dict[tuple[Any, Any], tuple[int, Doc]] = {}
    for i, d in sorted(entries.items()):
        if d.get("type") == "party_registered":
            registered.setdefault(d.get("party"), (i, d))
        elif d.get("type") == "party_key_set":
            keys[(d.get("party"), d.get("key_id"))] = (i, d)
    served = {p.get("id") for p in views.parties}
    for p in views.parties:
        found = registered.get(p.get("id"))
        what = f"party {p.get('id')}"
        if found is None:
            problems.append(f"{what}: in the hub's directory, but its registration is not logged")
        elif p.get("name") != found[1].get("name"):
            problems.append(_differs(what, found[0], "name", p.get("name"), found[1].get("name")))
    for party, (i, _) in registered.items():
        if i < views.size_before and party not in served:
            problems.append(f"party {party}: registered in the log (entry {i}) but not served")
    shown = set()
    for k in views.keys:
        key = (k.get("party"), k.get("key_id"))
        shown.add(key)
        what = f"key {k.get('key_id')} of party {k.get('party')}"
        found = keys.get(key)
        if found is None:
            problems.append(f"{what}: served by the hub, but the log records no such key")
            continue
        i, entry = found
        _index_check(what, k, i, problems)
        if k.get("public_key") != entry.get("public_key"):
            problems.append(
                _differs(what, i, "public_key", k.get("public_key"), entry.get("public_key"))
            )
    for (party, key_id), (i, _) in keys.items():
        if i < views.size_before and party in served and (party, key_id) not in shown:
            problems.append(
                f"key {key_id} of party {party}: set in the log (entry {i}) but not served"
            )
    return len(views.parties) + len(views.keys)


def _conflict(
    c: Doc,
    found: tuple[int, Doc] | None,
    size_before: int,
    problems: list[str],
    warnings: list[str] | None = None,
) -> None:
    """A served conflict against the latest entry of the reader's side."""
    what = f"conflict {c.get('id')}"
    if found is None:
        if c.get("ledger_index") is not None or warnings is None:
            problems.append(f"{what}: served by the hub, but the log holds no entry of it for you")
        else:
            warnings.append(
                f"{what}: served, but no ledger entry you can read records it: it was opened "
                "before each side's view was logged (an issuer the other notice was not "
                "addressed to had no entry then), or it was made up behind the log"
            )
        return
    index, entry = found
    view = entry.get("view")
    if not isinstance(view, dict):  # logged before each side had its entry: the pairs only
        if c.get("revision") != entry.get("revision") and index < size_before:
            problems.append(
                _differs(what, index, "revision", c.get("revision"), entry.get("revision"))
            )
        return
    if c.get("revision") != view.get("revision"):
        if index < size_before or (c.get("revision") or 0) > (view.get("revision") or 0):
            problems.append(
                f"{what}: the hub serves revision {c.get('revision')}, but the log's latest "
                f"for you is revision {view.get('revision')} (entry {index})"
            )
        return
    _index_check(what, c, index, problems)
    served, logged = c, view
    if c.get("state") == "resolved" and view.get("state") == "resolved":
        served, logged = _undisclosed(c), _undisclosed(view)
    for name, shown, said in _fields(served, logged, ("ledger_index",)):
        problems.append(_differs(what, index, name, shown, said))


_DISCLOSED = ("notice", "version", "addressed_to_you", "disclosure")


def _undisclosed(view: Doc) -> Doc:
    """A resolved conflict without what depends on the other notice's present addressees.

    Once resolved, a conflict is no longer re-logged when the other notice changes, but its
    view follows that notice's addressees (the reader may since have been added or
    removed): how much of the other notice it shows may differ from what was logged. What
    was decided and when (state, resolution, times, revision, both kinds, the other issuer,
    the reader's own notice, each overlap's window) may not.
    """
    out = {k: v for k, v in view.items() if k not in ("notices", "overlaps")}
    other = view.get("other")
    if isinstance(other, dict):
        out["other"] = {k: v for k, v in other.items() if k not in _DISCLOSED}
    out["overlaps"] = [
        o.get("time_window") if isinstance(o, dict) else o for o in view.get("overlaps") or ()
    ]
    return out


def _fields(
    served: Doc, logged: Doc, skip: tuple[str, ...], prefix: str = ""
) -> list[tuple[str, Any, Any]]:
    """(dotted name, served, logged) of each field that differs, nested objects by field."""
    out: list[tuple[str, Any, Any]] = []
    for name in sorted(set(served) | set(logged)):
        if name in skip:
            continue
        a, b = served.get(name), logged.get(name)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _fields(a, b, (), f"{prefix}{name}.")
        elif a != b:
            out.append((prefix + name, a, b))
    return out


def _alert(
    a: Doc, logged: dict[str, tuple[int, Doc]], size_before: int, problems: list[str]
) -> None:
    """A served alert against its `alert_raised`, `alert_cleared` and acknowledgement entries.

    The severity is not compared: it changes with the geometry between raising and clearing,
    which the log does not record (only the transitions the parties act on)."""
    what = f"alert {a.get('id')}"
    raised, cleared = logged.get("alert_raised"), logged.get("alert_cleared")
    if raised is None:
        problems.append(f"{what}: served by the hub, but the log records no such alert")
        return
    i, entry = raised
    for name in ("kind", "parties"):
        if a.get(name) != entry.get(name):
            problems.append(_differs(what, i, name, a.get(name), entry.get(name)))
    if "raised_at" in entry and a.get("raised_at") != entry["raised_at"]:
        problems.append(_differs(what, i, "raised_at", a.get("raised_at"), entry["raised_at"]))
    if a.get("state") == "cleared":
        if cleared is None:
            problems.append(f"{what}: served as cleared, but the log records no clearing")
            return
        i, entry = cleared
        if "cleared_at" in entry and a.get("cleared_at") != entry["cleared_at"]:
            problems.append(
                _differs(what, i, "cleared_at", a.get("cleared_at"), entry["cleared_at"])
            )
        if _norm(a.get("clear_reason")) != _norm(entry.get("reason")):
            problems.append(
                _differs(what, i, "clear_reason", a.get("clear_reason"), entry.get("reason"))
            )
    elif cleared is not None and cleared[0] < size_before:
        problems.append(
            f"{what}: the log records its clearing (entry {cleared[0]}) but the hub serves "
            f"state {a.get('state')!r}"
        )
        return
    _index_check(what, a, i, problems)
    acked = a.get("acks") or {}
    for party, at in acked.items():
        if at is None:
            continue
        entry_of = logged.get(f"ack:{party}")
        if entry_of is None:
            problems.append(
                f"{what}: served as acknowledged by {party}, but the log holds no such "
                "acknowledgement: it was never made"
            )
        elif entry_of[1].get("at") != at:
            problems.append(_differs(what, entry_of[0], f"acks.{party}", at, entry_of[1].get("at")))
    for key, (j, _) in logged.items():
        party = key[4:]
        if key.startswith("ack:") and j < size_before and acked.get(party) is None:
            problems.append(
                f"{what}: the log holds {party}'s acknowledgement (entry {j}) but the hub "
                "serves it as not acknowledged"
            )


def _index_check(what: str, obj: Doc, index: int, problems: list[str]) -> None:
    claimed = obj.get("ledger_index", index)
    if claimed != index:
        problems.append(
            f"{what}: the hub says it comes from ledger entry {claimed}, but the log records "
            f"it at entry {index}"
        )


def _notice(
    n: Doc,
    versions: dict[tuple[Any, Any], tuple[int, Doc]],
    latest: dict[Any, tuple[int, Doc]],
    expired: dict[tuple[Any, Any], int] | None,
    size_before: int,
    problems: list[str],
) -> None:
    what = f"notice {n.get('id')} version {n.get('version')}"
    found = versions.get((n.get("id"), n.get("version")))
    if found is None:
        problems.append(f"{what}: served by the hub, but no such version is in the log")
        return
    index, entry = found
    _index_check(what, n, index, problems)
    content = entry.get("content") or {}
    for name in NOTICE_FIELDS:
        if _norm(n.get(name)) != _norm(content.get(name)):
            problems.append(_differs(what, index, name, n.get(name), content.get(name)))
    if n.get("issuer") != entry.get("issuer"):
        problems.append(_differs(what, index, "issuer", n.get("issuer"), entry.get("issuer")))
    state = n.get("state")
    if state == "expired":
        if expired is not None and (n.get("id"), n.get("version")) not in expired:
            problems.append(f"{what}: served as expired, but the log records no expiry")
    elif state != entry.get("state", "active"):
        problems.append(_differs(what, index, "state", state, entry.get("state", "active")))
    newest_index, newest = latest[n.get("id")]
    if newest.get("version") != n.get("version") and newest_index < size_before:
        problems.append(
            f"{what}: the hub serves this version, but the log holds version "
            f"{newest.get('version')} (entry {newest_index})"
        )


def _ack(
    a: Doc,
    versions: dict[tuple[Any, Any], tuple[int, Doc]],
    events: dict[tuple[Any, ...], tuple[int, Doc]],
    size_before: int,
    problems: list[str],
) -> None:
    key = (a.get("notice_id"), a.get("version"), a.get("addressee"))
    what = f"acknowledgement of notice {key[0]} version {key[1]} by {key[2]}"
    if (key[0], key[1]) not in versions:
        problems.append(f"{what}: served, but the log holds no such notice version")
        return
    ack = events.get(("ack", *key))
    delivery = events.get(("delivery", *key))
    state = a.get("state")
    if state == "acknowledged":
        if ack is None:
            problems.append(
                f"{what}: served as acknowledged, but the log holds no acknowledgement by "
                f"{key[2]}: it was never made"
            )
            return
        i, entry = ack
        _index_check(what, a, i, problems)
        if _norm(a.get("comment")) != _norm(entry.get("comment")):
            problems.append(_differs(what, i, "comment", a.get("comment"), entry.get("comment")))
        if a.get("acknowledged_at") != entry.get("at"):
            problems.append(
                _differs(what, i, "acknowledged_at", a.get("acknowledged_at"), entry.get("at"))
            )
    elif ack is not None and ack[0] < size_before:
        problems.append(
            f"{what}: the log holds the acknowledgement (entry {ack[0]}) but the hub serves "
            f"state {state!r}"
        )
    if a.get("delivered_at") is not None or state == "delivered":
        if delivery is None:
            problems.append(f"{what}: served as delivered, but the log records no delivery")
        else:
            i, entry = delivery
            if state != "acknowledged":
                _index_check(what, a, i, problems)
            claimed = a.get("delivered_ledger_index", i)
            if claimed != i:
                problems.append(
                    f"{what}: the hub says its delivery is ledger entry {claimed}, but the log "
                    f"records it at entry {i}"
                )
            if a.get("delivered_at") != entry.get("at"):
                problems.append(
                    _differs(what, i, "delivered_at", a.get("delivered_at"), entry.get("at"))
                )
    elif delivery is not None and delivery[0] < size_before:
        problems.append(
            f"{what}: the log records the delivery (entry {delivery[0]}) but the hub serves it "
            "as not delivered"
        )
    if a.get("overdue") and events.get(("ack_overdue", *key)) is None:
        problems.append(f"{what}: served as overdue, but the log records no missed deadline")


def _message(
    m: Doc,
    messages: dict[Any, tuple[int, Doc]],
    receipts: dict[tuple[Any, ...], tuple[int, Doc]] | None,
    me: str | None,
    problems: list[str],
) -> None:
    what = f"message {m.get('id')}"
    found = messages.get(m.get("id"))
    if found is None:
        problems.append(f"{what}: served by the hub, but not in the log")
        return
    index, entry = found
    _index_check(what, m, index, problems)
    for name in MESSAGE_FIELDS:
        if _norm(m.get(name)) != _norm(entry.get(name)):
            problems.append(_differs(what, index, name, m.get(name), entry.get(name)))
    if m.get("from") != entry.get("from"):
        problems.append(_differs(what, index, "from", m.get("from"), entry.get("from")))
    if sorted(m.get("to") or []) != sorted(entry.get("to") or []):
        problems.append(_differs(what, index, "to", m.get("to"), entry.get("to")))
    if _norm(m.get("ref")) != _norm(entry.get("ref")):
        problems.append(_differs(what, index, "ref", m.get("ref"), entry.get("ref")))
    if receipts is None:
        return
    mine = {k: v for k, v in m.items() if k.startswith(("delivered_", "read_"))}
    shown: Sequence[Doc] = m.get("receipts") or [{"party": me, **mine}]
    for r in shown:
        for receipt in ("delivered", "read"):
            at = r.get(f"{receipt}_at")
            logged = receipts.get((m.get("id"), r.get("party"), receipt))
            claimed = r.get(f"{receipt}_ledger_index", -1)
            if logged is not None and claimed not in (-1, logged[0]):
                problems.append(
                    f"{what}: the hub says {r.get('party')}'s {receipt} receipt is ledger "
                    f"entry {claimed}, but the log records it at entry {logged[0]}"
                )
            if at is not None and (logged is None or logged[1].get("at") != at):
                problems.append(
                    f"{what}: the hub serves {r.get('party')}'s {receipt} receipt at {at}, but "
                    + (
                        "the log records none"
                        if logged is None
                        else f"its ledger entry {logged[0]} says {logged[1].get('at')}"
                    )
                )


def compare_one(obj: Doc, index: int, entry: Doc, me: str) -> list[str]:
    """One served object against the entry its `ledger_index` names."""
    problems: list[str] = []
    if "mine" in obj and "other" in obj:
        if entry.get("type") not in CONFLICT_TYPES or entry.get("conflict_id") != obj.get("id"):
            return [f"ledger entry {index} is not conflict {obj.get('id')}"]
        if me not in (entry.get("readers") or ()):
            return [f"ledger entry {index} is not your side's record of conflict {obj.get('id')}"]
        _conflict(obj, (index, entry), 0, problems)
    elif "raised_at" in obj:
        _alert_against(obj, index, entry, problems)
    elif "addressee" in obj:
        _ack_against(obj, index, entry, problems)
    elif "body" in obj:
        if entry.get("type") != "message":
            return [f"ledger entry {index} is not message {obj.get('id')}"]
        # receipts are entries of their own: `ledger verify` compares them
        _message(obj, {entry.get("message_id"): (index, entry)}, None, me, problems)
    else:
        key = (entry.get("notice_id"), entry.get("version"))
        if entry.get("type") != "notice_version" or key != (obj.get("id"), obj.get("version")):
            return [f"ledger entry {index} is not notice {obj.get('id')} v{obj.get('version')}"]
        _notice(obj, {key: (index, entry)}, {key[0]: (index, entry)}, None, 0, problems)
    return problems


def _ack_against(a: Doc, index: int, entry: Doc, problems: list[str]) -> None:
    """An acknowledgement against the one entry of its present state."""
    what = f"acknowledgement of notice {a.get('notice_id')} version {a.get('version')}"
    t = entry.get("type")
    expected = {"ack": "acknowledged", "delivery": "delivered", "notice_version": "pending"}
    if (entry.get("notice_id"), entry.get("version")) != (a.get("notice_id"), a.get("version")):
        problems.append(f"{what}: ledger entry {index} is about another notice version")
        return
    if t != "notice_version" and entry.get("party") != a.get("addressee"):
        problems.append(f"{what}: ledger entry {index} is by another party")
    if expected.get(str(t)) != a.get("state"):
        problems.append(_differs(what, index, "state", a.get("state"), expected.get(str(t))))
    if t == "ack":
        if _norm(a.get("comment")) != _norm(entry.get("comment")):
            problems.append(
                _differs(what, index, "comment", a.get("comment"), entry.get("comment"))
            )
        if a.get("acknowledged_at") != entry.get("at"):
            problems.append(
                _differs(what, index, "acknowledged_at", a.get("acknowledged_at"), entry.get("at"))
            )
    elif t == "delivery" and a.get("delivered_at") != entry.get("at"):
        problems.append(
            _differs(what, index, "delivered_at", a.get("delivered_at"), entry.get("at"))
        )


def _alert_against(a: Doc, index: int, entry: Doc, problems: list[str]) -> None:
    """An alert against the one entry of its present state (raised, or cleared)."""
    what = f"alert {a.get('id')}"
    t = entry.get("type")
    if t not in ("alert_raised", "alert_cleared") or entry.get("alert_id") != a.get("id"):
        problems.append(f"ledger entry {index} is not alert {a.get('id')}")
        return
    shown = "cleared" if a.get("state") == "cleared" else "raised"
    if t != f"alert_{shown}":
        problems.append(_differs(what, index, "state", a.get("state"), str(t)[6:]))
        return
    for name in ("kind", "parties"):
        if a.get(name) != entry.get(name):
            problems.append(_differs(what, index, name, a.get(name), entry.get(name)))
    at = "cleared_at" if t == "alert_cleared" else "raised_at"
    if at in entry and a.get(at) != entry[at]:  # entries from before issue 12 lack it
        problems.append(_differs(what, index, at, a.get(at), entry[at]))
    if t == "alert_cleared" and _norm(a.get("clear_reason")) != _norm(entry.get("reason")):
        problems.append(
            _differs(what, index, "clear_reason", a.get("clear_reason"), entry.get("reason"))
        )


def compare_conflict_sides(
    sides: list[tuple[str, Doc]],
    entries: dict[int, Doc],
    problems: list[str],
    *,
    size: int | None = None,
) -> None:
    """Each (party, conflict view) against that side's latest entry (the start-up check,
    which sees every side); a side logged but no longer in the tables is reported too.
    `size`: the log's size, when `entries` holds only some of its entries."""
    latest: dict[tuple[Any, Any], tuple[int, Doc]] = {}
    legacy: set[Any] = set()  # logged once for both sides, before issue 12
    for i, d in sorted(entries.items()):
        if d.get("type") not in CONFLICT_TYPES:
            continue
        if isinstance(d.get("view"), dict):
            for reader in d.get("readers") or ():
                latest[(d.get("conflict_id"), reader)] = (i, d)
        else:
            legacy.add(d.get("conflict_id"))
    if size is None:
        size = max(entries, default=-1) + 1
    for party, view in sides:
        before = len(problems)
        found = latest.pop((view.get("id"), party), None)
        if found is None and view.get("id") in legacy:
            continue  # what this side was told then is not in the log, only that it was
        _conflict(view, found, size, problems)
        for k in range(before, len(problems)):
            problems[k] = f"{problems[k]} (as told to {party})"
    for (conflict_id, party), (i, _) in sorted(latest.items()):
        problems.append(
            f"conflict {conflict_id}: in the log (entry {i}, told to {party}) but not in the "
            "tables: it was deleted"
        )
