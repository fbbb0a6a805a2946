"""The grid screening engine: the same slices and radius as the k-d tree engine,
binned in a grid and tested by compiled kernels over every core (`kernels`).

`screen` decides the slices, the search radius and the height scale exactly as
for the k-d tree engine; this module places the points of each slice, bins
them, and collects the conflicts the kernels find. A pair found in several
slices is kept once (its interval does not depend on the slice).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import numba
import numpy as np
import numpy.typing as npt

from deconflict.tactical import kernels
from deconflict.tactical.frames import TrackStates, track_states

__all__ = ["grid_conflicts", "narrow", "state_workers", "track_tuple", "warm_up"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Conflicts = tuple[IntArray, IntArray, FloatArray, FloatArray, int]
# At most this many grid cells per track (and never fewer than the minimum):
# coarser cells cost more distance checks, never a missed pair.
_CELLS_PER_TRACK = 4
_MIN_CELLS = 1 << 16
# Below this many tracks (or pairs) the kernels run on the calling thread: a
# parallel region costs more than it saves there, and far more on a busy machine,
# where it waits for a descheduled worker.
PARALLEL_MIN_TRACKS = 20_000
PARALLEL_MIN_PAIRS = 50_000


@contextmanager
def threads_for(work: int, threshold: int) -> Iterator[None]:
    """numba's threads for this calling thread: all of them for large work, else one."""
    if work >= threshold:
        yield
        return
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(before)


def state_workers(n: int) -> int:
    """Threads for computing ``n`` tracks' states: numba's, for a scene the kernels parallelise."""
    return numba.get_num_threads() if n >= PARALLEL_MIN_TRACKS else 1


def track_tuple(tr: TrackStates) -> tuple[FloatArray, ...]:
    """The arrays the kernels read, contiguous, in their order."""
    return tuple(
        np.ascontiguousarray(a, dtype=np.float64)
        for a in (tr.x, tr.y, tr.z, tr.ux, tr.uy, tr.uz, tr.vx, tr.vy, tr.vz, tr.alt, tr.vs)
    )


def _axes(tr: TrackStates) -> tuple[FloatArray, FloatArray]:
    """Two orthonormal axes perpendicular to the tracks' mean vertical."""
    m = np.array([tr.ux.mean(), tr.uy.mean(), tr.uz.mean()], dtype=np.float64)
    norm = float(np.linalg.norm(m))
    m = m / norm if norm > 1e-6 else np.array([0.0, 0.0, 1.0])
    helper = np.zeros(3)
    helper[int(np.argmin(np.abs(m)))] = 1.0
    e1 = np.cross(m, helper)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(m, e1)
    return np.ascontiguousarray(e1), np.ascontiguousarray(e2 / np.linalg.norm(e2))


def _grid(
    gx: FloatArray, gy: FloatArray, radius: float, n: int
) -> tuple[float, float, float, int, int]:
    x0, y0 = float(gx.min()), float(gy.min())
    ext_x, ext_y = float(gx.max()) - x0, float(gy.max()) - y0
    cell = max(radius, 1e-3)
    cap = max(_CELLS_PER_TRACK * n, _MIN_CELLS)
    cells = (ext_x / cell + 1.0) * (ext_y / cell + 1.0)
    if cells > cap:
        cell *= math.sqrt(cells / cap) * (1.0 + 1e-9)
    ncx = int(ext_x / cell) + 1
    ncy = int(ext_y / cell) + 1
    return x0, y0, cell, ncx, ncy


def _room(buffer: IntArray | None, grid: tuple[float, float, float, int, int]) -> IntArray:
    """A buffer for a grid's CSR starts: the last slice's when it is large enough.

    The previous slice is done with it (its pairs are found) when the next is binned.
    """
    need = grid[3] * grid[4] + 1
    if buffer is not None and buffer.shape[0] >= need:
        return buffer
    return np.empty(need, dtype=np.int64)


def grid_conflicts(
    tr: TrackStates,
    *,
    k_slices: int,
    horizon: float,
    scale: float,
    radius: float,
    h_sep: float,
    v_sep: float,
    codes: IntArray | None,
    subset: IntArray | None,
) -> Conflicts:
    """Every conflicting pair (i < j), sorted, with its overlap, and the candidate count.

    With ``subset`` (sorted unique indices) only the pairs with a member in it.
    """
    with threads_for(int(tr.x.shape[0]), PARALLEL_MIN_TRACKS):
        return _grid_conflicts(
            tr,
            k_slices=k_slices,
            horizon=horizon,
            scale=scale,
            radius=radius,
            h_sep=h_sep,
            v_sep=v_sep,
            codes=codes,
            subset=subset,
        )


def _grid_conflicts(
    tr: TrackStates,
    *,
    k_slices: int,
    horizon: float,
    scale: float,
    radius: float,
    h_sep: float,
    v_sep: float,
    codes: IntArray | None,
    subset: IntArray | None,
) -> Conflicts:
    n = int(tr.x.shape[0])
    e1, e2 = _axes(tr)
    r2 = radius * radius
    vreach = v_sep * (1.0 + 1e-9) + 1e-9
    half = 0.5 * horizon / k_slices
    # The first slice's cells order the tracks: the kernels then read
    # neighbours from nearby memory in every slice (tracks move little from
    # one slice to the next), which is most of their speed at a million tracks.
    arrays = track_tuple(tr)
    x, y, z, _, _, _, vx, vy, vz, alt, vs = arrays
    room_pts = np.empty((n, 4), dtype=np.float64)
    pts, gx, gy = kernels.slice_points(x, y, z, vx, vy, vz, alt, vs, half, scale, e1, e2, room_pts)
    grid = _grid(gx, gy, radius, n)
    room = _room(None, grid)
    cells, starts, perm = kernels.bin_points(gx, gy, *grid, room[: grid[3] * grid[4] + 1])
    del gx, gy
    stacked = kernels.permute(arrays, perm)
    arrays = tuple(stacked[m] for m in range(stacked.shape[0]))
    x, y, z, _, _, _, vx, vy, vz, alt, vs = arrays
    # The same points placed again from the reordered tracks (the same
    # operations per track, so the same values): far cheaper than gathering
    # the n x 4 array by ``perm``.
    pts, _, _ = kernels.slice_points(x, y, z, vx, vy, vz, alt, vs, half, scale, e1, e2, room_pts)
    order = np.arange(n, dtype=np.int64)
    code_arr = np.zeros(0, dtype=np.int64) if codes is None else np.ascontiguousarray(codes[perm])
    sub_p = in_subset = None
    if subset is not None:
        cells = cells[perm]  # only the subset's search reads each point's cell
        inverse = np.empty(n, dtype=np.int64)
        inverse[perm] = np.arange(n, dtype=np.int64)
        sub_p = np.sort(inverse[subset])
        in_subset = np.zeros(n, dtype=np.bool_)
        in_subset[sub_p] = True
    parts: list[tuple[IntArray, IntArray, FloatArray, FloatArray]] = []
    n_candidates = 0
    ratio = 0.0  # candidates per distance check: unknown before the first slice
    for k in range(k_slices):
        if k:
            t = (k + 0.5) * 2.0 * half
            pts, gx, gy = kernels.slice_points(
                x, y, z, vx, vy, vz, alt, vs, t, scale, e1, e2, room_pts
            )
            grid = _grid(gx, gy, radius, n)
            room = _room(room, grid)
            cells, starts, order = kernels.bin_points(gx, gy, *grid, room[: grid[3] * grid[4] + 1])
            del gx, gy
        _, _, _, ncx, ncy = grid
        if sub_p is None:
            i, j, s, e, c, checks = kernels.grid_pairs(
                starts,
                order,
                ncx,
                ncy,
                pts,
                r2,
                code_arr,
                perm,
                arrays,
                h_sep,
                v_sep,
                horizon,
                vreach,
                ratio,
            )
            # The next slice, much like this one, sizes its rows' room from
            # this share instead of counting every row first.
            ratio = float(c) / float(checks) if checks else 0.0
        else:
            i, j, s, e, c = kernels.subset_pairs(
                sub_p,
                in_subset,
                cells,
                starts,
                order,
                ncx,
                ncy,
                pts,
                r2,
                code_arr,
                perm,
                arrays,
                h_sep,
                v_sep,
                horizon,
                vreach,
            )
        n_candidates += int(c)
        if i.shape[0]:
            parts.append((i, j, s, e))
    if not parts:
        empty_i = np.zeros(0, dtype=np.int64)
        empty_f = np.zeros(0, dtype=np.float64)
        return empty_i, empty_i.copy(), empty_f, empty_f.copy(), n_candidates
    i = np.concatenate([p[0] for p in parts])
    j = np.concatenate([p[1] for p in parts])
    s = np.concatenate([p[2] for p in parts])
    e = np.concatenate([p[3] for p in parts])
    keys = i * max(n, 1) + j
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    first = np.empty(keys.shape[0], dtype=np.bool_)
    first[0] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    keep = order[first]
    return i[keep], j[keep], s[keep], e[keep], n_candidates


def narrow(
    tr: TrackStates, i: IntArray, j: IntArray, *, h_sep: float, v_sep: float, horizon: float
) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
    """The exact test over given pairs (i < j): the conflicting ones and their overlaps."""
    arrays = track_tuple(tr)
    vreach = v_sep * (1.0 + 1e-9) + 1e-9
    with threads_for(int(i.shape[0]), PARALLEL_MIN_PAIRS):
        hit, s, e = kernels.narrow_pairs(
            *arrays,
            np.ascontiguousarray(i, dtype=np.int64),
            np.ascontiguousarray(j, dtype=np.int64),
            h_sep,
            v_sep,
            horizon,
            vreach,
        )
    keep = np.flatnonzero(hit)
    return i[keep], j[keep], s[keep], e[keep]


def warm_up() -> None:
    """Load (or, the first time, compile) every kernel, on a scene of a few tracks.

    A compile takes seconds and holds the GIL: a server calls this before it
    serves, not in the middle of its first screening cycle. Compiled kernels are
    cached beside the module (numba's ``cache=True``) for the next start.
    """
    lat = np.array([0.0, 0.0, 0.001, 0.002])
    tr = _tiny_states(lat)
    n = int(lat.shape[0])
    codes = np.array([0, 1, 0, 1], dtype=np.int64)
    for subset in (None, np.array([1], dtype=np.int64)):
        grid_conflicts(
            tr,
            k_slices=2,
            horizon=30.0,
            scale=1.0,
            radius=1000.0,
            h_sep=50.0,
            v_sep=15.0,
            codes=codes,
            subset=subset,
        )
    i, j = np.triu_indices(n, k=1)
    narrow(tr, i.astype(np.int64), j.astype(np.int64), h_sep=50.0, v_sep=15.0, horizon=30.0)


def _tiny_states(lat: FloatArray) -> TrackStates:
    zero = np.zeros_like(lat)
    return track_states(
        lat, zero, alt_m=zero + 50.0, gs_mps=zero + 10.0, trk_deg=zero + 90.0, vs_mps=zero
    )
