"""Acknowledgements: per (notice version, addressee), pending -> delivered -> acknowledged.

An acknowledgement says "received and understood", never consent: a notice is
not a request for anyone's permission. A cancellation is a version too: its
acknowledgements prove that the cancellation reached each addressee.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from deconflict.config import Settings
from deconflict.ledger import statements
from deconflict.service.auth import Principal
from deconflict.service.errors import Forbidden, Invalid, NotFound, StaleVersion, StateConflict
from deconflict.service.event_types import ACK_DELIVERED, ACK_OVERDUE, ACK_RECEIVED, AckDelivered
from deconflict.service.idempotency import Once, keyed
from deconflict.service.keys import PartyKeys, take_signature
from deconflict.service.ledger import Ledger
from deconflict.service.parties import require_party
from deconflict.service.tx import Tx
from deconflict.service.views import ack_view, addressees_of, sees_notice
from deconflict.service.writer import Change, Writer
from deconflict.store import Repo, Row, Store

__all__ = ["ACK_STATES", "Acks", "parse_ack_body", "visible_notice"]

ACK_STATES = ("pending", "delivered", "acknowledged")


def parse_ack_body(body: dict[str, Any], max_comment_chars: int) -> tuple[int, str | None]:
    """The version acknowledged and the comment of an acknowledgement's body (a party's
    or a unit's), or `Invalid` naming each bad field."""
    errs = [(k, "unknown field") for k in sorted(set(body) - {"version", "comment"})]
    version = body.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        errs.append(("version", "is required: the version you acknowledge (integer >= 1)"))
    comment = body.get("comment")
    if comment is not None and (not isinstance(comment, str) or len(comment) > max_comment_chars):
        errs.append(("comment", f"must be a string of at most {max_comment_chars} characters"))
    if errs or not isinstance(version, int):
        raise Invalid(errs)
    return version, comment


def visible_notice(repo: Repo, who: Principal, notice_id: str) -> Row:
    """A notice `who` may see; not found otherwise (its existence is not disclosed)."""
    row = repo.notices.get(notice_id)
    if row is None or not (sees_notice(who, row) or relays_it(repo, who, row)):
        raise NotFound(f"no notice {notice_id!r} is visible to you")
    return row


def relays_it(repo: Repo, who: Principal, row: Row) -> bool:
    """Issue 15: `who` relays the notice's current version to an addressee (sees it in full)."""
    return any(
        leg["relay"] == who.party_id for leg in repo.relays.legs_of(row["id"], row["version"])
    )


class Acks:
    def __init__(
        self, settings: Settings, writer: Writer, store: Store, ledger: Ledger, keys: PartyKeys
    ) -> None:
        self.settings = settings
        self.writer = writer
        self.store = store
        self.ledger = ledger
        self.keys = keys
        # issue 15 (service/relays.py): what was handed to a relay reaches its legs; an
        # overdue acknowledgement of a relayed party is told to its relay too
        self.on_handed: list[Callable[[Tx, str, list[tuple[str, int]]], None]] = []
        self.relay_of: Callable[[str], str | None] = lambda party: None

    async def acknowledge(
        self, who: Principal, notice_id: str, body: Any, once: Once | None = None
    ) -> dict[str, Any]:
        return await self.writer.run(keyed(once, self._prepare(who, notice_id, body)))

    def _prepare(self, who: Principal, notice_id: str, body: Any) -> Change[dict[str, Any]]:
        """Validate an acknowledgement; the change that records it."""
        require_party(who, "acknowledge notices")
        if not isinstance(body, dict):
            raise Invalid([("", "must be a JSON object")])
        body, signed_req = take_signature(body)
        wanted, comment = parse_ack_body(body, self.settings.max_message_chars)

        def run(tx: Tx) -> dict[str, Any]:
            row = visible_notice(tx.repo, who, notice_id)
            if row["issuer"] == who.party_id:
                raise Forbidden("the issuer does not acknowledge its own notice")
            addressed = addressees_of(row)
            if "*" not in addressed and who.party_id not in addressed:
                raise Forbidden(
                    f"you relay {notice_id} to a party that never connects; you do not "
                    f"acknowledge it yourself: record what you did with POST "
                    f"/v1/notices/{notice_id}/relay (forwarded, then the answer you got)"
                )
            statement = statements.ack_statement(who.party_id, notice_id, wanted, comment)
            signed = self.keys.check(tx, who, statement, signed_req)
            if row["state"] not in ("active", "cancelled"):
                raise StateConflict(f"notice {notice_id} is {row['state']}")
            if wanted != row["version"]:
                raise StaleVersion(
                    f"version {wanted} is not current; acknowledge version {row['version']}",
                    current_version=row["version"],
                )
            ack = tx.repo.acks.get(notice_id, wanted, who.party_id)
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
                tx.repo.acks.insert([ack])
            if ack["state"] == "acknowledged":
                # The first acknowledgement stands: a retry (same comment, or none) gets
                # it back; a different comment is refused rather than dropped silently.
                if comment is None or comment == ack["comment"]:
                    return ack_view(ack)
                raise StateConflict(
                    f"you acknowledged version {wanted} of {notice_id} at "
                    f"{ack['acknowledged_at']}; an acknowledgement is recorded once and "
                    "its comment is not replaced. To add a remark, send a hotline message "
                    f'with "ref": {{"type": "notice", "id": "{notice_id}"}}',
                    acknowledged_at=ack["acknowledged_at"],
                )
            changes = {
                "state": "acknowledged",
                "acknowledged_at": tx.ts,
                "comment": comment,
                "delivered_at": ack["delivered_at"] or tx.ts,
            }
            tx.repo.acks.update(notice_id, wanted, who.party_id, **changes)
            if ack["delivered_at"] is None:
                self.ledger.log(
                    tx,
                    "delivery",
                    notice_id=notice_id,
                    version=wanted,
                    party=who.party_id,
                    issuer=row["issuer"],
                    via="ack",
                )
            self.ledger.log(
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
            tx.emit(row["issuer"], ACK_RECEIVED, ack_view(done))
            return ack_view(done)

        return run

    async def listing(
        self,
        who: Principal,
        *,
        role: str,
        states: list[str] | None,
        include_superseded: bool = False,
        limit: int = 500,
    ) -> dict[str, Any]:
        """`role` "addressee": what `who` has to acknowledge; "issuer": answers to its notices."""
        if who.is_admin:
            mine: dict[str, str] = {}
        elif role == "issuer":
            mine = {"issuer": who.party_id}
        else:
            mine = {"addressee": who.party_id}

        def read() -> list[Row]:
            with self.store.read() as repo:
                return repo.acks.find(
                    **mine, states=states, include_superseded=include_superseded, limit=limit
                )

        return {"acks": [ack_view(r) for r in await asyncio.to_thread(read)]}

    # -- inside other changes ------------------------------------------------
    def mark_delivered(
        self, tx: Tx, party: str, versions: list[tuple[str, int]], via: str = "confirm"
    ) -> int:
        """`party`'s client confirmed it has these notice versions: their pending acks
        become delivered (logged now, at the confirmation). Returns how many did."""
        for subscriber in self.on_handed:  # issue 15: a relay was handed them
            subscriber(tx, party, versions)
        keys = sorted({(n, v, party) for n, v in versions})
        due = [
            a for a in tx.repo.acks.by_key(keys) if a["state"] == "pending" and not a["superseded"]
        ]
        if not due:
            return 0
        due.sort(key=lambda a: (a["notice_id"], a["version"]))
        tx.repo.acks.mark_delivered([(a["notice_id"], a["version"], party) for a in due], tx.ts)
        for a in due:
            self.ledger.log(
                tx,
                "delivery",
                notice_id=a["notice_id"],
                version=a["version"],
                party=party,
                issuer=a["issuer"],
                via=via,
            )
            tx.emit(
                a["issuer"],
                ACK_DELIVERED,
                AckDelivered(
                    notice_id=a["notice_id"],
                    version=a["version"],
                    addressee=party,
                    delivered_at=tx.ts,
                ),
            )
        return len(due)

    def escalate_due(self, tx: Tx) -> int:
        """Send `ack_overdue` once per (version, addressee) past its deadline."""
        due = tx.repo.acks.due(tx.ts)
        for ack in due:
            tx.repo.acks.update(
                ack["notice_id"], ack["version"], ack["addressee"], overdue_at=tx.ts
            )
            relay = self.relay_of(ack["addressee"])
            self.ledger.log(
                tx,
                "ack_overdue",
                notice_id=ack["notice_id"],
                version=ack["version"],
                party=ack["addressee"],
                issuer=ack["issuer"],
                deadline=ack["deadline"],
                **({"relay": relay} if relay else {}),
            )
            view = ack_view({**ack, "overdue_at": tx.ts})
            tx.emit(ack["issuer"], ACK_OVERDUE, view)
            tx.emit(ack["addressee"], ACK_OVERDUE, view)
            if relay:
                tx.emit(relay, ACK_OVERDUE, view)
        return len(due)
