"""Which ledger entry each served object comes from (`ledger_index`), for the parties to check.

Every object the API serves that the ledger covers carries the index of the log entry that
records what it says: a notice its `notice_version` entry; an acknowledgement the entry of
its present state (`ack`, else `delivery`, else the version that asked for it), and its
delivery's entry as `delivered_ledger_index`; a message its `message` entry, each receipt
its `delivered_ledger_index` / `read_ledger_index`; a conflict the latest entry of the
reading side (`conflict_*`, one per side: what that side was told); an alert its
`alert_raised` or `alert_cleared` entry. The answers of the writes (notify, amend, cancel,
acknowledge, send, read) carry them too. A party fetches that entry and its inclusion proof
in a signed head and compares (`Client.check_served`, `ledger verify`): an object changed
in the tables behind the log no longer matches its entry. An object with no entry gets
``ledger_index: null`` (a delivery not logged yet: ``delivered_ledger_index: null``), which
the checks report when the object claims what only an entry could show.

The indices are looked up when serving (one query per response over the refs index), not
stored beside the rows: a stored index would be one more column an operator could edit.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from deconflict.service.ledger_log import side_ref
from deconflict.store import Store

__all__ = ["Provenance"]

Doc = dict[str, Any]
_NOTICE_TYPES = ("notice_version",)
_ACK_TYPES = ("notice_version", "delivery", "ack")
_MESSAGE_TYPES = ("message", "message_receipt")
CONFLICT_TYPES = ("conflict_opened", "conflict_updated", "conflict_resolved")
_ALERT_TYPES = ("alert_raised", "alert_cleared", "alert_acknowledged")


class Provenance:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _about(self, refs: list[str], types: tuple[str, ...]) -> list[tuple[int, Doc]]:
        """(index, entry) of the entries of these types about ``refs``, in index order.

        A notice's versions are logged one entry each, in order, so the n-th
        `notice_version` entry about a notice is its version n: those (the large entries,
        with their volumes) are not parsed, only the small ones are.
        """
        if not refs:
            return []
        with self.store.read() as repo:
            found = repo.ledger.entries_about(sorted(set(refs)), types)
        out: list[tuple[int, Doc]] = []
        seen: dict[str, int] = {}
        for r in found:
            if r["type"] == "notice_version":
                ref = str(r["ref"])
                seen[ref] = seen.get(ref, 0) + 1
                doc: Any = {"type": "notice_version", "notice_id": ref, "version": seen[ref]}
            else:
                doc = json.loads(bytes(r["entry"]))
            if isinstance(doc, dict):
                out.append((int(r["idx"]), doc))
        return out

    async def notices(self, notices: list[Doc], who: str | None = None) -> None:
        """Set `ledger_index` on each notice view (and on the acks and conflicts it embeds,
        the latter as `who` sees them)."""
        await asyncio.to_thread(self._notices, notices, who)

    def _notices(self, notices: list[Doc], who: str | None) -> None:
        acks = [a for n in notices for a in n.get("acks") or ()]
        types = _ACK_TYPES if acks else _NOTICE_TYPES
        found = self._about([str(n["id"]) for n in notices], types)
        versions = _versions(found)
        for n in notices:
            n["ledger_index"] = versions.get((n["id"], n["version"]))
        if acks:
            _mark_acks(acks, found, versions)
        conflicts = [c for n in notices for c in n.get("conflicts") or ()]
        if conflicts:
            self._conflicts(conflicts, who)

    async def conflicts(self, conflicts: list[Doc], who: str | None) -> None:
        """Set `ledger_index` on conflict views: the latest entry of `who`'s side (the
        operator, who reads both sides' entries, gets ``null``: no one entry is its view)."""
        await asyncio.to_thread(self._conflicts, conflicts, who)

    def _conflicts(self, conflicts: list[Doc], who: str | None) -> None:
        refs = {side_ref(str(c["id"]), who): c["id"] for c in conflicts if c.get("id") and who}
        sides: dict[Any, list[tuple[int, bytes]]] = {}
        if refs:
            with self.store.read() as repo:
                found = repo.ledger.entries_about(sorted(refs), CONFLICT_TYPES)
            for r in found:  # in index order
                sides.setdefault(refs[str(r["ref"])], []).append((int(r["idx"]), r["entry"]))
        for c in conflicts:
            c["ledger_index"] = _entry_of_revision(sides.get(c.get("id"), []), c.get("revision"))

    async def alerts(self, alerts: list[Doc]) -> None:
        """Set `ledger_index` (raised or cleared entry) on alert views, and on each
        acknowledgement its `alert_acknowledged` entry (`ack_ledger_indices`)."""
        await asyncio.to_thread(self._alerts, alerts)

    def _alerts(self, alerts: list[Doc]) -> None:
        found = self._about([str(a["id"]) for a in alerts], _ALERT_TYPES)
        state: dict[Any, int] = {}
        acked: dict[Any, dict[str, int]] = {}
        for i, d in found:
            if d.get("type") == "alert_acknowledged":
                acked.setdefault(d.get("alert_id"), {}).setdefault(str(d.get("party")), i)
            else:
                state[d.get("alert_id")] = i
        for a in alerts:
            a["ledger_index"] = state.get(a["id"])
            a["ack_ledger_indices"] = {
                p: acked.get(a["id"], {}).get(p) for p in a.get("acknowledged_by") or ()
            }

    async def acks(self, acks: list[Doc]) -> None:
        await asyncio.to_thread(self._acks, acks)

    def _acks(self, acks: list[Doc]) -> None:
        found = self._about([str(a["notice_id"]) for a in acks], _ACK_TYPES)
        _mark_acks(acks, found, _versions(found))

    async def messages(self, messages: list[Doc], who: str | None = None) -> None:
        """Set `ledger_index` on message views, and each receipt's (`who`: the reader, for
        the receipts a recipient's view carries as its own fields)."""
        await asyncio.to_thread(self._messages, messages, who)

    def _messages(self, messages: list[Doc], who: str | None) -> None:
        found = self._about([str(m["id"]) for m in messages], _MESSAGE_TYPES)
        by_id: dict[Any, int] = {}
        receipts: dict[tuple[Any, ...], int] = {}
        for i, d in found:
            if d.get("type") == "message":
                by_id[d.get("message_id")] = i
            else:
                receipts.setdefault((d.get("message_id"), d.get("party"), d.get("receipt")), i)
        for m in messages:
            m["ledger_index"] = by_id.get(m["id"])
            # a receipt's entry only where the view has the receipt: a replayed answer
            # (`Idempotency-Key`) shows the receipts as they were, none delivered yet
            for r in m.get("receipts") or ():
                for what in ("delivered", "read"):
                    at = r.get(f"{what}_at")
                    key = (m["id"], r.get("party"), what)
                    r[f"{what}_ledger_index"] = receipts.get(key) if at else None
            if "receipts" not in m and "delivered_at" in m:
                for what in ("delivered", "read"):
                    at = m.get(f"{what}_at")
                    m[f"{what}_ledger_index"] = receipts.get((m["id"], who, what)) if at else None


def _entry_of_revision(entries: list[tuple[int, bytes]], revision: Any) -> int | None:
    """The index of the side's entry that records this revision of the conflict: the
    latest, unless the view is of an older revision (the answer of a write replayed under
    its `Idempotency-Key` is the conflict as it was then, and must name that entry). Read
    newest first, so a current view parses one entry."""
    for idx, text in reversed(entries):
        try:
            doc = json.loads(bytes(text))
        except ValueError:
            continue
        if not isinstance(doc, dict) or doc.get("revision") in (None, revision):
            return idx  # an entry without a revision (older logs): the latest, as before
    return entries[-1][0] if entries else None


def _versions(found: list[tuple[int, Doc]]) -> dict[tuple[Any, Any], int]:
    return {
        (d.get("notice_id"), d.get("version")): i
        for i, d in found
        if d.get("type") == "notice_version"
    }


def _mark_acks(
    acks: list[Doc], found: list[tuple[int, Doc]], versions: dict[tuple[Any, Any], int]
) -> None:
    latest: dict[tuple[Any, ...], int] = {}
    for i, d in found:
        if d.get("type") in ("ack", "delivery"):
            latest[(d["type"], d.get("notice_id"), d.get("version"), d.get("party"))] = i
    for a in acks:
        key = (a["notice_id"], a["version"], a["addressee"])
        a["delivered_ledger_index"] = latest.get(("delivery", *key))
        if a["state"] == "acknowledged":
            a["ledger_index"] = latest.get(("ack", *key))
        elif a["state"] == "delivered" or a.get("delivered_at"):
            a["ledger_index"] = latest.get(("delivery", *key))
        else:
            a["ledger_index"] = versions.get((a["notice_id"], a["version"]))
