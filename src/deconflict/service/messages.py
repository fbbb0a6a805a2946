"""The hotline: party-to-party messages with delivered and read receipts."""

from __future__ import annotations

from typing import Any

from deconflict.service.acks import AckOps
from deconflict.service.auth import Principal
from deconflict.service.core import Tx, must
from deconflict.service.documents import parse_message
from deconflict.service.errors import Forbidden, Invalid, NotFound
from deconflict.service.ids import new_id
from deconflict.service.views import message_view, sees_notice
from deconflict.store import Repo, Row

__all__ = ["MessageOps"]


class MessageOps(AckOps):
    def _check_ref(self, repo: Repo, who: Principal, ref_type: str, ref_id: str) -> None:
        """A message may only point at something its sender can see."""
        ok = True
        if ref_type == "notice":
            n = repo.get_notice(ref_id)
            ok = n is not None and sees_notice(who, n)
        elif ref_type == "conflict":
            c = repo.get_conflict(ref_id)
            ok = c is not None and who.party_id in (c["issuer_a"], c["issuer_b"])
        elif ref_type == "message":
            m = repo.get_message(ref_id)
            ok = m is not None and self._sees_message(repo, who, m)
        if not ok:
            raise Invalid([("ref.id", f"no {ref_type} {ref_id!r} is visible to you")])

    @staticmethod
    def _sees_message(repo: Repo, who: Principal, m: Row) -> bool:
        if who.is_admin or m["sender"] == who.party_id:
            return True
        return any(r["party_id"] == who.party_id for r in repo.message_receipts([m["id"]]))

    def send_message(self, who: Principal, body: Any) -> dict[str, Any]:
        self.require_party(who, "send hotline messages")
        doc = parse_message(
            body, settings=self.settings, known_parties=self._parties, sender=who.party_id
        )
        message_id = new_id("m")

        def run(tx: Tx) -> dict[str, Any]:
            if doc.ref_type and doc.ref_id:
                self._check_ref(tx.repo, who, doc.ref_type, doc.ref_id)
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
            tx.repo.insert_message(row, doc.to)
            ref = {"type": doc.ref_type, "id": doc.ref_id} if doc.ref_type and doc.ref_id else None
            self._log(
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
                tx.emit(p, "message_received", message_view(row, receipts, Principal(p)))
            return message_view(row, receipts, who)

        return self._write(run)

    def _deliver_messages(self, who: Principal, message_ids: list[str]) -> None:
        def run(tx: Tx) -> None:
            self._messages_delivered(tx, who, message_ids)

        if message_ids and not who.is_admin:
            self._write(run)

    def _messages_delivered(self, tx: Tx, who: Principal, message_ids: list[str]) -> None:
        for r in tx.repo.message_receipts(message_ids):
            if r["party_id"] == who.party_id and r["delivered_at"] is None:
                self._receipt(tx, r["message_id"], who.party_id, "delivered")

    def _receipt(self, tx: Tx, message_id: str, party: str, what: str) -> None:
        values = {f"{what}_at": tx.ts}
        if what == "read":
            current = next(
                r for r in tx.repo.message_receipts([message_id]) if r["party_id"] == party
            )
            if current["delivered_at"] is None:
                values["delivered_at"] = tx.ts
        tx.repo.update_receipt(message_id, party, **values)
        m = must(tx.repo.get_message(message_id))
        if what == "read" and "delivered_at" in values:
            self._log(
                tx,
                "message_receipt",
                message_id=message_id,
                party=party,
                receipt="delivered",
                **{"from": m["sender"]},
            )
        self._log(
            tx,
            "message_receipt",
            message_id=message_id,
            party=party,
            receipt=what,
            **{"from": m["sender"]},
        )
        tx.emit(
            m["sender"],
            f"message_{what}",
            {"message_id": message_id, "party": party, f"{what}_at": tx.ts},
        )

    def list_messages(self, who: Principal, *, box: str, limit: int = 200) -> dict[str, Any]:
        with self.store.read() as repo:
            rows = repo.list_messages(
                who.party_id,
                inbound=box in ("in", "all"),
                outbound=box in ("out", "all"),
                limit=limit,
            )
            receipts = repo.message_receipts([r["id"] for r in rows])
        by_msg: dict[str, list[Row]] = {}
        for r in receipts:
            by_msg.setdefault(r["message_id"], []).append(r)
        undelivered = [
            r["message_id"]
            for r in receipts
            if r["party_id"] == who.party_id and r["delivered_at"] is None
        ]
        self._deliver_messages(who, undelivered)
        if undelivered:
            with self.store.read() as repo:
                for r in repo.message_receipts(undelivered):
                    by_msg[r["message_id"]] = [
                        r if x["party_id"] == r["party_id"] else x for x in by_msg[r["message_id"]]
                    ]
        return {"messages": [message_view(r, by_msg.get(r["id"], []), who) for r in rows]}

    def get_message(self, who: Principal, message_id: str) -> dict[str, Any]:
        with self.store.read() as repo:
            m = repo.get_message(message_id)
            if m is None or not self._sees_message(repo, who, m):
                raise NotFound(f"no message {message_id!r} is visible to you")
        self._deliver_messages(who, [message_id])
        with self.store.read() as repo:
            return message_view(m, repo.message_receipts([message_id]), who)

    def mark_read(self, who: Principal, message_id: str) -> dict[str, Any]:
        self.require_party(who, "read hotline messages")

        def run(tx: Tx) -> dict[str, Any]:
            m = tx.repo.get_message(message_id)
            if m is None or not self._sees_message(tx.repo, who, m):
                raise NotFound(f"no message {message_id!r} is visible to you")
            receipts = tx.repo.message_receipts([message_id])
            mine = next((r for r in receipts if r["party_id"] == who.party_id), None)
            if mine is None:
                raise Forbidden("only a recipient marks a message read")
            if mine["read_at"] is None:
                self._receipt(tx, message_id, who.party_id, "read")
            return message_view(m, tx.repo.message_receipts([message_id]), who)

        return self._write(run)
