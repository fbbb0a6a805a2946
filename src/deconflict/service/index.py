"""`NoticeIndex`: the strategic index of active notices, as the writer keeps it.

Changed only inside a change (`put`, `drop`: reverted with it if the change or its
batch is rolled back), read by dry runs under the writer's lock (`reading`), so nobody
sees a notice whose commit could still fail. Rebuilt from the store at start-up
(`load`), where re-parsing the stored volumes is the cost.

Long readers (the tactical screen, every cycle and quick pass) read a snapshot
instead (`snapshot`, issue 19), without the writer's lock: neither waits for the
other. See "Snapshots" below.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import threading
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from deconflict.geo import Limits, parse_volumes
from deconflict.service.disclosure import coarse_volumes, stored_disclosure
from deconflict.service.tx import Tx
from deconflict.store import Repo, Row
from deconflict.strategic import BufferPolicy, Conflict, NoticeShape, StrategicIndex

__all__ = ["PROTECTED_SITE_PRIORITY", "NoticeIndex", "shape_of", "shapes_of"]

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


def shapes_of(notices: list[Row]) -> list[NoticeShape]:
    """`shape_of` for a chunk of rows (what a start-up worker process runs).

    The footprints' index covers are computed here too, and travel with them.
    """
    shapes = [shape_of(n) for n in notices]
    for shape in shapes:
        for vol in shape.coarse or shape.volumes:
            vol.footprint.cells()
    return shapes


def shape_of(notice: Row) -> NoticeShape:
    """The engine's view of a stored notice (its normalised volumes re-parsed)."""
    volumes = parse_volumes(json.loads(notice["volumes"]), limits=_STORED)
    priority = PROTECTED_SITE_PRIORITY if notice["kind"] == "protected_site" else notice["priority"]
    disclosure = stored_disclosure(notice.get("disclosure"), notice["kind"])
    return NoticeShape(
        id=notice["id"],
        issuer=notice["issuer"],
        kind=notice["kind"],
        volumes=volumes,
        version=notice["version"],
        priority=priority,
        readers=frozenset(json.loads(notice["addressees"])),
        coarse=coarse_volumes(volumes, disclosure),
        disclosure=disclosure.level,
    )


@dataclass(eq=False)
class _Replica:
    """A reader's private copy of the committed index (see `NoticeIndex.snapshot`)."""

    source: StrategicIndex  # the writer's index it copies (`load` replaces that one)
    index: StrategicIndex
    position: int  # log position up to which changes are applied
    busy: bool = False


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

    # -- start-up ------------------------------------------------------------
    def load(self, repo: Repo, processes: int) -> None:
        """Rebuild from the store's active notices; `processes` 0 means one per core."""
        total = repo.notices.count_all_active()
        wanted = processes or min(os.cpu_count() or 1, 8)
        workers = wanted if total >= PARALLEL_LOAD_MIN else 1
        try:
            index, active = self._build(repo, workers)
        except BrokenProcessPool:
            # e.g. an embedding script without `if __name__ == "__main__":`
            log.warning("start-up worker processes failed; parsing in this one")
            index, active = self._build(repo, 1)
        with self._lock:
            self._index, self._active = index, active

    def _build(self, repo: Repo, workers: int) -> tuple[StrategicIndex, Counter[str]]:
        index = StrategicIndex(self.policy)
        active: Counter[str] = Counter()
        for shape in _shapes(repo.notices.iter_active_shapes(), workers):
            index.upsert(shape)
            active[shape.issuer] += 1
        return index, active


def _shapes(batches: Iterable[list[Row]], workers: int) -> Iterator[NoticeShape]:
    """The shapes of stored notices, in order; parsed by `workers` processes if > 1.

    Re-parsing the stored volumes is what rebuilding the index costs (~0.5 ms a notice);
    worker processes do it on every core while this one reads the store and fills the
    index.
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
