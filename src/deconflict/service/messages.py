"""The hotline: party-to-party messages with delivered and read receipts.

Issue 15: a message to a party that never connects goes to its relay (`Relays`), which
reads it in full and records how it forwarded it and the answer; the relay's receipt is
the recipient's delivery receipt ("via" the relay), a reported acknowledgement its read
receipt, and the sender sees the chain on the recipient's receipt.
"""

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
from deconflict.service.relays import Relays
from deconflict.service.tx import Tx, must
from deconflict.service.views import message_view, sees_message, sees_notice
from deconflict.service.writer import Writer
from deconflict.store import Repo, Row, Store

__all__ = ["Messages"]


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
        ok = m is not None and sees_message(repo, who, m)
    if not ok:
        raise Invalid([("ref.id", f"no {ref_type} {ref_id!r} is visible to you")])


class Messages:
    def __init__(
        self,
        settings: Settings,
        writer: Writer,
        store: Store,
        parties: Parties,
        ledger: Ledger,
        relays: Relays,
    ) -> None:
        self.settings = settings
        self.writer = writer
        self.store = store
        self.parties = parties
        self.ledger = ledger
        self.relays = relays
        relays.on_message_answered.append(self._reported_read)

    def _view(self, repo: Repo, row: Row, receipts: list[Row], who: Principal) -> dict[str, Any]:
        """The message as `who` sees it; with its relay chains (issue 15) to the sender, on
        each relayed recipient's receipt, and to a relay its own legs (`relaying`)."""
        view = message_view(row, receipts, who)
        self._with_legs(repo, [view], who)
        return view

    def _with_legs(self, repo: Repo, views: list[dict[str, Any]], who: Principal) -> None:
        relayed = [
            v["id"] for v in views if any(self.parties.relay_of(p) for p in v.get("to") or ())
        ]
        legs = self.relays.message_legs(repo, relayed) if relayed else {}
        for v in views:
            mine = legs.get(v["id"], [])
            if "receipts" in v:  # the sender (or the operator): every chain
                by_recipient = {g["recipient"]: g for g in mine}
                for r in v["receipts"]:
                    leg = by_recipient.get(r["party"])
                    if leg is not None:
                        r["via_relay"] = leg["relay"]
                        r["relay_chain"] = leg
            else:
                own = [g for g in mine if g["relay"] == who.party_id]
                if own:
                    v["relaying"] = own

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
            relayed = self.relays.relays_for(sorted(doc.to))
            relays = sorted(set(relayed.values()))
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
                # issue 15: the relays read the message in full, and may read its entry
                **({"relays": relays} if relays else {}),
            )
            receipts: list[Row] = [
                {"message_id": message_id, "party_id": p, "delivered_at": None, "read_at": None}
                for p in sorted(doc.to)
            ]
            for p in doc.to:
                tx.emit(p, MESSAGE_RECEIVED, message_view(row, receipts, Principal(p)))
            self.relays.on_message(tx, row, relayed)
            for r in relays:
                if r not in doc.to and r != who.party_id:  # once to a relay that is a recipient
                    tx.emit(r, MESSAGE_RECEIVED, self._view(tx.repo, row, receipts, Principal(r)))
            if who.party_id in relays:  # a relay writing to a party it relays has it already
                self.delivered(tx, who, [message_id])
                receipts = tx.repo.messages.receipts([message_id])
            return self._view(tx.repo, row, receipts, who)

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
        # issue 15: handed to the relay is delivered to the relayed recipient, via its relay
        for leg in self.relays.messages_handed(tx, who.party_id, message_ids):
            receipts = tx.repo.messages.receipts([leg["notice_id"]])
            mine = next((r for r in receipts if r["party_id"] == leg["recipient"]), None)
            if mine is not None and mine["delivered_at"] is None:
                self._receipt(tx, leg["notice_id"], leg["recipient"], "delivered", leg["relay"])
            new += 1
        return new

    def _reported_read(self, tx: Tx, leg: Row, at: str, fields: dict[str, Any]) -> None:
        """The relay reported the recipient acknowledged the message: its read receipt."""
        receipts = tx.repo.messages.receipts([leg["notice_id"]])
        mine = next((r for r in receipts if r["party_id"] == leg["recipient"]), None)
        if mine is not None and mine["read_at"] is None:
            self._receipt(tx, leg["notice_id"], leg["recipient"], "read", leg["relay"])

    def _receipt(
        self, tx: Tx, message_id: str, party: str, what: str, relay: str | None = None
    ) -> None:
        """Record a receipt (`relay`: it came through this relay, issue 15)."""
        via = {"relay": relay, "via": "relay"} if relay else {}
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
                **via,
            )
        self.ledger.log(
            tx,
            "message_receipt",
            message_id=message_id,
            party=party,
            receipt=what,
            **{"from": m["sender"]},
            **via,
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
        def read() -> list[dict[str, Any]]:
            with self.store.read() as repo:
                found = repo.messages.find(
                    who.party_id,
                    inbound=box in ("in", "all"),
                    outbound=box in ("out", "all"),
                    limit=limit,
                )
                by_msg: dict[str, list[Row]] = {}
                for r in repo.messages.receipts([r["id"] for r in found]):
                    by_msg.setdefault(r["message_id"], []).append(r)
                views = [message_view(r, by_msg.get(r["id"], []), who) for r in found]
                self._with_legs(repo, views, who)
                return views

        # Listing is not a delivery: a delivery receipt says the recipient's client
        # confirmed the message event (POST /v1/events/confirm), or it was read.
        return {"messages": await asyncio.to_thread(read)}

    async def get(self, who: Principal, message_id: str) -> dict[str, Any]:
        def read() -> dict[str, Any]:
            with self.store.read() as repo:
                m = repo.messages.get(message_id)
                if m is None or not sees_message(repo, who, m):
                    raise NotFound(f"no message {message_id!r} is visible to you")
                return self._view(repo, m, repo.messages.receipts([message_id]), who)

        found: dict[str, Any] = await asyncio.to_thread(read)
        return found

    async def mark_read(self, who: Principal, message_id: str) -> dict[str, Any]:
        require_party(who, "read hotline messages")

        def run(tx: Tx) -> dict[str, Any]:
            m = tx.repo.messages.get(message_id)
            if m is None or not sees_message(tx.repo, who, m):
                raise NotFound(f"no message {message_id!r} is visible to you")
            receipts = tx.repo.messages.receipts([message_id])
            mine = next((r for r in receipts if r["party_id"] == who.party_id), None)
            if mine is None:
                if any(g["relay"] == who.party_id for g in tx.repo.relays.message_legs([m["id"]])):
                    raise Forbidden(
                        f"you relay {message_id} to a party that never connects; you do not "
                        f"read it on its behalf: record what you did with POST "
                        f"/v1/messages/{message_id}/relay (forwarded, then the answer you got)"
                    )
                raise Forbidden("only a recipient marks a message read")
            if mine["read_at"] is None:
                self._receipt(tx, message_id, who.party_id, "read")
            return self._view(tx.repo, m, tx.repo.messages.receipts([message_id]), who)

        return await self.writer.run(run)
