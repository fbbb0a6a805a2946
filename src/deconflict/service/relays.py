"""Relayed parties (issue 15): notices to a party that never connects, through a relay.

The operator registers such a party as ``reachable_via`` a relay party (a UN office, an
embassy, an NGO). A notice addressed to it goes to the relay, which reads it in full
(the issuer is told so before sending: `notes`), forwards it by its own means and
records each step: forwarded (when, how, to whom), then the answer it got (acknowledged
by whom and when, refused, no answer). Each step is a ledger entry, signed with the
relay's key when it registered one; a reported acknowledgement is also the relayed
party's acknowledgement (an ``ack`` entry naming the relay), so the issuer's proof of
receipt reads as for any addressee, with "via relay X" in it.

Per (notice version, relayed addressee) a *leg* records what the relay owes. Deadlines
escalate at each link: a leg not forwarded by its forwarding deadline (a fraction of the
time to the acknowledgement deadline, `relay_forward_fraction`, or `relay_forward_s`
without one) raises `relay_overdue` to the issuer and the relay; no answer by the
acknowledgement deadline is the relayed party's ordinary `ack_overdue`, told to its
relay as well.

Hotline messages to a relayed party go the same way (a leg per message and relayed
recipient, `subject` "message" in the tables): the relay is handed the message in full,
records the same steps, and a reported acknowledgement is the recipient's read receipt
(`Messages` subscribes to it: `on_message_answered`). A message has no acknowledgement
deadline, so its forwarding deadline is `relay_forward_s` after it was sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from deconflict.config import Settings
from deconflict.ledger import statements
from deconflict.service.acks import Acks, visible_notice
from deconflict.service.auth import Principal
from deconflict.service.errors import Forbidden, Invalid, NotFound, StateConflict
from deconflict.service.event_types import ACK_RECEIVED, RELAY_OVERDUE, RELAY_OWED, RELAY_STEP
from deconflict.service.keys import PartyKeys, take_signature
from deconflict.service.ledger import Ledger
from deconflict.service.parties import Parties, require_party
from deconflict.service.tx import Tx
from deconflict.service.views import ack_view, sees_message
from deconflict.service.writer import Writer
from deconflict.store import Repo, Row, Store
from deconflict.utc import format_ts, parse_rfc3339, parse_ts

__all__ = ["ANSWERS", "MEANS", "STEPS", "Relays", "any_leg_view", "message_leg_view"]

MEANS = ("phone", "fax", "diplomatic_note", "in_person", "email", "radio", "courier", "other")
ANSWERS = ("acknowledged", "refused", "no_answer")
STEPS = ("forwarded", *ANSWERS)
_FINAL = ("acknowledged", "refused")
_FIELDS = {"version", "recipient", "step", "at", "means", "to", "by", "comment"}
_MESSAGE_FIELDS = _FIELDS - {"version"}  # a message has no versions
_SKEW = timedelta(minutes=2)  # a relay's clock may run a little ahead of the hub's
_TEXT = 200


def leg_view(leg: Row, steps: Sequence[Row] = ()) -> dict[str, Any]:
    return {
        "what": "notice",
        "notice_id": leg["notice_id"],
        "version": leg["version"],
        "recipient": leg["recipient"],
        "relay": leg["relay"],
        "issuer": leg["issuer"],
        "current": not leg["superseded"],
        "forward_deadline": leg["forward_deadline"],
        "received_by_relay_at": leg["received_at"],
        "forwarded_at": leg["forwarded_at"],
        "answer": leg["answer"],
        "answered_at": leg["answered_at"],
        "forward_overdue": leg["forward_overdue_at"] is not None and leg["forwarded_at"] is None,
        "steps": [step_view(s) for s in steps],
    }


def message_leg_view(leg: Row, steps: Sequence[Row] = ()) -> dict[str, Any]:
    """A message's leg: as a notice's, named by the message and its sender."""
    return {
        "what": "message",
        "message_id": leg["notice_id"],
        "recipient": leg["recipient"],
        "relay": leg["relay"],
        "sender": leg["issuer"],
        "forward_deadline": leg["forward_deadline"],
        "received_by_relay_at": leg["received_at"],
        "forwarded_at": leg["forwarded_at"],
        "answer": leg["answer"],
        "answered_at": leg["answered_at"],
        "forward_overdue": leg["forward_overdue_at"] is not None and leg["forwarded_at"] is None,
        "steps": [step_view(s) for s in steps],
    }


def any_leg_view(leg: Row, steps: Sequence[Row] = ()) -> dict[str, Any]:
    return message_leg_view(leg, steps) if leg["subject"] == "message" else leg_view(leg, steps)


def _subject_ref(leg: Row) -> dict[str, Any]:
    """What a leg's entries and events name: the notice version, or the message."""
    if leg["subject"] == "message":
        return {"message_id": leg["notice_id"]}
    return {"notice_id": leg["notice_id"], "version": leg["version"]}


def _entry_ref(leg: Row) -> dict[str, Any]:
    """What a leg's ledger entries name: as its events, with the notice's issuer, or the
    message's sender as `from` (as in the message's own entries)."""
    if leg["subject"] == "message":
        return {**_subject_ref(leg), "from": leg["issuer"]}
    return {**_subject_ref(leg), "issuer": leg["issuer"]}


def step_view(row: Row) -> dict[str, Any]:
    return {
        "step": row["step"],
        "at": row["at"],
        "recorded_at": row["recorded_at"],
        "means": row["means"],
        "counterpart": row["counterpart"],
        "comment": row["comment"],
        "signed_by_key": row["key_id"],
        "ledger_index": row["ledger_index"],
    }


class Relays:
    def __init__(
        self,
        settings: Settings,
        *,
        writer: Writer,
        store: Store,
        parties: Parties,
        ledger: Ledger,
        keys: PartyKeys,
        acks: Acks,
    ) -> None:
        self.settings = settings
        self.writer = writer
        self.store = store
        self.parties = parties
        self.ledger = ledger
        self.keys = keys
        self.acks = acks
        acks.on_handed.append(self._handed)
        acks.relay_of = parties.relay_of
        # after Notices' own subscriber, which gives the new party its broadcast acks
        parties.on_registered.append(self._address_new_party)
        self._relays_seen: tuple[object, frozenset[str]] = (None, frozenset())
        # issue 15, hotline: a reported acknowledgement of a message is its recipient's read
        # receipt, which `Messages` keeps (it subscribes here)
        self.on_message_answered: list[Callable[[Tx, Row, str, dict[str, Any]], None]] = []

    def _relay_ids(self) -> frozenset[str]:
        """The parties some party is reachable through (the committed directory, cached:
        it is replaced, never mutated, on each registration)."""
        directory = self.parties.directory
        seen, ids = self._relays_seen
        if seen is not directory:
            ids = frozenset(
                str(r["reachable_via"]) for r in directory.values() if r.get("reachable_via")
            )
            self._relays_seen = (directory, ids)
        return ids

    # -- who reads what --------------------------------------------------------
    def relays_for(self, recipients: Sequence[str]) -> dict[str, str]:
        """The relay of each relayed recipient."""
        out: dict[str, str] = {}
        for p in recipients:
            via = self.parties.relay_of(p)
            if via is not None:
                out[p] = via
        return out

    def also_reading(self, recipients: list[str]) -> list[str]:
        return sorted(set(self.relays_for(recipients).values()))

    def notes(self, addressees: Any, issuer: str) -> list[dict[str, str]]:
        """What the issuer is told before (dry run) and on sending: who will read it."""
        if not isinstance(addressees, list):
            return []
        if "*" in addressees:
            wanted = [p for p in self.parties.ids() if p != issuer]
        else:
            wanted = [p for p in addressees if isinstance(p, str)]
        return [
            {
                "addressee": p,
                "relay": via,
                "note": (
                    f"{p} never connects: delivered through relay {via}, which will see "
                    f"it in full and forwards it by its own means"
                ),
            }
            for p, via in sorted(self.relays_for(wanted).items())
        ]

    # -- inside notice changes ---------------------------------------------------
    def on_version(
        self, tx: Tx, notice_id: str, issuer: str, version: int, content: Row, recipients: list[str]
    ) -> None:
        """A new version: the old legs are superseded, each relay owes the new one."""
        if version > 1:  # a new notice has no legs yet (an UPDATE on every submit saved)
            tx.repo.relays.supersede(notice_id)
        relayed = self.relays_for(recipients)
        if relayed:
            self._add_legs(tx, notice_id, issuer, version, content, relayed)

    def _address_new_party(self, tx: Tx, party_id: str, name: str) -> None:
        """A relayed party registered late: its relay owes the active broadcasts too."""
        via = self.parties.relay_of(party_id)
        if via is None:
            return
        for r in tx.repo.notices.active_broadcast():
            self._add_legs(tx, r["id"], r["issuer"], r["version"], r, {party_id: via})

    def _add_legs(
        self,
        tx: Tx,
        notice_id: str,
        issuer: str,
        version: int,
        content: Row,
        relayed: dict[str, str],
    ) -> None:
        ack_deadline = content.get("ack_deadline")
        if ack_deadline is not None and ack_deadline <= tx.ts:
            ack_deadline = None
        deadline = self._forward_deadline(tx, ack_deadline)
        legs = _insert_legs(tx, "notice", notice_id, version, issuer, deadline, relayed)
        for leg in legs:
            tx.emit(
                leg["relay"],
                RELAY_OWED,
                {
                    **leg_view(leg),
                    "title": content["title"],
                    "kind": content["kind"],
                    "ack_deadline": content.get("ack_deadline"),
                },
            )

    def _forward_deadline(self, tx: Tx, ack_deadline: str | None) -> str:
        if ack_deadline:
            span = max(parse_ts(ack_deadline) - tx.now, timedelta(0))
            return format_ts(tx.now + span * self.settings.relay_forward_fraction)
        return format_ts(tx.now + timedelta(seconds=self.settings.relay_forward_s))

    def _handed(self, tx: Tx, party: str, versions: list[tuple[str, int]]) -> None:
        """The relay's client was handed these versions: its legs of them are received."""
        if party not in self._relay_ids():
            return  # the hot path of every hand-over: one set look-up
        for leg in tx.repo.relays.legs_by_relay(party, versions):
            if leg["received_at"] is not None:
                continue
            tx.repo.relays.update_leg(
                leg["notice_id"], leg["version"], leg["recipient"], received_at=tx.ts
            )
            self._step(tx, {**leg, "received_at": tx.ts}, "received", tx.ts, {}, {})
            # the relayed party's acknowledgement row: delivered, to its relay
            self.acks.mark_delivered(
                tx, leg["recipient"], [(leg["notice_id"], leg["version"])], via="relay"
            )

    def _step(
        self,
        tx: Tx,
        leg: Row,
        step: str,
        at: str,
        fields: dict[str, Any],
        signed: dict[str, Any],
    ) -> Row:
        index = self.ledger.log(
            tx,
            # the hand-over to the relay is the hub's record (like a delivery); the other
            # steps are what the relay asserts, and signs
            "relay_received" if step == "received" else "relay_step",
            **_entry_ref(leg),
            party=leg["recipient"],
            relay=leg["relay"],
            step=step,
            reported_at=at,
            **{k: v for k, v in fields.items() if v is not None},
            **signed,
        )
        row = {
            "notice_id": leg["notice_id"],
            "version": leg["version"],
            "recipient": leg["recipient"],
            "relay": leg["relay"],
            "issuer": leg["issuer"],
            "step": step,
            "at": at,
            "recorded_at": tx.ts,
            "means": fields.get("means"),
            "counterpart": fields.get("to") or fields.get("by"),
            "comment": fields.get("comment"),
            "key_id": signed.get("key_id"),
            "ledger_index": index,
            "subject": leg["subject"],
        }
        tx.repo.relays.insert_step(row)
        view = {
            "what": leg["subject"],
            **_subject_ref(leg),
            "recipient": leg["recipient"],
            "relay": leg["relay"],
            **step_view(row),
        }
        tx.emit(leg["issuer"], RELAY_STEP, view)
        return row

    # -- the sweep -----------------------------------------------------------------
    def escalate_due(self, tx: Tx) -> int:
        """`relay_overdue` once per leg not forwarded by its forwarding deadline."""
        sent = 0
        for leg in tx.repo.relays.forward_due(tx.ts):
            key = (leg["notice_id"], leg["version"], leg["recipient"])
            if leg["subject"] == "notice":  # a message stays owed until it is answered
                ack = tx.repo.acks.get(*key)
                if ack is None or ack["superseded"]:  # expired or replaced meanwhile
                    tx.repo.relays.update_leg(*key, superseded=1)
                    continue
            tx.repo.relays.update_leg(*key, forward_overdue_at=tx.ts)
            self.ledger.log(
                tx,
                "relay_forward_overdue",
                **_entry_ref(leg),
                party=leg["recipient"],
                relay=leg["relay"],
                deadline=leg["forward_deadline"],
            )
            view = any_leg_view({**leg, "forward_overdue_at": tx.ts})
            tx.emit(leg["issuer"], RELAY_OVERDUE, view)
            tx.emit(leg["relay"], RELAY_OVERDUE, view)
            sent += 1
        return sent

    # -- use cases -----------------------------------------------------------------
    async def record(self, who: Principal, notice_id: str, body: Any) -> dict[str, Any]:
        """The relay records one step it took (or heard) for a relayed addressee."""
        require_party(who, "relay notices")
        if not isinstance(body, dict):
            raise Invalid([("", "must be a JSON object")])
        body, signed_req = take_signature(body)
        fields = _parse_step(body, self.settings.max_message_chars)
        version: int = body["version"]
        step: str = body["step"]

        def run(tx: Tx) -> dict[str, Any]:
            row, mine = _relayed_by(tx.repo, who, notice_id)
            if not mine:
                raise Forbidden(
                    f"you are not the relay of any addressee of {notice_id}: only the relay "
                    "a relayed party is registered with records its steps",
                    field="notice_id",
                )
            if version > row["version"]:
                raise Invalid([("version", f"{notice_id} has no version {version} yet")])
            legs = [g for g in mine if g["version"] == version]
            if not legs:
                raise Invalid([("version", f"you relay no addressee of version {version}")])
            leg = _the_leg(legs, body.get("recipient"))
            if leg["received_at"] is None:
                raise StateConflict(
                    f"version {version} of {notice_id} was never received by you: read it "
                    "on your event stream and confirm it (POST /v1/events/confirm, or the "
                    "Last-Event-ID of your next connection) before recording what you did "
                    "with it",
                    field="version",
                )
            at = _check_step(tx, leg, step, fields, f"version {version}")
            statement = statements.relay_step_statement(
                who.party_id,
                notice_id,
                version,
                leg["recipient"],
                {"step": step, **{k: body.get(k) for k in sorted(_FIELDS - {"version"})}},
            )
            signed = self.keys.check(tx, who, statement, signed_req)
            stored = self._step(tx, leg, step, at, fields, signed)
            changes: dict[str, Any] = (
                {"forwarded_at": at} if step == "forwarded" else {"answer": step, "answered_at": at}
            )
            tx.repo.relays.update_leg(notice_id, version, leg["recipient"], **changes)
            if step == "acknowledged":
                self._acknowledged(tx, leg, at, fields, signed)
            done = {**leg, **changes}
            steps = [
                s
                for s in tx.repo.relays.steps_of(notice_id)
                if (s["version"], s["recipient"]) == (version, leg["recipient"])
            ]
            return {**leg_view(done, steps), "recorded": step_view(stored)}

        return await self.writer.run(run)

    def _acknowledged(
        self, tx: Tx, leg: Row, at: str, fields: dict[str, Any], signed: dict[str, Any]
    ) -> None:
        """The reported answer is the relayed party's acknowledgement, via its relay."""
        key: tuple[str, int, str] = (leg["notice_id"], leg["version"], leg["recipient"])
        ack = tx.repo.acks.get(*key)
        if ack is None or ack["state"] == "acknowledged":
            return
        said = f"acknowledged by {fields['by']}"
        if fields.get("means"):
            said += f" ({fields['means'].replace('_', ' ')})"
        said += f" at {at}, as reported by relay {leg['relay']}"
        if fields.get("comment"):
            said += f": {fields['comment']}"
        changes: dict[str, Any] = {
            "state": "acknowledged",
            "acknowledged_at": tx.ts,
            "comment": said,
            "delivered_at": ack["delivered_at"] or tx.ts,
        }
        tx.repo.acks.update(*key, **changes)
        self.ledger.log(
            tx,
            "ack",
            notice_id=leg["notice_id"],
            version=leg["version"],
            party=leg["recipient"],
            issuer=leg["issuer"],
            comment=said,
            relay=leg["relay"],
            **signed,
        )
        tx.emit(leg["issuer"], ACK_RECEIVED, ack_view({**ack, **changes}))

    async def chain(self, who: Principal, notice_id: str) -> dict[str, Any]:
        """The relay chain of a notice: to its issuer all of it, to a relay its own legs."""

        def read() -> dict[str, Any]:
            with self.store.read() as repo:
                row, mine = _relayed_by(repo, who, notice_id)
                legs = repo.relays.legs_of(notice_id)
                if not (who.is_admin or row["issuer"] == who.party_id):
                    legs = mine
                    if not legs:
                        raise Forbidden(
                            "only the issuer and the relays of a notice see its relay chain"
                        )
                steps = repo.relays.steps_of(notice_id)
            out = []
            for g in legs:
                mine = [
                    s
                    for s in steps
                    if (s["version"], s["recipient"]) == (g["version"], g["recipient"])
                ]
                out.append(leg_view(g, mine))
            return {"notice_id": notice_id, "version": row["version"], "legs": out}

        found: dict[str, Any] = await asyncio.to_thread(read)
        return found

    async def owed(self, who: Principal) -> dict[str, Any]:
        """What a relay owes: current legs (notices' and messages') not yet answered for
        good, soonest forwarding deadline first."""
        require_party(who, "relay notices")

        def read() -> list[dict[str, Any]]:
            with self.store.read() as repo:
                legs = repo.relays.legs_by_relay(who.party_id)
                out = []
                for g in legs:
                    if g["answer"] in _FINAL:
                        continue
                    owes = (
                        "receive"
                        if g["received_at"] is None
                        else "forward"
                        if g["forwarded_at"] is None
                        else "answer"
                    )
                    if g["subject"] == "message":
                        m = repo.messages.get(g["notice_id"])
                        view = message_leg_view(g)
                        view.update(owes=owes, ack_deadline=None, ack_overdue=False)
                        if m is not None:
                            view["title"] = m["subject"]
                            view["priority"] = m["priority"]
                        out.append(view)
                        continue
                    ack = repo.acks.get(g["notice_id"], g["version"], g["recipient"])
                    if ack is None or ack["superseded"]:
                        continue  # the notice expired meanwhile: nothing left to pass on
                    notice = repo.notices.get(g["notice_id"])
                    view = leg_view(g)
                    view["owes"] = owes
                    view["ack_deadline"] = ack["deadline"] if ack else None
                    view["ack_overdue"] = bool(ack and ack["overdue_at"])
                    if notice is not None:
                        view["title"] = notice["title"]
                        view["kind"] = notice["kind"]
                        view["state"] = notice["state"]
                    out.append(view)
            out.sort(
                key=lambda v: (
                    v["forward_deadline"],
                    v.get("notice_id") or v.get("message_id"),
                    v["recipient"],
                )
            )
            return out

        return {"owed": await asyncio.to_thread(read)}

    # -- hotline messages (issue 15) ---------------------------------------------
    def on_message(self, tx: Tx, message: Row, relayed: dict[str, str]) -> None:
        """Inside the send: each relay owes its relayed recipients the message."""
        if not relayed:
            return
        deadline = format_ts(tx.now + timedelta(seconds=self.settings.relay_forward_s))
        legs = _insert_legs(tx, "message", message["id"], 0, message["sender"], deadline, relayed)
        for leg in legs:
            tx.emit(
                leg["relay"],
                RELAY_OWED,
                {
                    **message_leg_view(leg),
                    "title": message["subject"],
                    "priority": message["priority"],
                },
            )

    def messages_handed(self, tx: Tx, party: str, message_ids: list[str]) -> list[Row]:
        """`party`'s client confirmed it has these messages: the legs it relays of them are
        received (the first link). Returns the legs newly received."""
        if party not in self._relay_ids():
            return []
        done: list[Row] = []
        for leg in tx.repo.relays.message_legs_by_relay(party, message_ids):
            if leg["received_at"] is not None:
                continue
            tx.repo.relays.update_leg(leg["notice_id"], 0, leg["recipient"], received_at=tx.ts)
            received = {**leg, "received_at": tx.ts}
            self._step(tx, received, "received", tx.ts, {}, {})
            done.append(received)
        return done

    def message_legs(self, repo: Repo, message_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Each message's legs with their steps, as views (for the sender's receipts)."""
        legs = repo.relays.message_legs(message_ids)
        if not legs:
            return {}
        steps = repo.relays.steps_of_many([g["notice_id"] for g in legs])
        out: dict[str, list[dict[str, Any]]] = {}
        for g in legs:
            mine = [
                s
                for s in steps
                if (s["notice_id"], s["recipient"]) == (g["notice_id"], g["recipient"])
            ]
            out.setdefault(g["notice_id"], []).append(message_leg_view(g, mine))
        return out

    async def record_message(self, who: Principal, message_id: str, body: Any) -> dict[str, Any]:
        """The relay records one step it took (or heard) for a message's relayed recipient."""
        require_party(who, "relay messages")
        if not isinstance(body, dict):
            raise Invalid([("", "must be a JSON object")])
        body, signed_req = take_signature(body)
        fields = _parse_step(body, self.settings.max_message_chars, versioned=False)
        step: str = body["step"]

        def run(tx: Tx) -> dict[str, Any]:
            m = tx.repo.messages.get(message_id)
            legs = [
                g for g in tx.repo.relays.message_legs([message_id]) if g["relay"] == who.party_id
            ]
            if m is None or not (legs or sees_message(tx.repo, who, m)):
                raise NotFound(f"no message {message_id!r} is visible to you")
            if not legs:
                raise Forbidden(
                    f"you are not the relay of any recipient of {message_id}: only the relay "
                    "a relayed party is registered with records its steps",
                    field="message_id",
                )
            leg = _the_leg(legs, body.get("recipient"))
            if leg["received_at"] is None:
                raise StateConflict(
                    f"message {message_id} was never received by you: read it on your event "
                    "stream and confirm it (POST /v1/events/confirm, or the Last-Event-ID of "
                    "your next connection) before recording what you did with it",
                    field="message_id",
                )
            at = _check_step(tx, leg, step, fields, f"message {message_id}")
            statement = statements.relayed_message_step_statement(
                who.party_id,
                message_id,
                leg["recipient"],
                {"step": step, **{k: body.get(k) for k in sorted(_MESSAGE_FIELDS)}},
            )
            signed = self.keys.check(tx, who, statement, signed_req)
            stored = self._step(tx, leg, step, at, fields, signed)
            changes: dict[str, Any] = (
                {"forwarded_at": at} if step == "forwarded" else {"answer": step, "answered_at": at}
            )
            tx.repo.relays.update_leg(message_id, 0, leg["recipient"], **changes)
            done = {**leg, **changes}
            if step == "acknowledged":
                for subscriber in self.on_message_answered:
                    subscriber(tx, done, at, fields)
            steps = [
                s for s in tx.repo.relays.steps_of(message_id) if s["recipient"] == leg["recipient"]
            ]
            return {**message_leg_view(done, steps), "recorded": step_view(stored)}

        return await self.writer.run(run)

    async def message_chain(self, who: Principal, message_id: str) -> dict[str, Any]:
        """A message's relay chain: to its sender all of it, to a relay its own legs."""

        def read() -> dict[str, Any]:
            with self.store.read() as repo:
                m = repo.messages.get(message_id)
                legs = repo.relays.message_legs([message_id])
                mine = [g for g in legs if g["relay"] == who.party_id]
                if m is None or not (mine or sees_message(repo, who, m)):
                    raise NotFound(f"no message {message_id!r} is visible to you")
                if not (who.is_admin or m["sender"] == who.party_id):
                    if not mine:
                        raise Forbidden(
                            "only the sender and the relays of a message see its relay chain"
                        )
                    legs = mine
                steps = repo.relays.steps_of(message_id)
            return {
                "message_id": message_id,
                "legs": [
                    message_leg_view(g, [s for s in steps if s["recipient"] == g["recipient"]])
                    for g in legs
                ],
            }

        found: dict[str, Any] = await asyncio.to_thread(read)
        return found


def _relayed_by(repo: Repo, who: Principal, notice_id: str) -> tuple[Row, list[Row]]:
    """The notice and `who`'s legs of it (any version: a late answer about an earlier
    version is still recorded); not found if `who` neither sees nor relays it."""
    legs = [g for g in repo.relays.legs_of(notice_id) if g["relay"] == who.party_id]
    if not legs:
        return visible_notice(repo, who, notice_id), []
    row = repo.notices.get(notice_id)
    if row is None:  # pragma: no cover - legs are written with their notice
        raise NotFound(f"no notice {notice_id!r} is visible to you")
    return row, legs


def _check_step(tx: Tx, leg: Row, step: str, fields: dict[str, Any], what: str) -> str:
    """When the step happened, once it fits the leg's state (a notice's or a message's);
    `Invalid` or `StateConflict` naming the field otherwise."""
    at: str = fields["at"] or tx.ts
    if at > format_ts(tx.now + _SKEW):
        raise Invalid([("at", "is in the future")])
    if at < leg["received_at"]:
        raise Invalid([("at", f"is before you received {what} ({leg['received_at']})")])
    if leg["answer"] in _FINAL:
        raise StateConflict(
            f"{leg['recipient']}'s answer to {what} is already recorded "
            f"({leg['answer']} at {leg['answered_at']}); it is not replaced",
            field="step",
        )
    if step in ANSWERS and leg["forwarded_at"] is None:
        raise StateConflict(
            f"record how you forwarded {what} to {leg['recipient']} "
            f'(step "forwarded") before its answer',
            field="step",
        )
    if step == "forwarded" and at < (leg["forwarded_at"] or ""):
        raise Invalid([("at", f"is before the last forwarding ({leg['forwarded_at']})")])
    return at


def _the_leg(legs: list[Row], recipient: Any) -> Row:
    if recipient is None:
        if len(legs) == 1:
            return legs[0]
        names = ", ".join(g["recipient"] for g in legs)
        raise Invalid([("recipient", f"you relay this version to {names}: name one")])
    for g in legs:
        if g["recipient"] == recipient:
            return g
    raise Invalid([("recipient", f"you relay this version to no party {recipient!r}")])


def _parse_step(body: dict[str, Any], max_chars: int, *, versioned: bool = True) -> dict[str, Any]:
    """A step's fields (a notice's names its version; a message has none)."""
    known = _FIELDS if versioned else _MESSAGE_FIELDS
    errs = [(k, "unknown field") for k in sorted(set(body) - known)]
    version = body.get("version")
    if versioned and (isinstance(version, bool) or not isinstance(version, int) or version < 1):
        errs.append(("version", "is required: the notice version (integer >= 1)"))
    step = body.get("step")
    if step not in STEPS:
        errs.append(("step", f"is required: one of {', '.join(STEPS)}"))
    recipient = body.get("recipient")
    if recipient is not None and not isinstance(recipient, str):
        errs.append(("recipient", "must be the id of the relayed party"))
    means = body.get("means")
    if means is not None and means not in MEANS:
        errs.append(("means", f"must be one of {', '.join(MEANS)}"))
    elif means is None and step == "forwarded":
        errs.append(("means", f"is required to record a forwarding: one of {', '.join(MEANS)}"))
    for name, needed in (("to", "forwarded"), ("by", "acknowledged")):
        value = body.get(name)
        if value is None:
            if step == needed:
                who = "to whom you forwarded it" if name == "to" else "who acknowledged it"
                errs.append((name, f"is required: {who} (a name, a post, an office)"))
        elif not isinstance(value, str) or not value.strip() or len(value) > _TEXT:
            errs.append((name, f"must be a non-empty string of at most {_TEXT} characters"))
    comment = body.get("comment")
    if comment is not None and (not isinstance(comment, str) or len(comment) > max_chars):
        errs.append(("comment", f"must be a string of at most {max_chars} characters"))
    at = body.get("at")
    when = None
    if at is not None:
        try:
            if not isinstance(at, str):
                raise ValueError("must be an RFC 3339 timestamp")
            when = format_ts(parse_rfc3339(at))
        except ValueError as exc:
            errs.append(("at", str(exc)))
    if errs:
        raise Invalid(errs)
    return {
        "at": when,
        "means": means,
        "to": body.get("to"),
        "by": body.get("by"),
        "comment": comment,
    }


def _insert_legs(
    tx: Tx,
    subject: str,
    subject_id: str,
    version: int,
    issuer: str,
    deadline: str,
    relayed: dict[str, str],
) -> list[Row]:
    """A fresh leg per relayed recipient of a notice version or a message (version 0; its
    id in `notice_id`, see `relay_tables`), stored; returned for the events."""
    legs: list[Row] = [
        {
            "notice_id": subject_id,
            "version": version,
            "recipient": p,
            "relay": via,
            "issuer": issuer,
            "created_at": tx.ts,
            "forward_deadline": deadline,
            "received_at": None,
            "forwarded_at": None,
            "answer": None,
            "answered_at": None,
            "forward_overdue_at": None,
            "superseded": 0,
            "subject": subject,
        }
        for p, via in sorted(relayed.items())
    ]
    tx.repo.relays.insert_legs(legs)
    return legs
