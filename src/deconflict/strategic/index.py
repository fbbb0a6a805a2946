"""The strategic index: which stored notices conflict with this one?

Three stages, each exact about what it may discard:

1. **Cells x days.** Every stored volume is filed under the H3 cells covering
   its bounding cap and the UTC days its window touches (windows longer than
   ``LONG_WINDOW_DAYS`` are filed under their cells only). A query looks up the
   cells covering its own cap inflated by the widest lateral buffer its kind
   can meet, over its window inflated by the widest time buffer. A conflicting
   volume always shares a (cell, day) key with the query (see geo.cells).
2. **Vectorised bounds.** Time gap, vertical gap and the cap-to-cap distance
   of every candidate are checked at once with numpy against the widest
   buffers.
3. **Exact test** (strategic.pair) with the buffers of the actual pair of kinds.

The index is in memory and pure; the service rebuilds it from the store.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from deconflict.geo import GEOD, Volume4D
from deconflict.geo.cells import DEFAULT_RESOLUTION
from deconflict.strategic.model import BufferPolicy, Conflict, NoticeRef, NoticeShape, facing
from deconflict.strategic.pair import compare_volumes

__all__ = ["LONG_WINDOW_DAYS", "StrategicIndex", "find_conflicts"]

DAY_S = 86_400.0
LONG_WINDOW_DAYS = 14


@dataclass
class _Stored:
    shape: NoticeShape
    slots: list[int]
    keys: list[tuple[int, int]]  # (cell, day); day -1 means "any day" (long windows)


class _Columns:
    """Per-volume numbers in growable numpy columns, addressed by slot."""

    NAMES = ("t0", "t1", "lo", "hi", "lon", "lat", "cap")  # as `NoticeShape.filed` gives them

    def __init__(self, capacity: int = 1024) -> None:
        self.data = np.zeros((len(self.NAMES), capacity), dtype=np.float64)
        self.free: list[int] = []
        self.size = 0

    def allocate(self, values: tuple[float, ...]) -> int:
        if self.free:
            slot = self.free.pop()
        else:
            if self.size == self.data.shape[1]:
                self.data = np.concatenate((self.data, np.zeros_like(self.data)), axis=1)
            slot = self.size
            self.size += 1
        self.data[:, slot] = values
        return slot

    def release(self, slot: int) -> None:
        self.free.append(slot)

    def column(self, name: str, slots: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        column: npt.NDArray[np.float64] = self.data[self.NAMES.index(name), slots]
        return column


def _days(t0: float, t1: float) -> range:
    return range(math.floor(t0 / DAY_S), math.floor(t1 / DAY_S) + 1)


class StrategicIndex:
    """Stored notices, indexed for conflict queries. Not thread-safe: one owner."""

    def __init__(
        self, policy: BufferPolicy | None = None, *, resolution: int = DEFAULT_RESOLUTION
    ) -> None:
        self.policy = policy or BufferPolicy()
        self.resolution = resolution
        self._notices: dict[str, _Stored] = {}
        self._owner: list[tuple[str, int]] = []  # slot -> (notice id, volume index)
        self._cols = _Columns()
        self._buckets: dict[tuple[int, int], set[int]] = {}

    # -- mutation ---------------------------------------------------------

    def upsert(self, shape: NoticeShape) -> None:
        """Insert a notice, or replace its previous version."""
        if shape.id in self._notices:
            self.remove(shape.id)
        stored = _Stored(shape, [], [])
        owner, buckets, keys = self._owner, self._buckets, stored.keys
        # Filed under the widest volumes it may be judged by (`NoticeShape.filed`): a
        # shape read back from its prepared form gives the numbers without its volumes.
        for v_index, (bounds, cells) in enumerate(shape.filed(self.resolution)):
            slot = self._cols.allocate(bounds)
            if slot == len(owner):
                owner.append((shape.id, v_index))
            else:
                owner[slot] = (shape.id, v_index)
            stored.slots.append(slot)
            first, last = math.floor(bounds[0] / DAY_S), math.floor(bounds[1] / DAY_S)
            days: Sequence[int] = range(first, last + 1)
            if last - first >= LONG_WINDOW_DAYS:  # more than LONG_WINDOW_DAYS days
                days = (-1,)
            for cell in cells:
                for day in days:
                    key = (cell, day)
                    found = buckets.get(key)
                    if found is None:
                        buckets[key] = {slot}
                    else:
                        found.add(slot)
                    keys.append(key)
        self._notices[shape.id] = stored

    def remove(self, notice_id: str) -> None:
        """Forget a notice (cancelled or expired). Absent ids are ignored."""
        stored = self._notices.pop(notice_id, None)
        if stored is None:
            return
        slots = set(stored.slots)
        for key in stored.keys:
            bucket = self._buckets.get(key)
            if bucket is not None:
                bucket.difference_update(slots)
                if not bucket:
                    del self._buckets[key]
        for slot in stored.slots:
            self._cols.release(slot)
            self._owner[slot] = ("", -1)

    # -- reading ----------------------------------------------------------

    def __len__(self) -> int:
        return len(self._notices)

    def __contains__(self, notice_id: object) -> bool:
        return notice_id in self._notices

    def __iter__(self) -> Iterator[NoticeShape]:
        return (s.shape for s in self._notices.values())

    def get(self, notice_id: str) -> NoticeShape | None:
        stored = self._notices.get(notice_id)
        return stored.shape if stored else None

    def candidates(self, vol: Volume4D, kind: str) -> npt.NDArray[np.int64]:
        """Slots of stored volumes that may conflict with ``vol`` (stages 1 and 2)."""
        widest = self.policy.widest_for(kind)
        fp = vol.footprint
        t0 = vol.window.start_s - widest.time_s
        t1 = vol.window.end_s + widest.time_s
        days = [*_days(t0, t1), -1]
        found: set[int] = set()
        buckets = self._buckets
        for cell in fp.cells(widest.lateral_m, self.resolution):
            for day in days:
                bucket = buckets.get((cell, day))
                if bucket:
                    found |= bucket
        if not found:
            return np.empty(0, dtype=np.int64)
        slots = np.fromiter(found, dtype=np.int64, count=len(found))
        cols = self._cols
        keep = (cols.column("t0", slots) <= t1) & (cols.column("t1", slots) >= t0)
        margin = self.policy.margins.geoid_m + self.policy.margins.pressure_m
        reach_v = widest.vertical_m + margin
        keep &= cols.column("lo", slots) <= vol.altitude.upper_m + reach_v
        keep &= cols.column("hi", slots) >= vol.altitude.lower_m - reach_v
        slots = slots[keep]
        if len(slots) == 0:
            return slots
        n = len(slots)
        _, _, dist = GEOD.inv(
            np.full(n, fp.center[0]),
            np.full(n, fp.center[1]),
            cols.column("lon", slots),
            cols.column("lat", slots),
        )
        gap = np.asarray(dist) - cols.column("cap", slots) - fp.cap_radius_m
        return slots[gap <= widest.lateral_m]

    def query(
        self,
        shape: NoticeShape,
        *,
        include_same_issuer: bool = False,
        describe: bool = True,
    ) -> list[Conflict]:
        """Conflicts of ``shape`` with stored notices (its own id excluded). Stores nothing."""
        return self._query(shape, include_same_issuer, describe, None)

    def _query(
        self,
        shape: NoticeShape,
        include_same_issuer: bool,
        describe: bool,
        after: dict[str, int] | None,
    ) -> list[Conflict]:
        # ``after`` (an insertion order) keeps only later notices, so that the
        # all-pairs pass tests each pair once instead of from both sides.
        floor = after[shape.id] if after is not None else -1
        by_notice: dict[str, list[tuple[int, int]]] = {}
        for i, vol in enumerate(shape.coarse or shape.volumes):
            for slot in self.candidates(vol, shape.kind).tolist():
                other_id, j = self._owner[slot]
                if other_id == shape.id or (after is not None and after[other_id] <= floor):
                    continue
                by_notice.setdefault(other_id, []).append((i, j))
        conflicts = []
        for other_id, pairs in by_notice.items():
            other = self._notices[other_id].shape
            if other.issuer == shape.issuer and not include_same_issuer:
                continue
            found = self._compare(shape, other, sorted(set(pairs)), describe)
            if found is not None:
                conflicts.append(found)
        conflicts.sort(key=lambda c: c.b.id)
        return conflicts

    def _compare(
        self, a: NoticeShape, b: NoticeShape, pairs: list[tuple[int, int]], describe: bool
    ) -> Conflict | None:
        buffers = self.policy.for_kinds(a.kind, b.kind)
        # Each side is judged by what the other's issuer may see of it (DESIGN.md,
        # disclosure): the answer depends on a hidden notice only through its grain.
        va, vb = facing(a, b.issuer), facing(b, a.issuer)
        coarse = va is not a.volumes or vb is not b.volumes
        found = []
        for i, j in pairs:
            overlap = compare_volumes(
                va[i], vb[j], buffers, self.policy, indices=(i, j), describe=describe, coarse=coarse
            )
            if overlap is not None:
                found.append(overlap)
        if not found:
            return None
        return Conflict(NoticeRef.of(a), NoticeRef.of(b), buffers, tuple(found))

    def all_conflicts(
        self, *, include_same_issuer: bool = False, describe: bool = True
    ) -> list[Conflict]:
        """Every conflicting pair among stored notices, each once, in insertion order."""
        order = {notice_id: n for n, notice_id in enumerate(self._notices)}
        out: list[Conflict] = []
        for stored in self._notices.values():
            out.extend(self._query(stored.shape, include_same_issuer, describe, order))
        return out


def find_conflicts(
    notices: Iterable[NoticeShape],
    policy: BufferPolicy | None = None,
    *,
    include_same_issuer: bool = False,
    describe: bool = True,
) -> list[Conflict]:
    """All conflicts among ``notices`` (ids must be unique), in input order."""
    index = StrategicIndex(policy)
    for shape in notices:
        if shape.id in index:
            raise ValueError(f"duplicate notice id {shape.id!r}")
        index.upsert(shape)
    return index.all_conflicts(include_same_issuer=include_same_issuer, describe=describe)
