"""`NoticeIndex`: the strategic index of active notices, as the writer keeps it.

Changed only inside a change (`put`, `drop`: reverted with it if the change or its
batch is rolled back), read by dry runs and the tactical screen under the writer's lock
(`reading`), so nobody sees a notice whose commit could still fail. Rebuilt from the
store at start-up (`load`), where re-parsing the stored volumes is the cost.
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


class NoticeIndex:
    def __init__(self, policy: BufferPolicy, lock: threading.RLock) -> None:
        self.policy = policy
        self._lock = lock  # the writer's: held for a whole batch, COMMIT included
        self._index = StrategicIndex(policy)
        self._active: Counter[str] = Counter()  # active notices per issuer
        self.load_seconds = 0.0

    def __len__(self) -> int:
        return len(self._index)

    def __iter__(self) -> Iterator[NoticeShape]:
        return iter(self._index)

    def __contains__(self, notice_id: object) -> bool:
        return isinstance(notice_id, str) and self._index.get(notice_id) is not None

    @contextlib.contextmanager
    def reading(self) -> Iterator[StrategicIndex]:
        """The index with no change of a batch in flight (dry runs, the tactical screen)."""
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
