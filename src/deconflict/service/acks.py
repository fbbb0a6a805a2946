"""Acknowledgements: per (notice version, addressee), pending -> delivered -> acknowledged.

An acknowledgement says "received and understood", never consent: a notice is
not a request for anyone's permission. A cancellation is a version too: its
acknowledgements prove that the cancellation reached each addressee.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from deconflict.ledger import statements
from deconflict.service.auth import Principal
from deconflict.service.core import Tx
from deconflict.service.errors import Forbidden, Invalid, StaleVersion, StateConflict
from deconflict.service.notices import NoticeOps
from deconflict.service.views import ack_view

__all__ = ["AckOps"]

ACK_STATES = ("pending", "delivered", "acknowledged")


class AckOps(NoticeOps):
    def acknowledge(self, who: Principal, notice_id: str, body: Any) -> dict[str, Any]:
        return self._write(self.acknowledge_change(who, notice_id, body))

    def acknowledge_change(
        self, who: Principal, notice_id: str, body: Any
    ) -> Callable[[Tx], dict[str, Any]]:
        """Validate an acknowledgement; the change that records it."""
        self.require_party(who, "acknowledge notices")
        if not isinstance(body, dict):
            raise Invalid([("", "must be a JSON object")])
        body, signed_req = self.take_signature(body)
        errs = [(k, "unknown field") for k in sorted(set(body) - {"version", "comment"})]
        version = body.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            errs.append(("version", "is required: the version you acknowledge (integer >= 1)"))
        comment = body.get("comment")
        if comment is not None and (
            not isinstance(comment, str) or len(comment) > self.settings.max_message_chars
        ):
            errs.append(
                (
                    "comment",
                    f"must be a string of at most {self.settings.max_message_chars} characters",
                )
            )
        if errs:
            raise Invalid(errs)

        wanted: int = version if isinstance(version, int) else 0

        def run(tx: Tx) -> dict[str, Any]:
            row = self._visible_notice(tx.repo, who, notice_id)
            if row["issuer"] == who.party_id:
                raise Forbidden("the issuer does not acknowledge its own notice")
            statement = statements.ack_statement(who.party_id, notice_id, wanted, comment)
            signed = self._check_signed(tx, who, statement, signed_req)
            if row["state"] not in ("active", "cancelled"):
                raise StateConflict(f"notice {notice_id} is {row['state']}")
            if wanted != row["version"]:
                raise StaleVersion(
                    f"version {wanted} is not current; acknowledge version {row['version']}",
                    current_version=row["version"],
                )
            ack = tx.repo.get_ack(notice_id, wanted, who.party_id)
            if ack is None and row["state"] == "cancelled":
                raise StateConflict(
                    f"notice {notice_id} was cancelled before you were an addressee; "
                    "there is nothing for you to acknowledge"
                )
            if ack is None:
                # A notice to every party ("*") sent before this party was registered, in a
                # database written before registration started to add such acks.
                ack = {
                    "notice_id": notice_id,
                    "version": wanted,
                    "addressee": who.party_id,
                    "issuer": row["issuer"],
                    "state": "pending",
                    "deadline": row["ack_deadline"],
                    "created_at": tx.ts,
                    "superseded": 0,
                    "delivered_at": None,
                    "acknowledged_at": None,
                    "comment": None,
                    "overdue_at": None,
                }
                tx.repo.insert_acks([ack])
            if ack["state"] == "acknowledged":
                return ack_view(ack)  # idempotent: the first acknowledgement stands
            changes = {
                "state": "acknowledged",
                "acknowledged_at": tx.ts,
                "comment": comment,
                "delivered_at": ack["delivered_at"] or tx.ts,
            }
            tx.repo.update_ack(notice_id, wanted, who.party_id, **changes)
            if ack["delivered_at"] is None:
                self._log(
                    tx,
                    "delivery",
                    notice_id=notice_id,
                    version=wanted,
                    party=who.party_id,
                    issuer=row["issuer"],
                    via="ack",
                )
            self._log(
                tx,
                "ack",
                notice_id=notice_id,
                version=wanted,
                party=who.party_id,
                issuer=row["issuer"],
                **({"comment": comment} if comment else {}),
                **signed,
            )
            done = {**ack, **changes}
            tx.emit(row["issuer"], "ack_received", ack_view(done))
            return ack_view(done)

        return run

    def list_acks(
        self,
        who: Principal,
        *,
        role: str,
        states: list[str] | None,
        include_superseded: bool = False,
        limit: int = 500,
    ) -> dict[str, Any]:
        """`role` "addressee": what `who` has to acknowledge; "issuer": answers to its notices."""
        with self.store.read() as repo:
            if who.is_admin:
                rows = repo.list_acks(
                    states=states, include_superseded=include_superseded, limit=limit
                )
            elif role == "issuer":
                rows = repo.list_acks(
                    issuer=who.party_id,
                    states=states,
                    include_superseded=include_superseded,
                    limit=limit,
                )
            else:
                rows = repo.list_acks(
                    addressee=who.party_id,
                    states=states,
                    include_superseded=include_superseded,
                    limit=limit,
                )
        return {"acks": [ack_view(r) for r in rows]}

    def escalate_due(self, tx: Tx) -> int:
        """Send `ack_overdue` once per (version, addressee) past its deadline."""
        due = tx.repo.due_acks(tx.ts)
        for ack in due:
            tx.repo.update_ack(ack["notice_id"], ack["version"], ack["addressee"], overdue_at=tx.ts)
            self._log(
                tx,
                "ack_overdue",
                notice_id=ack["notice_id"],
                version=ack["version"],
                party=ack["addressee"],
                issuer=ack["issuer"],
                deadline=ack["deadline"],
            )
            view = ack_view({**ack, "overdue_at": tx.ts})
            tx.emit(ack["issuer"], "ack_overdue", view)
            tx.emit(ack["addressee"], "ack_overdue", view)
        return len(due)
