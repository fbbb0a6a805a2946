"""The hotline: party-to-party messages with delivered and read receipts."""

from __future__ import annotations

import asyncio
from typing import Any

from deconflict.config import Settings
from deconflict.service.auth import Principal
from deconflict.service.documents import parse_message
from deconflict.service.errors import Forbidden, Invalid, NotFound
from deconflict.service.event_types import (
    MESSAGE_DELIVERED,
    MESSAGE_READ,
    MESSAGE_RECEIVED,
    MessageDelivered,
    MessageRead,
)
from deconflict.service.idempotency import Once, keyed
from deconflict.service.ids import new_id
from deconflict.service.ledger import Ledger
from deconflict.service.parties import Parties, require_party
from deconflict.service.tx import Tx, must
from deconflict.service.views import message_view, sees_notice
from deconflict.service.writer import Writer
from deconflict.store import Repo, Row, Store

__all__ = ["Messages"]


def _sees_message(repo: Repo, who: Principal, m: Row) -> bool:
    if who.is_admin or m["sender"] == who.party_id:
        return True
    return any(r["party_id"] == who.party_id for r in repo.messages.receipts([m["id"]]))


def _check_ref(repo: Repo, who: Principal, ref_type: str, ref_id: str) -> None:
    """A message may only point at something its sender can see."""
    ok = True
    if ref_type == "notice":
        n = repo.notices.get(ref_id)
        ok = n is not None and sees_notice(who, n)
    elif ref_type == "conflict":
        c = repo.conflicts.get(ref_id)
        ok = c is not None and who.party_id in (c["issuer_a"], c["issuer_b"])
    elif ref_type == "message":
        m = repo.messages.get(ref_id)
        ok = m is not None and _sees_message(repo, who, m)
    if not ok:
        raise Invalid([("ref.id", f"no {ref_type} {ref_id!r} is visible to you")])


class Messages:
    def __init__(
        self, settings: Settings, writer: Writer, store: Store, parties: Parties, ledger: Ledger
    ) -> None:
        self.settings = settings
        self.writer = writer
        self.store = store
        self.parties = parties
        self.ledger = ledger

    async def send(self, who: Principal, body: Any, once: Once | None = None) -> dict[str, Any]:
        require_party(who, "send hotline messages")
        if isinstance(body, dict):
            self.parties.learn(body.get("to"))
        doc = parse_message(
            body,
            settings=self.settings,
            known_parties=self.parties.directory,
            sender=who.party_id,
        )
        message_id = new_id("m")

        def run(tx: Tx) -> dict[str, Any]:
            if doc.ref_type and doc.ref_id:
                _check_ref(tx.repo, who, doc.ref_type, doc.ref_id)
            row = {
                "id": message_id,
                "sender": who.party_id,
                "priority": doc.priority,
                "subject": doc.subject,
                "body": doc.body,
                "ref_type": doc.ref_type,
                "ref_id": doc.ref_id,
                "created_at": tx.ts,
            }
            tx.repo.messages.insert(row, doc.to)
            ref = {"type": doc.ref_type, "id": doc.ref_id} if doc.ref_type and doc.ref_id else None
            self.ledger.log(
                tx,
                "message",
                message_id=message_id,
                **{"from": who.party_id},
                to=sorted(doc.to),
                priority=doc.priority,
                subject=doc.subject,
                body=doc.body,
                **({"ref": ref} if ref else {}),
            )
            receipts: list[Row] = [
                {"message_id": message_id, "party_id": p, "delivered_at": None, "read_at": None}
                for p in sorted(doc.to)
            ]
            for p in doc.to:
                tx.emit(p, MESSAGE_RECEIVED, message_view(row, receipts, Principal(p)))
            return message_view(row, receipts, who)

        return await self.writer.run(keyed(once, run))

    # -- receipts ------------------------------------------------------------
    def delivered(self, tx: Tx, who: Principal, message_ids: list[str]) -> int:
        """Inside a change: `who`'s client confirmed it has these messages (its delivery
        receipts). Returns how many receipts were new."""
        new = 0
        for r in tx.repo.messages.receipts(message_ids):
            if r["party_id"] == who.party_id and r["delivered_at"] is None:
                self._receipt(tx, r["message_id"], who.party_id, "delivered")
                new += 1
        return new

    def _receipt(self, tx: Tx, message_id: str, party: str, what: str) -> None:
        values = {f"{what}_at": tx.ts}
        if what == "read":
            current = next(
                r for r in tx.repo.messages.receipts([message_id]) if r["party_id"] == party
            )
            if current["delivered_at"] is None:
                values["delivered_at"] = tx.ts
        tx.repo.messages.update_receipt(message_id, party, **values)
        m = must(tx.repo.messages.get(message_id))
        if what == "read" and "delivered_at" in values:
            self.ledger.log(
                tx,
                "message_receipt",
                message_id=message_id,
                party=party,
                receipt="delivered",
                **{"from": m["sender"]},
            )
        self.ledger.log(
            tx,
            "message_receipt",
            message_id=message_id,
            party=party,
            receipt=what,
            **{"from": m["sender"]},
        )
        if what == "read":
            tx.emit(
                m["sender"],
                MESSAGE_READ,
                MessageRead(message_id=message_id, party=party, read_at=tx.ts),
            )
        else:
            tx.emit(
                m["sender"],
                MESSAGE_DELIVERED,
                MessageDelivered(message_id=message_id, party=party, delivered_at=tx.ts),
            )

    # -- reads ---------------------------------------------------------------
    async def listing(self, who: Principal, *, box: str, limit: int = 200) -> dict[str, Any]:
        def read() -> tuple[list[Row], list[Row]]:
            with self.store.read() as repo:
                found = repo.messages.find(
                    who.party_id,
                    inbound=box in ("in", "all"),
                    outbound=box in ("out", "all"),
                    limit=limit,
                )
                return found, repo.messages.receipts([r["id"] for r in found])

        found, receipts = await asyncio.to_thread(read)
        by_msg: dict[str, list[Row]] = {}
        for r in receipts:
            by_msg.setdefault(r["message_id"], []).append(r)
        # Listing is not a delivery: a delivery receipt says the recipient's client
        # confirmed the message event (POST /v1/events/confirm), or it was read.
        return {"messages": [message_view(r, by_msg.get(r["id"], []), who) for r in found]}

    def _receipts(self, message_ids: list[str]) -> list[Row]:
        with self.store.read() as repo:
            return repo.messages.receipts(message_ids)

    async def get(self, who: Principal, message_id: str) -> dict[str, Any]:
        def read() -> Row:
            with self.store.read() as repo:
                m = repo.messages.get(message_id)
                if m is None or not _sees_message(repo, who, m):
                    raise NotFound(f"no message {message_id!r} is visible to you")
                return m

        m = await asyncio.to_thread(read)
        return message_view(m, await asyncio.to_thread(self._receipts, [message_id]), who)

    async def mark_read(self, who: Principal, message_id: str) -> dict[str, Any]:
        require_party(who, "read hotline messages")

        def run(tx: Tx) -> dict[str, Any]:
            m = tx.repo.messages.get(message_id)
            if m is None or not _sees_message(tx.repo, who, m):
                raise NotFound(f"no message {message_id!r} is visible to you")
            receipts = tx.repo.messages.receipts([message_id])
            mine = next((r for r in receipts if r["party_id"] == who.party_id), None)
            if mine is None:
                raise Forbidden("only a recipient marks a message read")
            if mine["read_at"] is None:
                self._receipt(tx, message_id, who.party_id, "read")
            return message_view(m, tx.repo.messages.receipts([message_id]), who)

        return await self.writer.run(run)
