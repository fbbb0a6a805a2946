"""Point and segment queries on the strategic index: which notice volumes may a track meet?

The strategic index answers "which stored volumes may conflict with this
volume"; tactical screening asks the same of thousands of moving points every
second. `segment_candidates` runs the index's first two stages (cells x days,
then vectorised time and cap bounds) for many tracks at once:

1. tracks are grouped by the H3 cell (at the index's resolution) they are in;
   each group looks up the buckets of the cells covering its cell's
   circumscribed cap inflated by the group's largest reach (distance the
   track can cover within the lookahead), over the days of the lookahead;
2. every (track, volume) candidate is kept only if the time windows meet and
   the track's reach cap meets the volume's bounding cap.

Both stages only discard volumes that cannot be met: a volume the track meets
within the lookahead lies within ``reach`` of its present position, so it
shares a cell with that cap (see geo.cells). Altitude and the exact footprint
are left to the caller.
"""

from __future__ import annotations

import math

import h3.api.basic_int as h3
import numpy as np
import numpy.typing as npt

from deconflict.geo import GEOD
from deconflict.geo.cells import CELL_CONSTANTS, cover
from deconflict.strategic.index import DAY_S, StrategicIndex

__all__ = ["segment_candidates"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def segment_candidates(
    index: StrategicIndex,
    lon: FloatArray,
    lat: FloatArray,
    reach_m: FloatArray,
    t0: float,
    t1: float,
) -> tuple[IntArray, list[tuple[str, int]]]:
    """Candidate (track, volume) pairs: track indices and (notice id, volume index).

    ``reach_m[i]`` is how far track ``i`` may get from (lon[i], lat[i]) within
    [t0, t1]. The caller holds whatever lock guards ``index``.
    """
    n = len(lon)
    if n == 0 or len(index) == 0:
        return np.empty(0, dtype=np.int64), []
    res = index.resolution
    circum_m = CELL_CONSTANTS[res][0] * 1000.0
    buckets = index._buckets
    cols = index._cols
    days = [*range(math.floor(t0 / DAY_S), math.floor(t1 / DAY_S) + 1), -1]
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(h3.latlng_to_cell(float(lat[i]), float(lon[i]), res), []).append(i)
    out_tracks: list[IntArray] = []
    out_slots: list[IntArray] = []
    for cell, members in groups.items():
        clat, clon = h3.cell_to_latlng(cell)
        idx = np.asarray(members, dtype=np.int64)
        reach = float(reach_m[idx].max())
        found: set[int] = set()
        for c in cover(clon, clat, circum_m + reach, res):
            for day in days:
                bucket = buckets.get((c, day))
                if bucket:
                    found |= bucket
        if not found:
            continue
        slots = np.fromiter(found, dtype=np.int64, count=len(found))
        live = (cols.column("t0", slots) <= t1) & (cols.column("t1", slots) >= t0)
        slots = slots[live]
        if len(slots) == 0:
            continue
        ti = np.repeat(idx, len(slots))
        si = np.tile(slots, len(idx))
        _, _, dist = GEOD.inv(lon[ti], lat[ti], cols.column("lon", si), cols.column("lat", si))
        keep = np.asarray(dist) <= cols.column("cap", si) + reach_m[ti] + 1.0
        out_tracks.append(ti[keep])
        out_slots.append(si[keep])
    if not out_tracks:
        return np.empty(0, dtype=np.int64), []
    tracks = np.concatenate(out_tracks)
    slots = np.concatenate(out_slots)
    owners = [index._owner[s] for s in slots.tolist()]
    return tracks, owners
