"""Which ledger entry each served object comes from (`ledger_index`), for the parties to check.

Every notice version, acknowledgement and hotline message the API serves carries the index
of the log entry that records what it says: a notice its `notice_version` entry, an
acknowledgement the entry of its present state (`ack`, else `delivery`, else the version that
asked for it), a message its `message` entry. A party fetches that entry and its inclusion
proof in a signed head and compares (`Client.check_served`, `ledger verify`): an object
changed in the tables behind the log no longer matches its entry. An object with no entry
gets ``ledger_index: null``, which the checks report too.

The indices are looked up when serving (one query per response over the refs index), not
stored beside the rows: a stored index would be one more column an operator could edit.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from deconflict.store import Store

__all__ = ["Provenance"]

Doc = dict[str, Any]
_NOTICE_TYPES = ("notice_version",)
_ACK_TYPES = ("notice_version", "delivery", "ack")
_MESSAGE_TYPES = ("message",)


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

    async def notices(self, notices: list[Doc]) -> None:
        """Set `ledger_index` on each notice view (and on the acks it embeds)."""
        await asyncio.to_thread(self._notices, notices)

    def _notices(self, notices: list[Doc]) -> None:
        acks = [a for n in notices for a in n.get("acks") or ()]
        types = _ACK_TYPES if acks else _NOTICE_TYPES
        found = self._about([str(n["id"]) for n in notices], types)
        versions = _versions(found)
        for n in notices:
            n["ledger_index"] = versions.get((n["id"], n["version"]))
        if acks:
            _mark_acks(acks, found, versions)

    async def acks(self, acks: list[Doc]) -> None:
        await asyncio.to_thread(self._acks, acks)

    def _acks(self, acks: list[Doc]) -> None:
        found = self._about([str(a["notice_id"]) for a in acks], _ACK_TYPES)
        _mark_acks(acks, found, _versions(found))

    async def messages(self, messages: list[Doc]) -> None:
        await asyncio.to_thread(self._messages, messages)

    def _messages(self, messages: list[Doc]) -> None:
        found = self._about([str(m["id"]) for m in messages], _MESSAGE_TYPES)
        by_id = {d.get("message_id"): i for i, d in found}
        for m in messages:
            m["ledger_index"] = by_id.get(m["id"])


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
        if a["state"] == "acknowledged":
            a["ledger_index"] = latest.get(("ack", *key))
        elif a["state"] == "delivered" or a.get("delivered_at"):
            a["ledger_index"] = latest.get(("delivery", *key))
        else:
            a["ledger_index"] = versions.get((a["notice_id"], a["version"]))
