"""`Hub`: the service facade the HTTP API, the CLI and the benchmarks use.

It builds the parts and starts and stops them; every use case is one awaitable call
(`await hub.notify(who, body)`) on the part that owns it. The parts, each given only
the collaborators it needs:

    Writer        the one writer: group commit, transactions, in-memory undo
    NoticeIndex   the strategic index of active notices (changed inside changes)
    Parties       directory, registration, tokens
    Ledger        the Merkle log every change is appended to; heads, proofs, evidence
    Witnesses     C2SP checkpoints of the log and the parties' cosignatures on them
    Provenance    the ledger entry (`ledger_index`) of each served object
    PartyKeys     party keys and the signatures they make
    Conflicts     conflicts opened, updated and resolved by notice changes
    Acks          acknowledgements, deliveries, escalation of missed deadlines
    Notices       notify, amend, cancel, expire, dry run, audited reads
    Messages      the hotline, with receipts
    Events        the outbox: polls, live streams, hand-overs
    Tactical      tracks, screening, alerts
    Units         a party's units: their tokens, areas and kinds (issue 15)
    UnitDeliveries  notices routed to units, per-unit delivery, escalation (issue 15)

At start-up the tables are held to the log (`crosscheck.table_problems`): the hub refuses
to start when they disagree, unless told otherwise (and then logs that it was).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from collections.abc import AsyncGenerator, Callable
from datetime import datetime
from typing import Any

from deconflict.config import Settings
from deconflict.geo import Limits
from deconflict.service.acks import Acks
from deconflict.service.auth import Principal, RateLimiter
from deconflict.service.broker import Broker
from deconflict.service.conflicts import Conflicts
from deconflict.service.crosscheck import LedgerMismatchError, table_problems
from deconflict.service.errors import Forbidden, Unauthorized
from deconflict.service.follow import Follower
from deconflict.service.idempotency import Idempotency, Once
from deconflict.service.index import NoticeIndex
from deconflict.service.keys import PartyKeys
from deconflict.service.ledger import Ledger
from deconflict.service.ledger_log import HubLedger
from deconflict.service.messages import Messages
from deconflict.service.notices import Notices
from deconflict.service.parsers import VolumeParsers
from deconflict.service.parties import Parties
from deconflict.service.printable import Printable, catalogue, choose_language, render_pdf
from deconflict.service.probes import Probes
from deconflict.service.provenance import Provenance
from deconflict.service.relays import Relays
from deconflict.service.stream import Events, Page
from deconflict.service.tactical import Tactical
from deconflict.service.track_share import TrackShare
from deconflict.service.tx import Tx
from deconflict.service.unit_deliveries import UnitDeliveries
from deconflict.service.units import Units
from deconflict.service.witness import Witnesses
from deconflict.service.writer import Writer
from deconflict.store import Row, Store
from deconflict.store.factory import open_store
from deconflict.strategic import KINDS, BufferPolicy, Buffers
from deconflict.utc import format_ts, utcnow

__all__ = ["Hub"]

log = logging.getLogger("deconflict.service")
Doc = dict[str, Any]


class Hub:
    def __init__(
        self,
        settings: Settings,
        store: Store | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.store = store if store is not None else open_store(settings)
        # a second process can open the same store again only from the settings
        self._reopenable = store is None
        self.clock = clock
        self.broker = Broker()
        self.writer = Writer(
            self.store, clock, batch_max=settings.write_batch_max, on_woken=self.broker.publish
        )
        policy = BufferPolicy(
            default=Buffers(
                settings.lateral_buffer_m, settings.vertical_buffer_m, settings.time_buffer_s
            )
        )
        self.index = NoticeIndex(policy, self.writer.lock)
        self.idempotency = Idempotency(self.store, settings.idempotency_ttl_s, clock)
        self.parsers = VolumeParsers(
            settings.volume_parser_processes,
            Limits(max_vertices=settings.max_vertices, max_volumes=settings.max_volumes_per_notice),
            # the covers the index will ask for: a volume's own, and the query's reach
            reaches=sorted({0.0, *(policy.widest_for(k).lateral_m for k in KINDS)}),
        )
        self.parties = Parties(
            self.writer,
            RateLimiter(settings.rate_per_s, settings.rate_burst),
            settings.admin_token,
        )
        self.ledger = Ledger(
            self.writer,
            self.store,
            HubLedger(settings.hub_key_path),
            clock,
            enabled=settings.ledger_enabled,
        )
        self.witnesses = Witnesses(self.writer, self.store, self.ledger.tree, clock)  # issue 12
        self.provenance = Provenance(self.store)  # issue 12: served objects name their entry
        # The registration itself is logged first, then the notices it is owed.
        self.parties.on_registered.append(self._log_registration)
        self.keys = PartyKeys(self.writer, self.store, self.parties, self.ledger)
        self.conflicts = Conflicts(self.store, self.ledger)
        self.acks = Acks(settings, self.writer, self.store, self.ledger, self.keys)
        self.probes = Probes(settings, self.writer, self.store, clock)
        self.notices = Notices(
            settings,
            writer=self.writer,
            store=self.store,
            index=self.index,
            parties=self.parties,
            parsers=self.parsers,
            ledger=self.ledger,
            keys=self.keys,
            conflicts=self.conflicts,
            acks=self.acks,
            probes=self.probes,
            clock=clock,
        )
        # issue 15: relayed parties; the relays read and owe what is addressed through them
        self.relays = Relays(
            settings,
            writer=self.writer,
            store=self.store,
            parties=self.parties,
            ledger=self.ledger,
            keys=self.keys,
            acks=self.acks,
        )
        self.notices.also_reading = self.relays.also_reading
        self.printable = Printable(self.writer, self.store, settings.paper_checks_per_minute)
        self.notices.on_stored.append(self.relays.on_version)
        self.messages = Messages(
            settings, self.writer, self.store, self.parties, self.ledger, self.relays
        )
        self._stop = threading.Event()
        self.events = Events(
            settings,
            writer=self.writer,
            store=self.store,
            broker=self.broker,
            notices=self.notices,
            acks=self.acks,
            messages=self.messages,
            closing=self._stop.is_set,
        )
        # issue 15: units; every notice version stored is routed to them in its change
        self.units = Units(settings, writer=self.writer, store=self.store, ledger=self.ledger)
        self.unit_deliveries = UnitDeliveries(
            settings,
            writer=self.writer,
            store=self.store,
            index=self.index,
            ledger=self.ledger,
            events=self.events,
            units=self.units,
        )
        self.notices.on_version.append(self.unit_deliveries.route)
        self.tactical = Tactical(
            settings.tactical,
            writer=self.writer,
            store=self.store,
            index=self.index,
            ledger=self.ledger,
            clock=clock,
        )
        self._sweeper: threading.Thread | None = None
        self._tactical_started = False
        self.startup: dict[str, Any] = {}  # what start-up cost (/healthz)
        # issue 14: several processes on one database
        self.follower = Follower(
            self.store,
            self.writer,
            self.index,
            self.parties,
            self.ledger,
            clock,
            interval_s=settings.follow_interval_s,
            lease_s=settings.leader_lease_s,
            keep_s=settings.changes_keep_s,
        )
        self.follower.reloads["unit"] = self.units.load  # issue 15: tokens, areas, states
        self.ledger.may_sign = lambda: self.follower.leading
        if self.store.shared:  # a dry run sees what another process committed before it
            self.index.catch_up = self.follower.follow
        # Live tracks across processes: every process holds the whole picture, the
        # leader screens it, and only the leader's alert writes count.
        self.track_share: TrackShare | None = None
        if self.store.shared:
            self.track_share = TrackShare(
                self.store,
                self.tactical,
                self.follower.holder,
                interval_s=settings.track_share_interval_s,
            )
            self.tactical.share(
                publish=self.track_share.offer,
                leads=lambda: self.follower.leading,
                fence=lambda tx: self.follower.holds_lease(tx.repo, tx.ts),
            )

    def _log_registration(self, tx: Tx, party_id: str, name: str) -> None:
        via = self.parties.relay_of(party_id)  # issue 15
        extra = {"reachable_via": via} if via else {}
        self.ledger.log(tx, "party_registered", party=party_id, name=name, **extra)

    # -- lifecycle -----------------------------------------------------------
    def start(
        self,
        *,
        sweep: bool = True,
        tactical: bool = False,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        """Migrate, rebuild what lives in memory, start the writer and background work.

        `sweep`: escalation, expiry and head signing; `tactical`: the screening loop;
        `loop`: the event loop the parser processes answer through.
        """
        self._stop.clear()
        if loop is not None:
            self.parsers.start(loop)  # they import while the index is rebuilt
        try:
            self.store.migrate()
            self._load()
        except BaseException:  # e.g. the tables disagree with the log: leave nothing running
            self.parsers.close()
            raise
        self.writer.start()
        self.follower.start()
        if sweep:
            self._sweeper = threading.Thread(
                target=self._sweep_loop, name="hub-sweeper", daemon=True
            )
            self._sweeper.start()
            if self.settings.ledger_head_interval_s > 0:
                self.ledger.start_heads(self.settings.ledger_head_interval_s)
        if tactical:
            self.tactical.start()
            if self.track_share is not None:
                self.track_share.start()
            self._tactical_started = True

    def close(self) -> None:
        self._stop.set()
        if self._tactical_started:
            if self.track_share is not None:
                self.track_share.close()
            self.tactical.close()
            self._tactical_started = False
        self.ledger.close()
        if self._sweeper is not None:
            self._sweeper.join(timeout=10)
            self._sweeper = None
        self.follower.close()
        self.writer.close()
        self.parsers.close()
        self.store.close()

    def __enter__(self) -> Hub:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def closing(self) -> bool:
        return self._stop.is_set()

    def _load(self) -> None:
        """Rebuild what lives in memory (party cache, strategic index, ledger border)."""
        started, cpu = time.perf_counter(), time.process_time()
        with self.store.read() as repo:
            # Issue 14: a process joining a running hub (another holds an unexpired lead)
            # relies on the check the running hub made when it started; the check is for
            # tables edited while no hub ran (crosscheck.py), and reads the whole log.
            # Asked first, against the clock of now: the read's snapshot is taken by its
            # first statement, and after the index load a lease renewed every few seconds
            # would look expired (at 100k notices every join ran the whole check).
            # A lease expiring further ahead than any renewal writes is no running hub:
            # an operator who edited it in would otherwise skip the check, unlogged.
            holder, expires = repo.coordination.leader()
            now = self.clock()
            live = format_ts(now) < expires <= self.follower.implausible_after(now)
            joining = holder != "" and live
            if holder != "" and not live and expires > format_ts(now):
                log.warning(
                    "the leader's lease (%s) runs to %s, further ahead than any hub renews "
                    "it: not a running hub; checking the tables against the log",
                    holder,
                    expires,
                )
            self.writer.generation = repo.coordination.generation()
            self.parties.load(repo)
            self.units.load(repo)
            self.index.load(repo, self.settings.index_load_processes, self._store_prepared)
            self.ledger.open(repo)
            self.index.load_seconds = time.perf_counter() - started
            index_cpu = time.process_time() - cpu
            checked = self.settings.ledger_enabled and not joining
            again = self.settings if self._reopenable else None
            problems = table_problems(repo, again) if checked else []
        self.startup = {
            "index_s": round(self.index.load_seconds, 3),
            # this process's CPU time (all its threads; on a shared machine the wall
            # time above also counts the waits for a core)
            "index_cpu_s": round(index_cpu, 3),
            "crosscheck_s": round(time.perf_counter() - started - self.index.load_seconds, 3),
            "crosschecked": checked,
        }
        if problems:
            self._on_mismatch(problems)
        log.info(
            "loaded %d parties and %d active notices in %.1f s (%s)",
            len(self.parties),
            len(self.index),
            self.index.load_seconds,
            "tables checked against the log" if checked else "joined a running hub",
        )

    def _store_prepared(self, found: list[Row]) -> None:
        """Prepared forms the index derived at start-up, stored for the next one (before
        the writer runs: one transaction of their own)."""
        with self.store.write() as repo:
            repo.notices.replace_prepared(found)

    def _on_mismatch(self, problems: list[str]) -> None:
        """The tables disagree with the log (issue 12): refuse, or start and log it."""
        if not self.settings.ledger_start_despite_mismatch:
            raise LedgerMismatchError(problems)
        for p in problems:
            log.error("ledger mismatch: %s", p)
        log.warning("starting despite %d ledger mismatch(es), as configured", len(problems))

        def run(tx: Tx) -> None:
            self.ledger.log(tx, "hub_started_despite_mismatch", differences=len(problems))

        self.writer.submit(run)

    # -- the background sweep ------------------------------------------------
    def _sweep_loop(self) -> None:
        while not self._stop.wait(self.settings.sweep_interval_s):
            if not self.follower.leading:  # another process on the database sweeps
                continue
            try:
                self.sweep(fenced=True)
            except Exception:  # a failed sweep is retried next tick, never fatal
                log.exception("sweep failed")

    def sweep(self, *, fenced: bool = False) -> dict[str, int]:
        """Escalate overdue acknowledgements and expire ended notices.

        All state is in the database, so a restarted hub picks up exactly where
        the previous one stopped; each escalation is sent once. `fenced`: only if this
        process still holds the leader's lease when the batch runs.
        """

        def run(tx: Tx) -> dict[str, int]:
            if fenced and not self.follower.holds_lease(tx.repo, tx.ts):
                return {
                    "overdue": 0,
                    "relay_overdue": 0,
                    "units_missed": 0,
                    "expired": 0,
                    "changes_pruned_below": 0,
                    "idempotency_keys_expired": 0,
                }
            return {
                "overdue": self.acks.escalate_due(tx),
                "relay_overdue": self.relays.escalate_due(tx),  # issue 15
                "units_missed": self.unit_deliveries.escalate_due(tx),  # issue 15
                "expired": self.notices.expire_due(tx),
                "changes_pruned_below": self.follower.prune(tx.repo),  # issue 14
                "idempotency_keys_expired": self.idempotency.prune(tx),  # issue 14
            }

        return self.writer.submit(run)

    async def ready(self) -> dict[str, Any]:
        def last_seq() -> int:
            with self.store.read() as repo:
                return repo.events.last_seq()

        return {
            "status": "ok",
            "store": self.store.describe(),
            "parties": len(self.parties),
            "active_notices": len(self.index),
            "last_event_id": await asyncio.to_thread(last_seq),
            "index_load_s": round(self.index.load_seconds, 3),
            "index_derived": self.index.derived,
            "startup": self.startup,
            "generation": self.writer.generation,
            "leader": self.follower.leading,
            "write_batches": dict(self.writer.stats),
            "volume_parsers": self.parsers.status(),
            **({"track_share": self.track_share.status()} if self.track_share else {}),
        }

    # -- the use cases, one awaitable each -----------------------------------
    # Principals (cheap and in memory: no await).
    def authenticate(self, token: str | None) -> Principal:
        try:
            return self.parties.authenticate(token)
        except Unauthorized:
            if token and self.units.owns_token(token):  # issue 15
                raise Forbidden(
                    "this is a unit's token: a unit uses only the /v1/unit/ endpoints"
                ) from None
            raise

    def check_rate(self, who: Principal) -> None:
        self.parties.check_rate(who)

    async def register_party(self, who: Principal, body: Any) -> Doc:
        return await self.parties.register(who, body)

    async def list_parties(self, who: Principal) -> Doc:
        return {"parties": self.parties.listing()}

    # Writes sent with an Idempotency-Key (issue 14; `service.idempotency`).
    def once(
        self, who: Principal, values: list[str], operation: str, target: str, request: Any
    ) -> Once | None:
        """The request's `Idempotency-Key` (the header's values), checked; None: none sent.

        Pass it to the write (`notify(..., once)`); `once.replayed` then tells whether the
        answer is the stored one of an earlier attempt."""
        return self.idempotency.once(who, values, operation, target, request)

    # Notices and acknowledgements.
    async def notify(self, who: Principal, body: Any, once: Once | None = None) -> Doc:
        found = await self.idempotency.replayed(once) or await self.notices.notify(who, body, once)
        await self.provenance.notices([found], _party(who))  # the entries it just created
        return self._relay_notes(who, found)

    async def amend(
        self, who: Principal, notice_id: str, body: Any, once: Once | None = None
    ) -> Doc:
        found = await self.idempotency.replayed(once) or await self.notices.amend(
            who, notice_id, body, once
        )
        await self.provenance.notices([found], _party(who))
        return self._relay_notes(who, found)

    def _relay_notes(self, who: Principal, doc: Doc, addressees: Any = None) -> Doc:
        """Issue 15: tell the issuer which addressees a relay reaches (and reads for)."""
        notes = self.relays.notes(
            doc.get("addressees") if addressees is None else addressees, who.party_id
        )
        if notes:
            doc["relayed"] = notes
        return doc

    async def cancel(
        self,
        who: Principal,
        notice_id: str,
        version: int | None,
        signature: str | None,
        once: Once | None = None,
    ) -> Doc:
        found = await self.idempotency.replayed(once) or await self.notices.cancel(
            who, notice_id, version, signature, once
        )
        await self.provenance.notices([found], _party(who))
        return found

    async def check(self, who: Principal, body: Any) -> Doc:
        found = await self.notices.check(who, body)
        return self._relay_notes(who, found, body.get("addressees"))

    # Relayed parties (issue 15).
    async def record_relay_step(self, who: Principal, notice_id: str, body: Any) -> Doc:
        return await self.relays.record(who, notice_id, body)

    async def relay_chain(self, who: Principal, notice_id: str) -> Doc:
        return await self.relays.chain(who, notice_id)

    async def relay_owed(self, who: Principal) -> Doc:
        return await self.relays.owed(who)

    async def record_message_relay_step(self, who: Principal, message_id: str, body: Any) -> Doc:
        return await self.relays.record_message(who, message_id, body)

    async def message_relay_chain(self, who: Principal, message_id: str) -> Doc:
        return await self.relays.message_chain(who, message_id)

    # The printable notice (issue 15).
    async def print_notice(
        self,
        who: Principal,
        notice_id: str,
        fmt: str,
        lang: str | None = None,
        accept_language: str | None = None,
    ) -> tuple[bytes, str]:
        """The current version as printed text or PDF (an audited read), and its code.

        In `lang` (en, ru, ar), else the first of `accept_language` that is printed, else
        English; an unknown `lang` is refused before anything is read.
        """
        language = choose_language(lang, accept_language)
        found = await self.get_notice(who, notice_id)
        issuer = self.parties.directory.get(found["issuer"])
        name = str(issuer["name"]) if issuer else found["issuer"]
        text, code = await self.printable.issue(
            found, name, self.relays.relays_for(found["addressees"]), language
        )
        if fmt == "pdf":
            rtl = catalogue(language)["_direction"] == "rtl"
            return await asyncio.to_thread(functools.partial(render_pdf, text, rtl=rtl)), code
        return text.encode("utf-8"), code

    async def verify_paper(self, client: str, body: Any) -> Doc:
        return await self.printable.verify(client, body)

    async def get_notice(self, who: Principal, notice_id: str) -> Doc:
        found = await self.notices.get(who, notice_id)
        await self.provenance.notices([found], _party(who))
        return found

    async def list_notices(
        self,
        who: Principal,
        *,
        states: list[str] | None,
        issuer: str | None,
        limit: int,
        after: str | None,
    ) -> Doc:
        found = await self.notices.listing(
            who, states=states, issuer=issuer, limit=limit, after=after
        )
        await self.provenance.notices(found["notices"])
        return found

    async def notice_reads(self, who: Principal, notice_id: str) -> Doc:
        return await self.notices.reads(who, notice_id)

    async def list_probes(self, who: Principal, *, limit: int = 500, after: int = 0) -> Doc:
        return await self.probes.listing(who, limit=limit, after=after)

    async def acknowledge(
        self, who: Principal, notice_id: str, body: Any, once: Once | None = None
    ) -> Doc:
        found = await self.idempotency.replayed(once) or await self.acks.acknowledge(
            who, notice_id, body, once
        )
        await self.provenance.acks([found])
        return found

    async def list_acks(
        self, who: Principal, *, role: str, states: list[str] | None, include_superseded: bool
    ) -> Doc:
        found = await self.acks.listing(
            who, role=role, states=states, include_superseded=include_superseded
        )
        await self.provenance.acks(found["acks"])
        return found

    # Conflicts.
    async def list_conflicts(
        self, who: Principal, *, states: list[str] | None, notice_id: str | None
    ) -> Doc:
        found = await self.conflicts.listing(who, states=states, notice_id=notice_id)
        await self.provenance.conflicts(found["conflicts"], _party(who))
        return found

    async def get_conflict(self, who: Principal, conflict_id: str) -> Doc:
        found = await self.conflicts.get(who, conflict_id)
        await self.provenance.conflicts([found], _party(who))
        return found

    # The hotline.
    async def send_message(self, who: Principal, body: Any, once: Once | None = None) -> Doc:
        found = await self.idempotency.replayed(once) or await self.messages.send(who, body, once)
        await self.provenance.messages([found], _party(who))
        notes = self.relays.notes(found["to"], who.party_id)  # issue 15: who else reads it
        if notes:
            found["relayed"] = notes
        return found

    async def list_messages(self, who: Principal, *, box: str) -> Doc:
        found = await self.messages.listing(who, box=box)
        await self.provenance.messages(found["messages"], _party(who))
        return found

    async def get_message(self, who: Principal, message_id: str) -> Doc:
        found = await self.messages.get(who, message_id)
        await self.provenance.messages([found], _party(who))
        return found

    async def mark_read(self, who: Principal, message_id: str) -> Doc:
        found = await self.messages.mark_read(who, message_id)
        await self.provenance.messages([found], _party(who))
        return found

    # Events.
    async def poll_events(self, who: Principal, after: int, limit: int) -> Doc:
        return await self.events.poll(who, after, limit)

    async def check_event_cursor(
        self, who: Principal, after: int, field: str, location: str
    ) -> None:
        await asyncio.to_thread(self.events.check_cursor, who, after, field, location)

    def stream_events(self, who: Principal, after: int) -> AsyncGenerator[Page, None]:
        return self.events.stream(who, after)

    async def confirm_cursor(self, who: Principal, after: int) -> Doc:
        """A stream's cursor: the client has every event it was sent up to `after`."""
        return await self.events.confirm(who, after, via="cursor", strict=False)

    async def confirm_events(self, who: Principal, body: Any) -> Doc:
        """The party's client has the events up to `body["up_to"]`: record deliveries."""
        return await self.events.confirm_request(who, body)

    # The ledger and party keys.
    async def ledger_key(self) -> Doc:
        return self.ledger.key()

    async def ledger_head(self) -> Doc:
        return await self.ledger.head()

    async def ledger_heads(self, limit: int) -> Doc:
        return await self.ledger.heads(limit)

    async def ledger_entries(self, who: Principal, start: int, end: int | None) -> Doc:
        return await self.ledger.entries(who, start, end)

    async def inclusion_proof(self, index: int, tree_size: int | None) -> Doc:
        return await self.ledger.inclusion_proof(index, tree_size)

    async def consistency_proof(self, first: int, second: int | None) -> Doc:
        return await self.ledger.consistency_proof(first, second)

    async def evidence(self, who: Principal, notice_id: str) -> Doc:
        return await self.ledger.evidence(who, notice_id)

    # Witnessing (issue 12): C2SP checkpoints and the parties' cosignatures.
    async def ledger_checkpoint(self, tree_size: int | None) -> Doc:
        return await self.witnesses.checkpoint(tree_size)

    async def add_cosignature(self, who: Principal, body: Any) -> Doc:
        return await self.witnesses.add_cosignature(who, body)

    async def set_party_key(self, who: Principal, party_id: str, body: Any) -> Doc:
        return await self.keys.set_key(who, party_id, body)

    async def party_keys(self, who: Principal, party_id: str) -> Doc:
        return await self.keys.keys_of(who, party_id)

    # Tactical.
    async def report_tracks(self, who: Principal, body: Any) -> Doc:
        return await self.tactical.ingest(who, body)

    async def my_tracks(self, who: Principal) -> Doc:
        return self.tactical.my_tracks(who)

    async def list_alerts(
        self, who: Principal, *, states: list[str] | None, kind: str | None, limit: int
    ) -> Doc:
        found = await self.tactical.list_alerts(who, states=states, kind=kind, limit=limit)
        await self.provenance.alerts(found["alerts"])
        return found

    async def get_alert(self, who: Principal, alert_id: str) -> Doc:
        found = await self.tactical.get_alert(who, alert_id)
        await self.provenance.alerts([found])
        return found

    async def ack_alert(self, who: Principal, alert_id: str, body: Any) -> Doc:
        found = await self.tactical.ack_alert(who, alert_id, body)
        await self.provenance.alerts([found])
        return found

    # Units (issue 15): the party's side, with a party's token.
    async def create_unit(self, who: Principal, body: Any) -> Doc:
        return await self.units.create(who, body)

    async def list_units(self, who: Principal) -> Doc:
        return await self.units.listing(who)

    async def get_unit(self, who: Principal, unit_id: str) -> Doc:
        return await self.units.get(who, unit_id)

    async def update_unit(self, who: Principal, unit_id: str, body: Any) -> Doc:
        return await self.units.update(who, unit_id, body)

    async def disable_unit(self, who: Principal, unit_id: str) -> Doc:
        return await self.units.disable(who, unit_id)

    async def rotate_unit_token(self, who: Principal, unit_id: str) -> Doc:
        return await self.units.rotate_token(who, unit_id)

    async def notice_units(self, who: Principal, notice_id: str) -> Doc:
        return await self.unit_deliveries.notice_units(who, notice_id)

    async def list_unit_deliveries(self, who: Principal, *, states: list[str] | None) -> Doc:
        return await self.unit_deliveries.deliveries(who, states=states)

    # Units: the unit's own side, with the unit's token.
    def authenticate_unit(self, token: str | None) -> Principal:
        if not token:
            raise Unauthorized("missing bearer token")
        try:
            who = self.units.authenticate(token)
        except Unauthorized as refused:
            try:
                self.parties.authenticate(token)
            except Unauthorized:
                raise refused from None  # the unit's reason (e.g. disabled), not the party's
            raise Forbidden(
                "this is a party's token: /v1/unit/ takes a unit's token (POST /v1/units "
                "creates one)"
            ) from None
        self.parties.rate.take(who.outbox)
        return who

    async def unit_whoami(self, who: Principal) -> Doc:
        return await self.unit_deliveries.whoami(who)

    async def unit_notices(self, who: Principal) -> Doc:
        return await self.unit_deliveries.unit_notices(who)

    async def unit_notice(self, who: Principal, notice_id: str) -> Doc:
        return await self.unit_deliveries.unit_notice(who, notice_id)

    async def unit_acknowledge(
        self, who: Principal, notice_id: str, body: Any, once: Once | None = None
    ) -> Doc:
        return await self.idempotency.replayed(once) or await self.unit_deliveries.acknowledge(
            who, notice_id, body, once
        )

    async def unit_confirm(self, who: Principal, body: Any) -> Doc:
        return await self.unit_deliveries.confirm_request(who, body)

    async def unit_poll(self, who: Principal, after: int, limit: int) -> Doc:
        return await self.unit_deliveries.poll(who, after, limit)

    async def unit_confirm_cursor(
        self, who: Principal, after: int, field: str, location: str
    ) -> None:
        """A unit resuming after N received every event up to N: that confirms them."""
        if after > 0:
            await self.unit_deliveries.confirm(who, after, field, location)

    def unit_stream(self, who: Principal, after: int) -> AsyncGenerator[Page, None]:
        return self.unit_deliveries.stream(who, after)


def _party(who: Principal) -> str | None:
    """The party whose side of a conflict (and receipts) a view shows; None: the operator."""
    return None if who.is_admin else who.party_id
