"""The hub's shared machinery: lifecycle, the write path, parties and tokens.

Every change goes through `_write`, the single write funnel, which uses
**group commit**: callers queue their change and wait; one writer thread takes
every queued change, runs each in its own SAVEPOINT inside one store
transaction, COMMITs once (one fsync for the whole batch) and only then
answers them all.

- A change that fails (a business error, or any exception) is rolled back to
  its savepoint; the others of the batch are unaffected and it gets its error.
- A later change of a batch sees the earlier ones: in the store (same
  transaction) and in memory. The strategic index and the party cache are
  changed as each change runs (`Tx.on_undo` records how to revert it), so two
  conflicting notices submitted together are compared with each other. The
  index is reverted when a change's savepoint is rolled back, and the whole
  batch's changes when the COMMIT fails.
- Events are buffered per change and appended to the outbox in one statement
  per batch; stream wake-ups, cache updates and answers happen only after the
  COMMIT, so nothing is announced that could still be rolled back.
- The writer holds the hub's lock for the whole batch (COMMIT included), so a
  dry-run check never sees an uncommitted notice in the index.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import multiprocessing
import os
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar, cast

from deconflict.config import Settings
from deconflict.geo import Limits, parse_volumes
from deconflict.service.auth import (
    ADMIN,
    PARTY_ID_RE,
    Principal,
    RateLimiter,
    hash_token,
    new_token,
    split_token,
    tokens_equal,
)
from deconflict.service.broker import Broker
from deconflict.service.errors import Forbidden, Invalid, StateConflict, Unauthorized
from deconflict.service.parsers import VolumeParsers
from deconflict.store import Repo, Row, SqliteStore, Store, format_ts
from deconflict.strategic import KINDS, BufferPolicy, Buffers, NoticeShape, StrategicIndex

__all__ = ["HubCore", "Tx", "must", "utcnow"]

log = logging.getLogger("deconflict.service")
T = TypeVar("T")
PROTECTED_SITE_PRIORITY = 1_000_000
# Stored notices were validated against the limits in force when they came in;
# re-reading them must not fail because an operator lowered a limit since.
_STORED = Limits(
    max_vertices=10**9, max_footprint_km=40_000.0, max_window_s=1e12, max_volumes=10**9
)


def must(row: T | None) -> T:
    """A row the current transaction has just written or locked; its absence is a bug."""
    if row is None:
        raise RuntimeError("row vanished inside its own transaction")
    return row


def utcnow() -> datetime:
    return datetime.now(UTC)


class Tx:
    """One change as the use cases see it: a savepoint inside the batch's transaction."""

    def __init__(self, repo: Repo, now: datetime) -> None:
        self.repo = repo
        self.now = now
        self.ts = format_ts(now)
        self.woken: set[str] = set()
        self.after_commit: list[Callable[[], None]] = []
        self.events: list[Row] = []  # appended to the outbox with the batch
        self.undo: list[Callable[[], None]] = []  # reverts in-memory changes, newest last

    def emit(self, party_id: str, type_: str, data: dict[str, Any]) -> None:
        self.woken.add(party_id)
        self.events.append(
            {"party_id": party_id, "type": type_, "created_at": self.ts, "data": json.dumps(data)}
        )

    def emit_to(self, party_ids: Iterable[str], type_: str, data: dict[str, Any]) -> None:
        """The same event to several parties (serialised once)."""
        text = None
        for party_id in party_ids:
            if text is None:
                text = json.dumps(data)
            self.woken.add(party_id)
            self.events.append(
                {"party_id": party_id, "type": type_, "created_at": self.ts, "data": text}
            )

    def on_undo(self, action: Callable[[], None]) -> None:
        """Run `action` if this change (or its batch) is rolled back."""
        self.undo.append(action)

    def revert(self) -> None:
        while self.undo:
            self.undo.pop()()


class _Request(Generic[T]):
    """A queued change and, once its batch is committed or failed, its outcome."""

    __slots__ = ("done", "error", "fn", "on_done", "result", "tx")

    def __init__(self, fn: Callable[[Tx], T], on_done: Callable[[], None] | None = None) -> None:
        self.fn = fn
        self.done = threading.Event()
        self.on_done = on_done  # called on the writer's thread once the outcome is known
        self.result: T | None = None
        self.error: BaseException | None = None
        self.tx: Tx | None = None

    def finish(self) -> None:
        self.done.set()
        if self.on_done is not None:
            self.on_done()


def _settle(future: asyncio.Future[Any], req: _Request[Any]) -> None:
    if future.done():  # the caller went away (a cancelled request); the change stands
        return
    if req.error is not None:
        future.set_exception(req.error)
    else:
        future.set_result(req.result)


# Start-up: from this many active notices on, their stored volumes are re-parsed (the
# costly part of rebuilding the index) in worker processes, one per core.
PARALLEL_LOAD_MIN = 5000
_LOAD_CHUNK = 500


def shapes_of(notices: list[Row]) -> list[NoticeShape]:
    """`shape_of` for a chunk of rows (what a start-up worker process runs).

    The footprints' index covers are computed here too, and travel with them.
    """
    shapes = [shape_of(n) for n in notices]
    for shape in shapes:
        for vol in shape.volumes:
            vol.footprint.cells()
    return shapes


def shape_of(notice: Row) -> NoticeShape:
    """The engine's view of a stored notice (its normalised volumes re-parsed)."""
    volumes = parse_volumes(json.loads(notice["volumes"]), limits=_STORED)
    priority = PROTECTED_SITE_PRIORITY if notice["kind"] == "protected_site" else notice["priority"]
    return NoticeShape(
        id=notice["id"],
        issuer=notice["issuer"],
        kind=notice["kind"],
        volumes=volumes,
        version=notice["version"],
        priority=priority,
    )


class HubCore:
    def __init__(
        self,
        settings: Settings,
        store: Store | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.store = (
            store
            if store is not None
            else SqliteStore(settings.db_path, checkpoint_interval_s=settings.wal_checkpoint_s)
        )
        self.clock = clock
        self.broker = Broker()
        self.rate = RateLimiter(settings.rate_per_s, settings.rate_burst)
        self.policy = BufferPolicy(
            default=Buffers(
                settings.lateral_buffer_m, settings.vertical_buffer_m, settings.time_buffer_s
            )
        )
        self.index = StrategicIndex(self.policy)
        self.parsers = VolumeParsers(
            settings.volume_parser_processes,
            Limits(max_vertices=settings.max_vertices, max_volumes=settings.max_volumes_per_notice),
            # the covers the index will ask for: a volume's own, and the query's reach
            reaches=sorted({0.0, *(self.policy.widest_for(k).lateral_m for k in KINDS)}),
        )
        self._active: Counter[str] = Counter()  # active notices per issuer (= the index's)
        self._lock = threading.RLock()
        # Replaced, never mutated, so that request threads may iterate them unlocked.
        self._parties: dict[str, Row] = {}
        self._keys: dict[str, str] = {}
        self._staged_parties: dict[str, Row] = {}  # registered in the running batch
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None
        self._admin_hash = hash_token(settings.admin_token) if settings.admin_token else None
        self._queue: deque[_Request[Any]] = deque()
        self._queue_cv = threading.Condition()
        self._writer: threading.Thread | None = None
        self._writer_stop = False
        self.write_stats = {"batches": 0, "writes": 0, "largest_batch": 0}
        self.load_seconds = 0.0

    # -- lifecycle -----------------------------------------------------------
    def start(self, *, sweep: bool = True) -> None:
        self.store.migrate()
        self._load()
        self._writer_stop = False
        self._writer = threading.Thread(target=self._writer_loop, name="hub-writer", daemon=True)
        self._writer.start()
        if sweep:
            self._sweeper = threading.Thread(
                target=self._sweep_loop, name="hub-sweeper", daemon=True
            )
            self._sweeper.start()

    def close(self) -> None:
        self._stop.set()
        if self._sweeper is not None:
            self._sweeper.join(timeout=10)
            self._sweeper = None
        writer = self._writer
        if writer is not None:
            with self._queue_cv:
                self._writer_stop = True  # the writer finishes what is queued, then exits
                self._queue_cv.notify_all()
            writer.join(timeout=30)
            self._writer = None
        self.parsers.close()
        self.store.close()

    def __enter__(self) -> HubCore:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _load(self) -> None:
        """Rebuild what lives in memory (party cache, strategic index) from the store."""
        started = time.perf_counter()
        with self._lock:
            with self.store.read() as repo:
                parties = repo.list_parties()
                total = repo.count_all_active()
                workers = self._load_workers(total)
                try:
                    index, active = self._build_index(repo, workers)
                except BrokenProcessPool:
                    # e.g. an embedding script without `if __name__ == "__main__":`
                    log.warning("start-up worker processes failed; parsing in this one")
                    index, active = self._build_index(repo, 1)
            self._parties = {p["id"]: p for p in parties}
            self._keys = {p["token_key_id"]: p["id"] for p in parties}
            self.index = index
            self._active = active
        self.load_seconds = time.perf_counter() - started
        log.info(
            "loaded %d parties and %d active notices in %.1f s",
            len(parties),
            len(index),
            self.load_seconds,
        )

    def _load_workers(self, total: int) -> int:
        wanted = self.settings.index_load_processes or min(os.cpu_count() or 1, 8)
        return wanted if total >= PARALLEL_LOAD_MIN else 1

    def _build_index(self, repo: Repo, workers: int) -> tuple[StrategicIndex, Counter[str]]:
        index = StrategicIndex(self.policy)
        active: Counter[str] = Counter()
        for shape in self._shapes(repo.iter_active_shapes(), workers):
            index.upsert(shape)
            active[shape.issuer] += 1
        return index, active

    @staticmethod
    def _shapes(batches: Iterable[list[Row]], workers: int) -> Iterator[NoticeShape]:
        """The shapes of stored notices, in order; parsed by `workers` processes if > 1.

        Re-parsing the stored volumes is what rebuilding the index costs (~0.5 ms a
        notice); worker processes do it on every core while this one reads the store and
        fills the index.
        """
        if workers < 2:
            for batch in batches:
                yield from shapes_of(batch)
            return
        # spawn, not fork: the hub may already run threads (a server, a test runner)
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            pending: deque[Future[list[NoticeShape]]] = deque()
            for batch in batches:
                for i in range(0, len(batch), _LOAD_CHUNK):
                    pending.append(pool.submit(shapes_of, batch[i : i + _LOAD_CHUNK]))
                    while len(pending) > 4 * workers:  # bounded memory; results in order
                        yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()

    def _sweep_loop(self) -> None:
        while not self._stop.wait(self.settings.sweep_interval_s):
            try:
                self.sweep()
            except Exception:  # a failed sweep is retried next tick, never fatal
                log.exception("sweep failed")

    def sweep(self) -> dict[str, int]:  # overridden by the use-case mixins
        return {}

    @property
    def closing(self) -> bool:
        return self._stop.is_set()

    def now(self) -> datetime:
        return self.clock()

    # -- the write path ------------------------------------------------------
    def _write(self, fn: Callable[[Tx], T]) -> T:
        """Run `fn` as one change; return its result once it is durable."""
        req: _Request[T] = _Request(fn)
        if not self._enqueue(req):  # not started (or closing): the caller's thread writes
            self._run_batch([req])
        req.done.wait()
        if req.error is not None:
            raise req.error
        return cast(T, req.result)

    async def write_async(self, fn: Callable[[Tx], T]) -> T:
        """`_write` for the event loop: no thread waits; the writer settles a future."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        req: _Request[T] = _Request(fn)

        def settle() -> None:
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting
                loop.call_soon_threadsafe(_settle, future, req)

        req.on_done = settle
        if not self._enqueue(req):
            return await asyncio.to_thread(self._write, fn)
        return await future

    def _enqueue(self, req: _Request[Any]) -> bool:
        writer = self._writer
        if writer is not None and writer is threading.current_thread():
            raise RuntimeError("a change may not start another change")
        with self._queue_cv:
            if writer is None or self._writer_stop:
                return False
            self._queue.append(req)
            self._queue_cv.notify()
        return True

    def _writer_loop(self) -> None:
        limit = self.settings.write_batch_max
        while True:
            with self._queue_cv:
                while not self._queue and not self._writer_stop:
                    self._queue_cv.wait()
                if not self._queue:
                    return
                batch = [self._queue.popleft() for _ in range(min(limit, len(self._queue)))]
            try:
                self._run_batch(batch)
            except BaseException as exc:  # never leave a caller waiting
                log.exception("write batch failed")
                for req in batch:
                    if not req.done.is_set():
                        req.error = req.error or exc
                        req.finish()

    def _before_commit(self, repo: Repo) -> None:
        """Rows the batch's changes left for the end of the transaction (the ledger's)."""

    def _run_batch(self, batch: list[_Request[Any]]) -> None:
        """One transaction, one savepoint per change, one COMMIT; then answer them all."""
        done: list[_Request[Any]] = []
        with self._lock:
            try:
                with self.store.write() as repo:
                    for req in batch:
                        tx = Tx(repo, self.now())
                        savepoint = repo.savepoint()
                        try:
                            req.result = req.fn(tx)
                        except Exception as exc:
                            tx.revert()
                            req.error = exc
                            savepoint.rollback()  # if this fails, the whole batch fails
                            continue
                        savepoint.commit()
                        req.tx = tx
                        done.append(req)
                    self._before_commit(repo)
                    repo.append_events([e for req in done if req.tx for e in req.tx.events])
            except BaseException as exc:
                # Nothing of the batch is stored: undo its in-memory changes, newest first.
                for req in reversed(done):
                    if req.tx is not None:
                        req.tx.revert()
                    req.error = exc
                    req.result = None
                raise
            finally:
                self._staged_parties = {}
                stats = self.write_stats
                stats["batches"] += 1
                stats["writes"] += len(batch)
                stats["largest_batch"] = max(stats["largest_batch"], len(batch))
            woken: set[str] = set()
            for req in done:
                if req.tx is not None:
                    for action in req.tx.after_commit:
                        try:
                            action()
                        except Exception:  # committed: the caller still gets its answer
                            log.exception("after-commit action failed")
                    woken |= req.tx.woken
                    req.tx = None
        if woken:
            self.broker.publish(woken)
        for req in batch:
            req.finish()

    # -- in-memory state changed inside a change (reverted with it) ------------
    def _index_put(self, tx: Tx, shape: NoticeShape) -> None:
        """Index `shape` now, so that the next change of the batch is checked against it."""
        previous = self.index.get(shape.id)
        self.index.upsert(shape)
        if previous is None:
            self._active[shape.issuer] += 1

        def undo() -> None:
            if previous is None:
                self.index.remove(shape.id)
                self._active[shape.issuer] -= 1
            else:
                self.index.upsert(previous)

        tx.on_undo(undo)

    def _index_drop(self, tx: Tx, notice_id: str) -> None:
        previous = self.index.get(notice_id)
        if previous is None:
            return
        self.index.remove(notice_id)
        self._active[previous.issuer] -= 1

        def undo() -> None:
            self.index.upsert(previous)
            self._active[previous.issuer] += 1

        tx.on_undo(undo)

    def active_count(self, issuer: str) -> int:
        return self._active[issuer]

    def _party_ids_in_tx(self) -> Iterable[str]:
        """Every registered party as a change sees it: committed, or earlier in its batch."""
        if not self._staged_parties:
            return self._parties
        return {**self._parties, **self._staged_parties}

    # -- principals ----------------------------------------------------------
    def authenticate(self, token: str | None) -> Principal:
        if not token:
            raise Unauthorized("missing bearer token")
        if self._admin_hash is not None and tokens_equal(token, self._admin_hash):
            return Principal(ADMIN, is_admin=True)
        key_id = split_token(token)
        if key_id is None:
            raise Unauthorized("malformed token")
        party_id = self._keys.get(key_id)
        party = self._parties.get(party_id) if party_id else None
        if party is None or not tokens_equal(token, party["token_hash"]):
            raise Unauthorized("unknown token")
        return Principal(party["id"])

    def check_rate(self, who: Principal) -> None:
        self.rate.take(who.party_id)

    @staticmethod
    def require_party(who: Principal, action: str) -> None:
        if who.is_admin:
            raise Forbidden(f"the hub operator does not {action}; use a party's token")

    def party_ids(self) -> set[str]:
        return set(self._parties)

    def list_parties(self, who: Principal) -> list[dict[str, Any]]:
        return [
            {"id": p["id"], "name": p["name"], "created_at": p["created_at"]}
            for p in sorted(self._parties.values(), key=lambda p: p["id"])
        ]

    def register_party(self, who: Principal, doc: Any) -> dict[str, Any]:
        if not who.is_admin:
            raise Forbidden("only the hub operator registers parties")
        errs = []
        if not isinstance(doc, dict):
            raise Invalid([("", "must be a JSON object")])
        for name in sorted(set(doc) - {"id", "name"}):
            errs.append((name, "unknown field"))
        party_id, name = doc.get("id"), doc.get("name")
        if not isinstance(party_id, str) or not PARTY_ID_RE.match(party_id):
            errs.append(("id", "must match [a-z0-9][a-z0-9-]{0,63}"))
        elif party_id in (ADMIN, "*"):
            errs.append(("id", f"{party_id!r} is reserved"))
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            errs.append(("name", "must be a non-empty string of at most 200 characters"))
        if errs:
            raise Invalid(errs)
        party_id, name = str(party_id), str(name)
        key_id, token = new_token()

        def run(tx: Tx) -> dict[str, Any]:
            if tx.repo.get_party(party_id) is not None:
                raise StateConflict(f"party {party_id!r} is already registered")
            row = {
                "id": party_id,
                "name": name,
                "token_key_id": key_id,
                "token_hash": hash_token(token),
                "public_key": None,
                "created_at": tx.ts,
            }
            tx.repo.insert_party(row)
            self._staged_parties[party_id] = row

            def unstage() -> None:
                self._staged_parties.pop(party_id, None)

            tx.on_undo(unstage)
            self._on_party_registered(tx, party_id)

            def cache() -> None:
                self._parties = {**self._parties, party_id: row}
                self._keys = {**self._keys, key_id: party_id}

            tx.after_commit.append(cache)
            return {"id": party_id, "name": name, "token": token, "created_at": tx.ts}

        return self._write(run)

    def _on_party_registered(self, tx: Tx, party_id: str) -> None:
        """Overridden by the notice use cases (notices addressed to every party)."""

    def ready(self) -> dict[str, Any]:
        with self.store.read() as repo:
            last = repo.last_event_seq()
        return {
            "status": "ok",
            "store": self.store.describe(),
            "parties": len(self._parties),
            "active_notices": len(self.index),
            "last_event_id": last,
            "index_load_s": round(self.load_seconds, 3),
            "write_batches": dict(self.write_stats),
            "volume_parsers": self.parsers.status(),
        }
