"""The demo's unit story (issue 15): a notice that a unit had not received when it began.

The scenario's ``units`` block names a party, its units (each with a terminal `online` or
`offline`) and a notice addressed to that party whose activity starts a few seconds after
it is notified. The online terminals confirm what they receive, as `deconflict unit
watch` does; the offline one never does, so when the activity starts the party's liaison
is told which unit missed it and the issuer how many of the units responsible had it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from deconflict.client import Client

__all__ = ["play"]

Doc = dict[str, Any]


def _say(text: str) -> None:
    print(text, flush=True)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _confirm(unit: Client, after: int) -> int:
    """Read the unit's stream after `after` and confirm it: what its terminal does."""
    events = unit.unit_events(after)
    if not events:
        return after
    last = int(events[-1]["id"])
    unit.unit_confirm(last)
    return last


def _about(events: list[Doc], type_: str, notice_id: str) -> Doc | None:
    return next(
        (e for e in events if e["type"] == type_ and e["data"]["notice_id"] == notice_id), None
    )


def play(url: str, clients: dict[str, Client], scenario: Doc) -> dict[str, str]:
    """Play the story; returns the units' tokens (printed, for `deconflict unit watch`)."""
    story = scenario.get("units")
    if not story:
        return {}
    party = clients[story["party"]]
    _say("\n== Units: delivery down to the unit that acts ==")
    _say(story["about"])
    tokens: dict[str, str] = {}
    terminals: dict[str, Client] = {}
    for u in story["units"]:
        made = party.create_unit(
            u["id"],
            u["area"],
            kinds=u.get("kinds"),
            name=u.get("name"),
            share_with_issuers=bool(u.get("share_with_issuers", False)),
        )
        tokens[u["id"]] = made["token"]
        _say(
            f"{story['party']:>10} created {u['id']} ({u['terminal']}); "
            f"{len(made['routed'])} active notice(s) of its area routed to it\n"
            f"    token: {made['token']}"
        )
        if u["terminal"] == "online":
            terminals[u["id"]] = Client(url, made["token"])
    try:
        cursors = {uid: _confirm(t, 0) for uid, t in terminals.items()}
        n = story["notice"]
        start = datetime.now(UTC) + timedelta(seconds=float(n["starts_in_s"]))
        body = {k: v for k, v in n.items() if k not in ("issuer", "starts_in_s", "hours")}
        body["volumes"] = [
            {
                **v,
                "time_start": _iso(start),
                "time_end": _iso(start + timedelta(hours=float(n["hours"]))),
            }
            for v in n["volumes"]
        ]
        issuer = clients[n["issuer"]]
        stored = issuer.notify(body)
        _say(
            f"{n['issuer']:>10} notified {stored['id']} {stored['title']!r} to every party; "
            f"it sets off in {n['starts_in_s']} s"
        )
        for uid, t in terminals.items():
            before = cursors[uid]
            cursors[uid] = _confirm(t, before)
            if cursors[uid] != before:
                _say(f"{uid:>30} received it (its terminal confirmed)")
        first = next(iter(terminals.values()), None)
        if first is not None and any(x["id"] == stored["id"] for x in first.unit_notices()):
            first.unit_ack(stored["id"], stored["version"], "route on the crews' maps")
            _say(f"{next(iter(terminals)):>30} acknowledged it")
        status = party.notice_units(stored["id"])
        s = status["summary"]
        _say(
            f"{story['party']:>10} liaison: {s['delivered']} of {s['responsible']} units "
            f"responsible have {stored['id']}:"
        )
        for d in status["units"]:
            _say(f"{'':>12}{d['unit']:<28} {d['state']}")
        _say(f"{'':>12}... waiting for the convoy to set off")
        told = missed = None
        deadline = time.monotonic() + float(n["starts_in_s"]) + 15
        while (told is None or missed is None) and time.monotonic() < deadline:
            time.sleep(0.5)
            # (the hospital, whose protection began days ago, may escalate too)
            told = told or _about(issuer.events(), "units_not_reached", stored["id"])
            missed = missed or _about(party.events(), "unit_delivery_missed", stored["id"])
        if missed is not None:
            d = missed["data"]
            _say(
                f"{story['party']:>10} <- unit_delivery_missed: {d['unit']} had not received "
                f"{d['notice_id']} when it began ({d['starts_at']})"
            )
        if told is not None:
            d = told["data"]
            named = f" (named by their party: {', '.join(d['units'])})" if d["units"] else ""
            _say(f"{n['issuer']:>10} <- units_not_reached: {d['summary']}{named}")
        if told is None or missed is None:
            _say("   (no escalation within the time allowed)")
    finally:
        for t in terminals.values():
            t.close()
    return tokens
