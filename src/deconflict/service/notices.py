"""Notices: notify, amend, cancel, expire, dry-run check, and the audited reads.

Each use case is one awaitable: the volumes are validated first (in a parser process
while the event loop serves others, or in a thread for a large document), the rest of
the document next, and the change is then awaited through the writer, which answers
once it is durable. Conflicts are the `Conflicts` collaborator's; acknowledgements and
deliveries the `Acks`'.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from deconflict.config import Settings
from deconflict.geo import Volume4D
from deconflict.ledger import statements
from deconflict.service.acks import Acks, visible_notice
from deconflict.service.auth import Principal
from deconflict.service.conflicts import Conflicts, views_in, views_of
from deconflict.service.disclosure import grain_asked
from deconflict.service.documents import NoticeDoc, parse_notice
from deconflict.service.errors import Forbidden, Invalid, QuotaExceeded, StaleVersion, StateConflict
from deconflict.service.event_types import (
    NOTICE_CANCELLED,
    NOTICE_EXPIRED,
    NOTICE_RECEIVED,
    NOTICE_UPDATED,
    NOTICE_WITHDRAWN,
    NoticeCancelled,
    NoticeExpired,
    NoticeWithdrawn,
)
from deconflict.service.idempotency import Once, keyed
from deconflict.service.ids import new_id
from deconflict.service.index import PROTECTED_SITE_PRIORITY, NoticeIndex
from deconflict.service.keys import PartyKeys, SignedRequest, take_signature
from deconflict.service.ledger import Ledger
from deconflict.service.parsers import ParsedVolumes, VolumeParsers
from deconflict.service.parties import Parties, require_party
from deconflict.service.prepared import prepared_row
from deconflict.service.probes import Probes, existence_only
from deconflict.service.tx import Tx
from deconflict.service.views import ack_view, addressees_of, notice_view
from deconflict.service.writer import Change, Writer
from deconflict.store import Repo, Row, Store
from deconflict.strategic import NoticeShape, sees
from deconflict.utc import format_ts

__all__ = ["Notices"]

_CONTENT_KEYS = ("kind", "title", "remarks", "priority", "addressees", "volumes", "disclosure")
# Documents with more positions than this are validated in a worker thread, not on the
# event loop nor through a parser process (whose pickled hand-over would cost more).
LARGE_DOCUMENT_POSITIONS = 2500


def _positions(value: Any, budget: int) -> int:
    """How many coordinate positions `value` holds, counted up to `budget` (cheaply)."""
    if not isinstance(value, list):
        return 0
    if value and not isinstance(value[0], list):
        return 1
    n = 0
    for item in value:
        n += _positions(item, budget - n)
        if n >= budget:
            break
    return n


def is_large(body: Any) -> bool:
    volumes = body.get("volumes") if isinstance(body, dict) else None
    if not isinstance(volumes, list):
        return False
    n = 0
    for v in volumes:
        geometry = v.get("geometry") if isinstance(v, dict) else None
        if isinstance(geometry, dict):
            n += _positions(geometry.get("coordinates"), LARGE_DOCUMENT_POSITIONS - n)
        if n >= LARGE_DOCUMENT_POSITIONS:
            return True
    return False


def _notice_row(notice: Row, content: Row, *, version: int, version_created_at: str) -> Row:
    """A notice as `NoticeRepo.get` returns it, from the rows just written (no read-back)."""
    row = {k: v for k, v in notice.items() if k != "current_version"}
    row.update(content)
    row["version"] = version
    row["version_created_at"] = version_created_at
    return row


def _entry_content(content: Row) -> Row:
    """A version's stored content as its ledger entry carries it (JSON decoded)."""
    out = {k: content[k] for k in ("kind", "title", "remarks", "priority")}
    out["addressees"] = json.loads(content["addressees"])
    out["volumes"] = json.loads(content["volumes"])
    if content.get("ack_deadline"):
        out["ack_deadline"] = content["ack_deadline"]
    if content.get("disclosure"):
        out["disclosure"] = json.loads(content["disclosure"])
    return out


def _content(doc: NoticeDoc) -> Row:
    """The stored text of a version, as in `notice_versions`."""
    return {
        "kind": doc.kind,
        "title": doc.title,
        "remarks": doc.remarks,
        "priority": doc.priority,
        "addressees": json.dumps(list(doc.addressees)),
        "volumes": json.dumps([v.to_json() for v in doc.volumes]),
        "ack_deadline": format_ts(doc.ack_deadline) if doc.ack_deadline else None,
        "disclosure": json.dumps(doc.disclosure.to_json()),
    }


def _shape(notice_id: str, issuer: str, doc: NoticeDoc, version: int) -> NoticeShape:
    priority = PROTECTED_SITE_PRIORITY if doc.kind == "protected_site" else doc.priority
    return NoticeShape(
        id=notice_id,
        issuer=issuer,
        kind=doc.kind,
        volumes=doc.volumes,
        version=version,
        priority=priority,
        readers=frozenset(doc.addressees),
        coarse=doc.coarse,
        disclosure=doc.disclosure.level,
    )


def _future_deadline(tx: Tx, deadline: str | None) -> str | None:
    """A deadline carried over to a later obligation, unless it has already passed."""
    return deadline if deadline is not None and deadline > tx.ts else None


def _check_window(tx: Tx, doc: NoticeDoc) -> str:
    ends = max(v.time_end for v in doc.volumes)
    if ends <= tx.now:
        raise Invalid([("volumes", "every volume has already ended; nothing to notify")])
    return format_ts(ends)


def _own_notice(repo: Repo, who: Principal, notice_id: str) -> Row:
    row = visible_notice(repo, who, notice_id)
    if row["issuer"] != who.party_id:
        raise Forbidden("only the issuer changes a notice")
    return row


class Notices:
    def __init__(
        self,
        settings: Settings,
        *,
        writer: Writer,
        store: Store,
        index: NoticeIndex,
        parties: Parties,
        parsers: VolumeParsers,
        ledger: Ledger,
        keys: PartyKeys,
        conflicts: Conflicts,
        acks: Acks,
        probes: Probes,
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self.writer = writer
        self.store = store
        self.index = index
        self.parties = parties
        self.parsers = parsers
        self.ledger = ledger
        self.keys = keys
        self.conflicts = conflicts
        self.acks = acks
        self.probes = probes
        self.clock = clock
        parties.on_registered.append(self._address_new_party)
        # issue 15 (service/relays.py): the relays of a version's relayed addressees read it
        # too (`also_reading`), and are told what they owe (`on_stored`, called as the
        # version is stored and logged).
        self.also_reading: Callable[[list[str]], list[str]] = lambda recipients: []
        self.on_stored: list[Callable[[Tx, str, str, int, Row, list[str]], None]] = []
        # issue 15 (service/unit_deliveries.py): called in the change with (tx, the
        # version's row, its recipients, the previous version's recipients, its volumes)
        # each time a version is stored, to route it to the recipients' units
        self.on_version: list[
            Callable[[Tx, Row, list[str], list[str], tuple[Volume4D, ...]], None]
        ] = []

    # -- preparing a change ----------------------------------------------------
    async def _prepared(
        self,
        prepare: Callable[[ParsedVolumes | None], Change[dict[str, Any]]],
        body: Any,
        once: Once | None,
    ) -> dict[str, Any]:
        """Validate (volumes off the loop), then await the durable change."""
        if is_large(body):
            # one huge notice must not stall every stream: a thread validates it all
            return await self.writer.run(keyed(once, await asyncio.to_thread(prepare, None)))
        parsed = (
            await self.parsers.parse(body.get("volumes"), grain_asked(body))
            if isinstance(body, dict)
            else None
        )
        return await self.writer.run(keyed(once, prepare(parsed)))

    def _parse(
        self, who: Principal, body: Any, *, amendment: bool, parsed: ParsedVolumes | None
    ) -> NoticeDoc:
        if isinstance(body, dict):
            self.parties.learn(body.get("addressees"))
        return parse_notice(
            body,
            settings=self.settings,
            known_parties=self.parties.directory,
            issuer=who.party_id,
            amendment=amendment,
            parsed=parsed,
        )

    def _expand(self, addressees: tuple[str, ...] | list[str], issuer: str) -> list[str]:
        """The parties a notice goes to; inside a change, those registered in its batch too."""
        if "*" in addressees:
            return sorted(p for p in self.parties.known() if p != issuer)
        return sorted(addressees)

    def _readers(self, recipients: list[str]) -> list[str]:
        """The recipients and the relays of those reached through one (issue 15)."""
        extra = self.also_reading(recipients)
        return sorted({*recipients, *extra}) if extra else recipients

    def _store_version(
        self,
        tx: Tx,
        notice_id: str,
        issuer: str,
        content: Row,
        version: int,
        recipients: list[str],
        *,
        state: str = "active",
        new_notice: bool = False,
        signed: dict[str, Any] | None = None,
    ) -> list[Row]:
        """Store (and log) one version, its recipients and its pending acks; returns the acks."""
        relays = self.also_reading(recipients)  # issue 15: they read the entry too
        self.ledger.log(
            tx,
            "notice_version",
            notice_id=notice_id,
            version=version,
            issuer=issuer,
            state=state,
            content=_entry_content(content),
            **({"relays": relays} if relays else {}),
            **(signed or {}),
        )
        tx.repo.notices.insert_version(
            {
                "notice_id": notice_id,
                "version": version,
                **content,
                "created_at": tx.ts,
                "state": state,
            }
        )
        readers = sorted({*recipients, *relays}) if relays else recipients
        if new_notice:
            tx.repo.notices.add_recipients(notice_id, readers)
        else:
            tx.repo.notices.set_recipients(notice_id, readers)
        ack_rows = [
            {
                "notice_id": notice_id,
                "version": version,
                "addressee": p,
                "issuer": issuer,
                "state": "pending",
                "deadline": content["ack_deadline"],
                "created_at": tx.ts,
                "delivered_at": None,
                "acknowledged_at": None,
                "comment": None,
                "overdue_at": None,
                "superseded": 0,
            }
            for p in recipients
        ]
        tx.repo.acks.insert(ack_rows)
        for subscriber in self.on_stored:
            subscriber(tx, notice_id, issuer, version, content, recipients)
        return ack_rows

    def _address_new_party(self, tx: Tx, party_id: str, name: str) -> None:
        """A new party is an addressee of every active notice addressed to every party.

        It gets each such notice's current version as if it had been addressed then: a
        pending acknowledgement (with the notice's deadline, unless that has passed) and
        a `notice_received` event, in the registration's own transaction.
        """
        found = tx.repo.notices.active_broadcast()
        if not found:
            return
        tx.repo.notices.add_recipient_to(party_id, [r["id"] for r in found])
        tx.repo.acks.insert(
            [
                {
                    "notice_id": r["id"],
                    "version": r["version"],
                    "addressee": party_id,
                    "issuer": r["issuer"],
                    "state": "pending",
                    "deadline": _future_deadline(tx, r["ack_deadline"]),
                    "created_at": tx.ts,
                    "superseded": 0,
                }
                for r in found
            ]
        )
        for r in found:
            tx.emit(party_id, NOTICE_RECEIVED, notice_view(r))

    # -- notify ----------------------------------------------------------------
    async def notify(self, who: Principal, body: Any, once: Once | None = None) -> dict[str, Any]:
        require_party(who, "notify")
        return await self._prepared(lambda parsed: self._notify(who, body, parsed), body, once)

    def _notify(
        self, who: Principal, body: Any, parsed: ParsedVolumes | None
    ) -> Change[dict[str, Any]]:
        body, signed_req = take_signature(body, nonce=True)
        doc = self._parse(who, body, amendment=False, parsed=parsed)
        notice_id = new_id("n")
        shape = _shape(notice_id, who.party_id, doc, 1)
        content = _content(doc)
        prepared = prepared_row(notice_id, 1, content, doc.volumes, doc.coarse)
        broadcast = int("*" in doc.addressees)

        def run(tx: Tx) -> dict[str, Any]:
            signed = self.keys.check(
                tx,
                who,
                statements.notify_statement(who.party_id, signed_req.nonce or "", body),
                signed_req,
            )
            limit = self.settings.max_active_notices_per_party
            if self.index.active_count(who.party_id) >= limit:
                raise QuotaExceeded(
                    f"{who.party_id} already has {limit} active notices (the limit); "
                    "cancel some first"
                )
            expires = _check_window(tx, doc)
            notice = {
                "id": notice_id,
                "issuer": who.party_id,
                "current_version": 1,
                "state": "active",
                "broadcast": broadcast,
                "expires_at": expires,
                "created_at": tx.ts,
                "updated_at": tx.ts,
            }
            tx.repo.notices.insert(notice)
            recipients = self._expand(doc.addressees, who.party_id)
            ack_rows = self._store_version(
                tx, notice_id, who.party_id, content, 1, recipients, new_notice=True, signed=signed
            )
            tx.repo.notices.insert_prepared(prepared)
            row = _notice_row(notice, content, version=1, version_created_at=tx.ts)
            view = notice_view(row)
            tx.emit_to(self._readers(recipients), NOTICE_RECEIVED, view)
            for subscriber in self.on_version:  # issue 15: routing to units
                subscriber(tx, row, recipients, [], doc.volumes)
            notices = {notice_id: row}
            found = self.index.query(shape)
            conflicts = self.conflicts.reconcile(tx, shape, found, notices, new_notice=True)
            self.index.put(tx, shape)  # the next change of this batch is checked against it
            return {
                **view,
                "acks": [ack_view(a) for a in ack_rows],
                "conflicts": views_of(who, conflicts, notices),
            }

        return run

    # -- amend -----------------------------------------------------------------
    async def amend(
        self, who: Principal, notice_id: str, body: Any, once: Once | None = None
    ) -> dict[str, Any]:
        require_party(who, "amend notices")
        await asyncio.to_thread(self._read, lambda repo: _own_notice(repo, who, notice_id))
        # who may amend comes before what is wrong with the document
        return await self._prepared(
            lambda parsed: self._amend(who, notice_id, body, parsed), body, once
        )

    def _amend(
        self, who: Principal, notice_id: str, body: Any, parsed: ParsedVolumes | None
    ) -> Change[dict[str, Any]]:
        body, signed_req = take_signature(body)
        doc = self._parse(who, body, amendment=True, parsed=parsed)
        content = _content(doc)
        # the version number is known only inside the change; the form does not depend on it
        prepared = prepared_row(notice_id, 0, content, doc.volumes, doc.coarse)

        def run(tx: Tx) -> dict[str, Any]:
            old = _own_notice(tx.repo, who, notice_id)
            signed = self.keys.check(
                tx,
                who,
                statements.amend_statement(who.party_id, notice_id, doc.version or 0, body),
                signed_req,
            )
            if old["state"] != "active":
                raise StateConflict(f"notice {notice_id} is {old['state']}; notify a new one")
            if doc.version != old["version"]:
                raise StaleVersion(
                    f"you are amending version {doc.version} but the current version is "
                    f"{old['version']}; fetch it and amend that",
                    current_version=old["version"],
                )
            version = old["version"] + 1
            shape = _shape(notice_id, who.party_id, doc, version)
            expires = _check_window(tx, doc)
            tx.repo.acks.supersede(notice_id)
            recipients = self._expand(doc.addressees, who.party_id)
            ack_rows = self._store_version(
                tx, notice_id, who.party_id, content, version, recipients, signed=signed
            )
            tx.repo.notices.insert_prepared({**prepared, "version": version})
            changes = {
                "current_version": version,
                "broadcast": int("*" in doc.addressees),
                "expires_at": expires,
                "updated_at": tx.ts,
            }
            tx.repo.notices.update(notice_id, **changes)
            row = {
                **old,
                **changes,
                **content,
                "version": version,
                "version_created_at": tx.ts,
            }
            del row["current_version"]
            had = self._expand(addressees_of(old), who.party_id)
            before = set(self._readers(had))
            view = notice_view(row)
            readers = self._readers(recipients)
            tx.emit_to([p for p in readers if p in before], NOTICE_UPDATED, view)
            tx.emit_to([p for p in readers if p not in before], NOTICE_RECEIVED, view)
            for party in sorted(before - set(readers)):
                # issue 12: a party's own record that the notice stopped being served to it
                # (else its `ledger verify` could not tell this from the hub hiding it)
                self.ledger.log(
                    tx,
                    "notice_withdrawn",
                    notice_id=notice_id,
                    version=version,
                    party=party,
                    issuer=who.party_id,
                )
            tx.emit_to(
                sorted(before - set(readers)),
                NOTICE_WITHDRAWN,
                NoticeWithdrawn(id=notice_id, issuer=who.party_id, version=version),
            )
            for subscriber in self.on_version:  # issue 15: routing to units
                subscriber(tx, row, recipients, sorted(had), doc.volumes)
            notices = {notice_id: row}
            before_open = tx.repo.conflicts.open_of(notice_id)
            conflicts = self.conflicts.reconcile(tx, shape, self.index.query(shape), notices)
            still = {c["id"] for c in conflicts}
            gone = [c for c in before_open if c["id"] not in still]
            self.probes.withdrawn(tx, who.party_id, gone, notices, "amend")
            self.index.put(tx, shape)
            return {
                **view,
                "acks": [ack_view(a) for a in ack_rows],
                "conflicts": views_of(who, conflicts, notices),
            }

        return run

    # -- cancel and expire -------------------------------------------------------
    async def cancel(
        self,
        who: Principal,
        notice_id: str,
        version: int | None = None,
        signature: str | None = None,
        once: Once | None = None,
    ) -> dict[str, Any]:
        """Cancel: a new version (state `cancelled`) that the addressees acknowledge.

        The acknowledgements of the cancelling version are the issuer's proof that the
        cancellation reached each addressee; its conflicts are resolved at once.
        """
        require_party(who, "cancel notices")

        def run(tx: Tx) -> dict[str, Any]:
            row = _own_notice(tx.repo, who, notice_id)
            if row["state"] != "active":
                raise StateConflict(f"notice {notice_id} is already {row['state']}")
            if version is not None and version != row["version"]:
                raise StaleVersion(
                    f"the current version is {row['version']}, not {version}",
                    current_version=row["version"],
                )
            signed = self.keys.check(
                tx,
                who,
                statements.cancel_statement(who.party_id, notice_id, row["version"]),
                SignedRequest(signature),
            )
            new_version = row["version"] + 1
            content = {k: row[k] for k in _CONTENT_KEYS}
            content["ack_deadline"] = _future_deadline(tx, row["ack_deadline"])
            tx.repo.acks.supersede(notice_id)
            recipients = self._expand(addressees_of(row), row["issuer"])
            ack_rows = self._store_version(
                tx,
                notice_id,
                row["issuer"],
                content,
                new_version,
                recipients,
                state="cancelled",
                signed=signed,
            )
            changes = {"state": "cancelled", "current_version": new_version, "updated_at": tx.ts}
            tx.repo.notices.update(notice_id, **changes)
            done = {
                **row,
                **content,
                "state": "cancelled",
                "version": new_version,
                "updated_at": tx.ts,
                "version_created_at": tx.ts,
            }
            tx.emit_to(
                self._readers(recipients),
                NOTICE_CANCELLED,
                NoticeCancelled(
                    id=notice_id,
                    issuer=row["issuer"],
                    version=new_version,
                    cancelled_version=row["version"],
                    kind=row["kind"],
                    title=row["title"],
                    state="cancelled",
                    ack_deadline=content["ack_deadline"],
                ),
            )
            for subscriber in self.on_version:  # issue 15: the units that had it learn of it
                subscriber(tx, done, recipients, recipients, ())
            self.probes.withdrawn(
                tx, who.party_id, tx.repo.conflicts.open_of(notice_id), {}, "cancel"
            )
            self.conflicts.resolve_all(
                tx, notice_id, "cancelled", {notice_id: done}, version=new_version
            )
            self.index.drop(tx, notice_id)
            return notice_view(done, acks=ack_rows)

        return await self.writer.run(keyed(once, run))

    def _expire(self, tx: Tx, row: Row) -> None:
        """Every volume has ended: no more acks due, conflicts resolved, out of the index."""
        notice_id = row["id"]
        tx.repo.notices.update(notice_id, state="expired", updated_at=tx.ts)
        self.ledger.log(
            tx, "notice_expired", notice_id=notice_id, version=row["version"], issuer=row["issuer"]
        )
        tx.repo.acks.supersede(notice_id)
        targets = [row["issuer"], *self._readers(self._expand(addressees_of(row), row["issuer"]))]
        tx.emit_to(
            targets,
            NOTICE_EXPIRED,
            NoticeExpired(
                id=notice_id,
                issuer=row["issuer"],
                version=row["version"],
                kind=row["kind"],
                title=row["title"],
                state="expired",
            ),
        )
        self.conflicts.resolve_all(
            tx, notice_id, "expired", {notice_id: {**row, "state": "expired"}}
        )
        self.index.drop(tx, notice_id)

    def expire_due(self, tx: Tx) -> int:
        ids = tx.repo.notices.expired_ids(tx.ts)
        for row in tx.repo.notices.get_many(ids):
            self._expire(tx, row)
        return len(ids)

    # -- dry run ---------------------------------------------------------------
    async def check(self, who: Principal, body: Any) -> dict[str, Any]:
        """The conflicts a notice would have now; stores nothing and tells no one."""
        require_party(who, "notify")
        parsed = None
        if isinstance(body, dict) and not is_large(body):
            parsed = await self.parsers.parse(body.get("volumes"), grain_asked(body))
        result, probed = await asyncio.to_thread(self._check, who, body, parsed)
        # a dry run touching a notice not addressed to the prober is a probe of it
        over = await self.probes.checked(who, probed)
        if over:
            for view in result["conflicts"]:
                if view["other"]["issuer"] in over:
                    existence_only(view)
            result["probe_budget"] = {
                "exceeded_for": sorted(over),
                "per_issuer_per_day": self.settings.probe_budget_per_day,
                "answered_at": "existence",
            }
        return result

    def _check(
        self, who: Principal, body: Any, parsed: ParsedVolumes | None
    ) -> tuple[dict[str, Any], list[tuple[str, int, str, dict[str, Any]]]]:
        body, _ = take_signature(body, nonce=True)
        doc = self._parse(who, body, amendment=False, parsed=parsed)
        shape = _shape("check-" + secrets.token_hex(6), who.party_id, doc, 1)
        if self.index.catch_up is not None:  # issue 14: what another process committed
            self.index.catch_up()
        with self.index.reading() as index:
            found = index.query(shape)
            checked = len(index)
            hidden = []
            for c in found:
                other = index.get(c.b.id)
                hidden.append(other is not None and not sees(who.party_id, other))
        views = self.conflicts.would_open(who, shape, found, format_ts(self.clock()))
        probed = [
            (c.b.id, c.b.version, c.b.issuer, v)
            for c, v, h in zip(found, views, hidden, strict=True)
            if h
        ]
        return {"conflicts": views, "checked_against": checked}, probed

    # -- reads (audited) -------------------------------------------------------
    def _read(self, fn: Callable[[Repo], Any]) -> Any:
        with self.store.read() as repo:
            return fn(repo)

    async def _audit(self, who: Principal, found: list[Row], via: str) -> None:
        """Record coordinate reads by non-issuers.

        A read is not a delivery: an answer written to a socket is not a client's
        confirmation (deliveries are recorded by `Events.confirm`, or by the
        acknowledgement itself)."""
        foreign = [r for r in found if r["issuer"] != who.party_id]
        if not foreign:
            return
        await self.writer.run(lambda tx: self.record_reads(tx, who, foreign, via))

    @staticmethod
    def record_reads(tx: Tx, who: Principal, found: list[Row], via: str) -> None:
        """Inside a change: `who` was shown the coordinates of these notice versions."""
        tx.repo.reads.record(
            [
                {
                    "notice_id": r["id"],
                    "version": r["version"],
                    "party_id": who.party_id,
                    "via": via,
                    "read_at": tx.ts,
                }
                for r in found
            ]
        )

    async def get(self, who: Principal, notice_id: str) -> dict[str, Any]:
        row = await asyncio.to_thread(self._read, lambda r: visible_notice(r, who, notice_id))
        await self._audit(who, [row], "get")
        view: dict[str, Any] = await asyncio.to_thread(
            self._read, lambda r: self._view(r, who, notice_id)
        )
        return view

    def _view(self, repo: Repo, who: Principal, notice_id: str) -> dict[str, Any]:
        row = visible_notice(repo, who, notice_id)
        own = who.is_admin or row["issuer"] == who.party_id
        if own:
            acks = repo.acks.of_version(notice_id, row["version"])
        else:
            mine = repo.acks.get(notice_id, row["version"], who.party_id)
            acks = [mine] if mine else []
        view = notice_view(row, acks=acks)
        if own:
            view["conflicts"] = views_in(repo, who, repo.conflicts.open_of(notice_id))
        return view

    async def listing(
        self,
        who: Principal,
        *,
        states: list[str] | None,
        issuer: str | None,
        limit: int,
        after: str | None,
    ) -> dict[str, Any]:
        found: list[Row] = await asyncio.to_thread(
            self._read,
            lambda repo: repo.notices.find(
                visible_to=None if who.is_admin else who.party_id,
                states=states,
                issuer=issuer,
                limit=limit,
                after_id=after,
            ),
        )
        await self._audit(who, found, "list")
        return {
            "notices": [notice_view(r) for r in found],
            "next_after": found[-1]["id"] if len(found) == limit else None,
        }

    async def reads(self, who: Principal, notice_id: str) -> dict[str, Any]:
        def read(repo: Repo) -> list[Row]:
            row = visible_notice(repo, who, notice_id)
            if not who.is_admin and row["issuer"] != who.party_id:
                raise Forbidden("only the issuer sees who read a notice")
            return repo.reads.of_notice(notice_id)

        found: list[Row] = await asyncio.to_thread(self._read, read)
        return {
            "reads": [
                {
                    "party": r["party_id"],
                    "version": r["version"],
                    "read_at": r["read_at"],
                    "via": r["via"],
                }
                for r in found
            ]
        }
