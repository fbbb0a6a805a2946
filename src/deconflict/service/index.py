"""`NoticeIndex`: the strategic index of active notices, as the writer keeps it.

Changed only inside a change (`put`, `drop`: reverted with it if the change or its
batch is rolled back), read by dry runs under the writer's lock (`reading`), so nobody
sees a notice whose commit could still fail. Rebuilt from the store at start-up
(`load`), from each version's prepared form (service.prepared); only versions without
one are parsed again.

Long readers (the tactical screen, every cycle and quick pass) read a snapshot
instead (`snapshot`, issue 19), without the writer's lock: neither waits for the
other. See "Snapshots" below.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import logging
import multiprocessing
import os
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from deconflict.geo import Limits, Volume4D, parse_volumes
from deconflict.geo.packed import Packed
from deconflict.service.disclosure import coarse_volumes, stored_disclosure
from deconflict.service.prepared import FORMAT as PREPARED_FORMAT
from deconflict.service.prepared import opened, pack_row
from deconflict.service.tx import Tx
from deconflict.store import Repo, Row
from deconflict.strategic import (
    BufferPolicy,
    Conflict,
    NoticeShape,
    PreparedShape,
    StrategicIndex,
)

__all__ = ["PROTECTED_SITE_PRIORITY", "NoticeIndex", "prepared_of", "shape_of"]

log = logging.getLogger("deconflict.service")
PROTECTED_SITE_PRIORITY = 1_000_000
# Stored notices were validated against the limits in force when they came in;
# re-reading them must not fail because an operator lowered a limit since.
_STORED = Limits(
    max_vertices=10**9, max_footprint_km=40_000.0, max_window_s=1e12, max_volumes=10**9
)
# Start-up: from this many active notices on, their stored volumes are re-parsed (the
# costly part of rebuilding the index) in worker processes, one per core.
PARALLEL_LOAD_MIN = 5000
_LOAD_CHUNK = 500
# Snapshots: an idle replica further behind the log than this (and than its own size)
# is dropped rather than kept up to date; the next reader copies the index afresh.
_REPLICA_MAX_LAG = 20_000
_STORE_CHUNK = 2000  # prepared forms derived at start-up, stored this many at a time


def shape_of(notice: Row) -> NoticeShape:
    """The engine's view of a stored notice (its normalised volumes re-parsed)."""
    volumes = parse_volumes(json.loads(notice["volumes"]), limits=_STORED)
    disclosure = stored_disclosure(notice.get("disclosure"), notice["kind"])
    return _shape(notice, volumes, coarse_volumes(volumes, disclosure), disclosure.level)


def _shape(
    notice: Row,
    volumes: tuple[Volume4D, ...],
    coarse: tuple[Volume4D, ...] | None,
    level: str,
) -> NoticeShape:
    return NoticeShape(
        id=notice["id"],
        issuer=notice["issuer"],
        kind=notice["kind"],
        volumes=volumes,
        version=notice["version"],
        priority=_priority(notice),
        readers=frozenset(json.loads(notice["addressees"])),
        coarse=coarse,
        disclosure=level,
    )


def _priority(notice: Row) -> int:
    return PROTECTED_SITE_PRIORITY if notice["kind"] == "protected_site" else notice["priority"]


def _prepared_shape(
    notice: Row, packed: Packed, level: str, readers: frozenset[str] | None = None
) -> NoticeShape:
    """The engine's view of a stored notice from its prepared form: volumes built lazily."""
    return PreparedShape(
        id=notice["id"],
        issuer=notice["issuer"],
        kind=notice["kind"],
        version=notice["version"],
        priority=_priority(notice),
        readers=frozenset(json.loads(notice["addressees"])) if readers is None else readers,
        disclosure=level,
        packed=packed,
    )


@dataclass(eq=False)
class _Replica:
    """A reader's private copy of the committed index (see `NoticeIndex.snapshot`)."""

    source: StrategicIndex  # the writer's index it copies (`load` replaces that one)
    index: StrategicIndex
    position: int  # log position up to which changes are applied
    busy: bool = False


def prepared_of(notices: list[Row]) -> list[Row]:
    """The rows given with their prepared form derived from their text (`prepared`,
    `prepared_format`): what a start-up worker process runs for versions without one."""
    out = []
    for n in notices:
        found = pack_row(n, shape_of(n))
        out.append({**n, "prepared": found["data"], "prepared_format": found["format"]})
    return out


class NoticeIndex:
    def __init__(self, policy: BufferPolicy, lock: threading.RLock) -> None:
        self.policy = policy
        self._lock = lock  # the writer's: held for a whole batch, COMMIT included
        self._index = StrategicIndex(policy)
        self._active: Counter[str] = Counter()  # active notices per issuer
        self.load_seconds = 0.0
        # -- snapshots (issue 19): see the section below --
        self._snap_lock = threading.Lock()  # the log and the replicas' list; held briefly
        self._log: list[tuple[str, NoticeShape | None]] = []  # committed changes, in order
        self._log_start = 0  # log position of self._log[0]
        self._replicas: list[_Replica] = []
        self.snapshot_stats = {"replicas_built": 0, "changes_applied": 0}
        self.derived = 0  # notices whose prepared form the last `load` derived again
        # issue 14: on a database other processes write, what a dry run calls first to see
        # everything committed before it started (`Follower.follow`)
        self.catch_up: Callable[[], None] | None = None

    def __len__(self) -> int:
        return len(self._index)

    def __iter__(self) -> Iterator[NoticeShape]:
        return iter(self._index)

    def __contains__(self, notice_id: object) -> bool:
        return isinstance(notice_id, str) and self._index.get(notice_id) is not None

    @contextlib.contextmanager
    def reading(self) -> Iterator[StrategicIndex]:
        """The index with no change of a batch in flight (dry runs), under the writer's lock."""
        with self._lock:
            yield self._index

    # -- inside a change -----------------------------------------------------
    def query(self, shape: NoticeShape) -> list[Conflict]:
        """Conflicts of `shape`; inside a change, with the batch's earlier changes."""
        return self._index.query(shape)

    def get(self, notice_id: str) -> NoticeShape | None:
        return self._index.get(notice_id)

    def active_count(self, issuer: str) -> int:
        return self._active[issuer]

    def put(self, tx: Tx, shape: NoticeShape) -> None:
        """Index `shape` now, so that the next change of the batch is checked against it."""
        previous = self._index.get(shape.id)
        self._index.upsert(shape)
        tx.changed("notice", shape.id)  # issue 14: the other processes follow
        if previous is None:
            self._active[shape.issuer] += 1

        def undo() -> None:
            if previous is None:
                self._index.remove(shape.id)
                self._active[shape.issuer] -= 1
            else:
                self._index.upsert(previous)

        tx.on_undo(undo)
        tx.after_commit.append(lambda: self._committed(shape.id))

    def drop(self, tx: Tx, notice_id: str) -> None:
        previous = self._index.get(notice_id)
        if previous is None:
            return
        self._index.remove(notice_id)
        tx.changed("notice", notice_id)  # issue 14: the other processes follow
        self._active[previous.issuer] -= 1

        def undo() -> None:
            self._index.upsert(previous)
            self._active[previous.issuer] += 1

        tx.on_undo(undo)
        tx.after_commit.append(lambda: self._committed(notice_id))

    # -- snapshots (issue 19) ------------------------------------------------
    # A long reader must neither wait for the writer (which holds its lock through a
    # whole batch, COMMIT included) nor make it wait. So each reader screens a replica
    # of its own: a private `StrategicIndex` holding exactly the committed notices,
    # brought up to date, when it is taken, from a log of committed changes. The
    # writer's share is one append per changed notice, after the COMMIT and before
    # the change is answered (`tx.after_commit`); the reader applies what it has not
    # seen yet (cheap: a notice's index cells are computed once, with its shape). A
    # replica is used by one reader at a time; a second reader at once gets a second
    # one. Copying the index into a new replica is the only step that takes the
    # writer's lock, once per replica, for as long as listing the notices takes.

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[StrategicIndex]:
        """The committed index, without the writer's lock; read-only, for this `with` only.

        Holds every change answered before it was taken, and no change whose batch
        could still fail; later commits do not change it while it is held.
        """
        replica = self._checkout()
        try:
            yield replica.index
        finally:
            with self._snap_lock:
                replica.busy = False

    def prepare_snapshots(self, count: int) -> None:
        """Build ``count`` replicas now (at start-up), not in the first readers' way."""
        taken = [self._checkout() for _ in range(count)]
        with self._snap_lock:
            for replica in taken:
                replica.busy = False

    @property
    def snapshot_lag(self) -> int:
        """Committed changes the idle replicas have not applied yet (tests, stats)."""
        with self._snap_lock:
            end = self._log_start + len(self._log)
            return max((end - r.position for r in self._replicas), default=0)

    def _committed(self, notice_id: str) -> None:
        # after the batch's COMMIT, under the writer's lock: the index holds the
        # committed state of the notice (its last version of the batch, or nothing)
        shape = self._index.get(notice_id)
        with self._snap_lock:
            if self._replicas:
                self._log.append((notice_id, shape))

    def _checkout(self) -> _Replica:
        with self._snap_lock:
            source = self._index  # replaced only by `load`: replicas of another are dropped
            self._replicas = [r for r in self._replicas if r.busy or r.source is source]
            replica = next((r for r in self._replicas if not r.busy), None)
            if replica is not None:
                replica.busy = True
        if replica is None:
            replica = self._new_replica()
        with self._snap_lock:
            end = self._log_start + len(self._log)
            todo = self._log[replica.position - self._log_start :]
        for notice_id, shape in todo:
            if shape is None:
                replica.index.remove(notice_id)
            else:
                replica.index.upsert(shape)
        replica.position = end
        self.snapshot_stats["changes_applied"] += len(todo)
        self._trim()
        return replica

    def _new_replica(self) -> _Replica:
        with self._lock, self._snap_lock:  # the writer's: no batch in flight while we list
            source = self._index
            shapes = list(source)
            position = self._log_start + len(self._log)
            replica = _Replica(
                source, StrategicIndex(self.policy, resolution=source.resolution), position
            )
            replica.busy = True
            self._replicas.append(replica)
        for shape in shapes:  # outside the lock: the log keeps what commits meanwhile
            replica.index.upsert(shape)
        self.snapshot_stats["replicas_built"] += 1
        return replica

    def _trim(self) -> None:
        """Forget the changes every replica has applied; drop idle replicas far behind."""
        with self._snap_lock:
            end = self._log_start + len(self._log)
            self._replicas = [
                r
                for r in self._replicas
                if r.busy or end - r.position <= max(_REPLICA_MAX_LAG, len(r.index))
            ]
            done = min((r.position for r in self._replicas), default=end)
            if done > self._log_start:
                del self._log[: done - self._log_start]
                self._log_start = done

    # -- following other processes (issue 14) ---------------------------------------
    def follow(self, repo: Repo, notice_ids: Iterable[str]) -> None:
        """Bring the notices named up to `repo`'s snapshot: changed by another process on
        the same database. The caller holds the writer's lock (`reading`'s)."""
        found = {n["id"]: n for n in repo.notices.shapes_by_id(sorted(set(notice_ids)))}
        for notice_id in sorted(set(notice_ids)):
            notice = found.get(notice_id)
            previous = self._index.get(notice_id)
            if previous is not None:
                self._index.remove(notice_id)
                self._active[previous.issuer] -= 1
            if notice is None or notice["state"] != "active":
                continue
            packed = opened(notice)
            if packed is None:
                shape = shape_of(notice)
            else:
                level = stored_disclosure(notice.get("disclosure"), notice["kind"]).level
                shape = _prepared_shape(notice, packed, level)
            self._index.upsert(shape)
            self._active[shape.issuer] += 1
        for notice_id in sorted(set(notice_ids)):
            self._committed(notice_id)  # issue 19: the snapshots learn of it too

    # -- start-up (issue 14: loads the prepared forms; derives only what lacks one) ----
    def load(
        self,
        repo: Repo,
        processes: int,
        store_prepared: Callable[[list[Row]], None] | None = None,
    ) -> None:
        """Rebuild from the store's active notices.

        Each version's prepared form (service.prepared) is loaded as stored; a version
        without one of the current format is derived from its text, by `processes`
        worker processes when many are (0: one per core), and its form handed to
        `store_prepared` in chunks, so that the next start-up loads it.
        """
        lacking = repo.notices.count_active_unprepared(PREPARED_FORMAT)
        wanted = processes or min(os.cpu_count() or 1, 8)
        workers = wanted if lacking >= PARALLEL_LOAD_MIN else 1
        self.derived = 0
        # Millions of long-lived objects are made here: the cyclic collector would walk
        # all of them again and again (two thirds of the time, measured), and then on
        # every full collection while the hub serves. None of them is garbage; they are
        # frozen out of its reach (still freed by reference counting when dropped).
        collecting = gc.isenabled()
        gc.disable()
        try:
            try:
                index, active = self._build(repo, workers, store_prepared)
            except BrokenProcessPool:
                # e.g. an embedding script without `if __name__ == "__main__":`
                log.warning("start-up worker processes failed; parsing in this one")
                index, active = self._build(repo, 1, store_prepared)
        finally:
            if collecting:
                gc.freeze()
                gc.enable()
        with self._lock:
            self._index, self._active = index, active

    def _build(
        self,
        repo: Repo,
        workers: int,
        store_prepared: Callable[[list[Row]], None] | None,
    ) -> tuple[StrategicIndex, Counter[str]]:
        index = StrategicIndex(self.policy)
        active: Counter[str] = Counter()

        @functools.lru_cache(maxsize=256)  # most versions share one disclosure text
        def level_of(text: str | None, kind: str) -> str:
            return stored_disclosure(text, kind).level

        @functools.lru_cache(maxsize=4096)  # and many one list of addressees (immutable)
        def readers_of(text: str) -> frozenset[str]:
            return frozenset(json.loads(text))

        def add(notice: Row, found: Packed) -> None:
            level = level_of(notice.get("disclosure"), notice["kind"])
            shape = _prepared_shape(notice, found, level, readers_of(notice["addressees"]))
            index.upsert(shape)
            active[shape.issuer] += 1

        def lacking() -> Iterator[list[Row]]:
            for batch in repo.notices.iter_active_shapes():
                missing = []
                for notice in batch:
                    found = opened(notice)
                    if found is None:
                        missing.append(notice)
                    else:
                        add(notice, found)
                if missing:
                    yield missing

        derived: list[Row] = []
        for notice in _derived(lacking(), workers):
            found = opened(notice)
            if found is None:  # pragma: no cover - derived just now, in this format
                raise RuntimeError(f"notice {notice['id']}: its prepared form does not load")
            add(notice, found)
            self.derived += 1
            if store_prepared is not None:
                derived.append(_prepared_columns(notice))
                if len(derived) >= _STORE_CHUNK:
                    store_prepared(derived)
                    derived = []
        if derived and store_prepared is not None:
            store_prepared(derived)
        return index, active


def _prepared_columns(notice: Row) -> Row:
    return {
        "notice_id": notice["id"],
        "version": notice["version"],
        "format": notice["prepared_format"],
        "data": notice["prepared"],
    }


def _derived(batches: Iterable[list[Row]], workers: int) -> Iterator[Row]:
    """The stored notices given, with their prepared forms derived (`prepared_of`), in
    order; by `workers` processes if > 1.

    Parsing the stored volumes and growing them to their grain is the cost (~3 ms a
    notice); worker processes do it on every core while this one reads the store and
    fills the index.
    """
    if workers < 2:
        for batch in batches:
            yield from prepared_of(batch)
        return
    # spawn, not fork: the hub may already run threads (a server, a test runner)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        pending: deque[Future[list[Row]]] = deque()
        for batch in batches:
            for i in range(0, len(batch), _LOAD_CHUNK):
                pending.append(pool.submit(prepared_of, batch[i : i + _LOAD_CHUNK]))
                while len(pending) > 4 * workers:  # bounded memory; results in order
                    yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()
