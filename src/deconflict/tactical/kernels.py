"""Compiled (numba) kernels of the grid screening engine: broad and narrow phase fused.

Each time slice of the lookahead places every track at the slice's mid-time in
the 4-D space of the k-d tree engine (ECEF ground point plus scaled height).
Instead of a tree, points are binned in a 2-D grid of cells no smaller than the
search radius, over two orthonormal axes perpendicular to the tracks' mean
vertical: a rotation preserves distances, so two points within the radius are
in the same or adjacent cells whatever the axes are (the axes only decide how
well the cells are filled). Every pair within the radius goes straight to the
exact interval test, so no candidate list is ever stored.

The exact test, `_interval`, is the numpy narrow phase of `screening.py`
written out for one pair, operation for operation and in the same order, so
that it gives the same floating-point results (held equal by a property test).
numba never reassociates or fuses floating-point operations unless asked to
(``fastmath`` is off), which is what makes that possible.

Kernels run without the GIL (``nogil``) and over all cores (``prange``); the
number of threads is numba's (``NUMBA_NUM_THREADS``, default: every core).
"""

from __future__ import annotations

import math
import os
from typing import Any

# GNU OpenMP (numba's thread pool here) spins its idle workers by default. On a
# machine shared with other work that spinning takes the core the working
# thread needs, and a parallel region ran 3-4 times slower than on one thread
# (benchmarks/README.md). Passive waiting costs nothing measurable on an idle
# machine. An operator's own setting wins; it must be made before the pool
# starts, hence here, at import.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
from numba import njit, prange

__all__ = ["bin_points", "grid_pairs", "narrow_pairs", "permute", "slice_points", "subset_pairs"]

SPEED_EPS_MPS = 1.0e-9
_SPEED_EPS_SQ = SPEED_EPS_MPS * SPEED_EPS_MPS
_INF = math.inf


@njit(cache=True, nogil=True, inline="always")
def _interval(
    x: Any,
    y: Any,
    z: Any,
    ux: Any,
    uy: Any,
    uz: Any,
    vx: Any,
    vy: Any,
    vz: Any,
    alt: Any,
    vs: Any,
    i: int,
    j: int,
    h_sep: float,
    v_sep: float,
    horizon: float,
    vreach: float,
) -> tuple[bool, float, float]:
    """Whether (i, j), i < j, conflicts, with the start and end of its overlap."""
    dz = alt[j] - alt[i]
    dvs = vs[j] - vs[i]
    dz_end = dz + dvs * horizon
    if not (min(dz, dz_end) <= vreach and max(dz, dz_end) >= -vreach):
        return False, 0.0, 0.0
    # vertical interval
    if abs(dvs) >= SPEED_EPS_MPS:
        ta = (-v_sep - dz) / dvs
        tb = (v_sep - dz) / dvs
        z0 = min(ta, tb)
        z1 = max(ta, tb)
    elif abs(dz) <= v_sep:
        z0, z1 = -_INF, _INF
    else:
        z0, z1 = _INF, -_INF
    # horizontal interval, on the pair's plane
    d0 = x[j] - x[i]
    d1 = y[j] - y[i]
    d2 = z[j] - z[i]
    w0 = vx[j] - vx[i]
    w1 = vy[j] - vy[i]
    w2 = vz[j] - vz[i]
    u0 = ux[i] + ux[j]
    u1 = uy[i] + uy[j]
    u2 = uz[i] + uz[j]
    uu = u0 * u0 + u1 * u1 + u2 * u2
    if uu < 1e-12:
        u0, u1, u2 = ux[i], uy[i], uz[i]
        uu = 1.0
    kd = (d0 * u0 + d1 * u1 + d2 * u2) / uu
    kw = (w0 * u0 + w1 * u1 + w2 * u2) / uu
    p0 = d0 - kd * u0
    p1 = d1 - kd * u1
    p2 = d2 - kd * u2
    q0 = w0 - kw * u0
    q1 = w1 - kw * u1
    q2 = w2 - kw * u2
    pp = p0 * p0 + p1 * p1 + p2 * p2
    a = q0 * q0 + q1 * q1 + q2 * q2
    b = p0 * q0 + p1 * q1 + p2 * q2
    hh = h_sep * h_sep
    c = pp - hh
    cx = p1 * q2 - p2 * q1
    cy = p2 * q0 - p0 * q2
    cz = p0 * q1 - p1 * q0
    disc = a * hh - (cx * cx + cy * cy + cz * cz)
    if a >= _SPEED_EPS_SQ:
        if disc >= 0.0:
            sq = math.sqrt(max(disc, 0.0))
            q = -(b + math.copysign(sq, b))
            r1 = q / a
            r2 = 0.0 if q == 0.0 else c / q
            h0 = min(r1, r2)
            h1 = max(r1, r2)
        else:
            h0, h1 = _INF, -_INF
    elif c <= 0.0:
        h0, h1 = -_INF, _INF
    else:
        h0, h1 = _INF, -_INF
    start = max(max(h0, z0), 0.0)  # noqa: PLW3301 - the numpy engine's order
    end = min(h1, z1)
    return start <= min(end, horizon), start, end


@njit(parallel=True, cache=True, nogil=True)
def narrow_pairs(
    x: Any,
    y: Any,
    z: Any,
    ux: Any,
    uy: Any,
    uz: Any,
    vx: Any,
    vy: Any,
    vz: Any,
    alt: Any,
    vs: Any,
    i: Any,
    j: Any,
    h_sep: float,
    v_sep: float,
    horizon: float,
    vreach: float,
) -> tuple[Any, Any, Any]:
    """The exact test over given pairs (i < j): hit flags, starts and ends."""
    m = i.shape[0]
    hit = np.zeros(m, dtype=np.bool_)
    start = np.zeros(m, dtype=np.float64)
    end = np.zeros(m, dtype=np.float64)
    for k in prange(m):
        ok, s, e = _interval(
            x, y, z, ux, uy, uz, vx, vy, vz, alt, vs, i[k], j[k], h_sep, v_sep, horizon, vreach
        )
        hit[k] = ok
        start[k] = s
        end[k] = e
    return hit, start, end


@njit(parallel=True, cache=True, nogil=True)
def slice_points(
    x: Any,
    y: Any,
    z: Any,
    vx: Any,
    vy: Any,
    vz: Any,
    alt: Any,
    vs: Any,
    t: float,
    scale: float,
    e1: Any,
    e2: Any,
    pts: Any,
) -> tuple[Any, Any, Any]:
    """4-D points at time ``t`` (n x 4) and their grid coordinates on axes e1, e2.

    The points are written to ``pts`` (n x 4), which a caller reuses from
    slice to slice rather than fault in fresh pages each time.
    """
    n = x.shape[0]
    gx = np.empty(n, dtype=np.float64)
    gy = np.empty(n, dtype=np.float64)
    for k in prange(n):
        a = x[k] + vx[k] * t
        b = y[k] + vy[k] * t
        c = z[k] + vz[k] * t
        pts[k, 0] = a
        pts[k, 1] = b
        pts[k, 2] = c
        pts[k, 3] = (alt[k] + vs[k] * t) * scale
        gx[k] = a * e1[0] + b * e1[1] + c * e1[2]
        gy[k] = a * e2[0] + b * e2[1] + c * e2[2]
    return pts, gx, gy


@njit(parallel=True, cache=True, nogil=True)
def bin_points(
    gx: Any, gy: Any, x0: float, y0: float, cell: float, ncx: int, ncy: int, starts: Any
) -> tuple[Any, Any, Any]:
    """Counting sort of points into cells: (cell of each point, CSR starts, order).

    ``starts`` (ncx * ncy + 1 entries, any content) is filled in place: a
    caller binning several slices passes the same buffer each time, so that
    millions of fresh zeroed pages are not faulted in for every slice. Each
    point's cell (a division per axis) is found over every core; the counting
    and placing stay on one thread.
    """
    n = gx.shape[0]
    cells = np.empty(n, dtype=np.int64)
    for k in prange(n):
        cx = min(int((gx[k] - x0) / cell), ncx - 1)
        cy = min(int((gy[k] - y0) / cell), ncy - 1)
        cells[k] = cx * ncy + cy
    nc = ncx * ncy
    starts[:] = 0
    for k in range(n):
        starts[cells[k]] += 1
    for c in range(1, nc):
        starts[c] += starts[c - 1]
    starts[nc] = n
    # starts[c] is now the end of cell c: placing the points from the last
    # down leaves it at the cell's start, each cell's points in input order.
    order = np.empty(n, dtype=np.int64)
    for k in range(n - 1, -1, -1):
        c = cells[k]
        starts[c] -= 1
        order[starts[c]] = k
    return cells, starts, order


@njit(cache=True, nogil=True, inline="always")
def _near(pts: Any, a: int, b: int, r2: float) -> bool:
    d0 = pts[a, 0] - pts[b, 0]
    d1 = pts[a, 1] - pts[b, 1]
    d2 = pts[a, 2] - pts[b, 2]
    d3 = pts[a, 3] - pts[b, 3]
    return bool(d0 * d0 + d1 * d1 + d2 * d2 + d3 * d3 <= r2)


@njit(cache=True, nogil=True)
def _row(
    row: Any,
    write: bool,
    at: int,
    limit: int,
    out_i: Any,
    out_j: Any,
    starts: Any,
    order: Any,
    ncx: int,
    ncy: int,
    pts: Any,
    r2: float,
    codes: Any,
    orig: Any,
) -> tuple[int, int]:
    """Candidate pairs (within the radius) whose first cell is in grid row ``row``.

    Each pair of cells is visited once: a cell with itself and with its
    forward neighbours (same row next column, next row three columns).
    Returns the count (twice); with ``write`` stores the first ``limit``
    pairs (as positions, ordered by original index) from ``at``.
    """
    use_codes = codes.shape[0] > 0
    row = np.int64(row)  # a prange index may be unsigned; mixed with signed it turns float
    cand = 0
    for col in range(ncy):
        c = row * ncy + col
        lo, hi = starts[c], starts[c + 1]
        if lo == hi:
            continue
        for nb in range(5):
            if nb == 0:
                nrow, ncol = row, col
            elif nb == 1:
                nrow, ncol = row, col + 1
            else:
                nrow, ncol = row + 1, col + nb - 3
            if nrow >= ncx or ncol < 0 or ncol >= ncy:
                continue
            nc = nrow * ncy + ncol
            nlo, nhi = starts[nc], starts[nc + 1]
            for ka in range(lo, hi):
                a = order[ka]
                first = ka + 1 if nb == 0 else nlo
                for kb in range(first, nhi):
                    b = order[kb]
                    if use_codes and codes[a] == codes[b]:
                        continue
                    if not _near(pts, a, b, r2):
                        continue
                    if write and cand < limit:
                        i, j = (a, b) if orig[a] < orig[b] else (b, a)
                        out_i[at + cand] = i
                        out_j[at + cand] = j
                    cand += 1
    return cand, cand


@njit(cache=True, nogil=True)
def _row_checks(row: Any, starts: Any, ncx: int, ncy: int) -> int:
    """How many distance checks `_row` makes in grid row ``row`` (from cell counts alone)."""
    row = np.int64(row)
    checks = 0
    for col in range(ncy):
        c = row * ncy + col
        na = starts[c + 1] - starts[c]
        if na == 0:
            continue
        checks += na * (na - 1) // 2
        if col + 1 < ncy:
            checks += na * (starts[c + 2] - starts[c + 1])
        if row + 1 < ncx:
            lo = (row + 1) * ncy + max(col - 1, 0)
            hi = (row + 1) * ncy + min(col + 2, ncy)
            checks += na * (starts[hi] - starts[lo])
    return checks


@njit(parallel=True, cache=True, nogil=True)
def grid_pairs(
    starts: Any,
    order: Any,
    ncx: int,
    ncy: int,
    pts: Any,
    r2: float,
    codes: Any,
    orig: Any,
    tr: Any,
    h_sep: float,
    v_sep: float,
    horizon: float,
    vreach: float,
    ratio: float,
) -> tuple[Any, Any, Any, Any, int, int]:
    """Every conflict among pairs within the radius in one slice.

    Returns i, j, start, end, the candidates and the distance checks made.
    Each row's candidates are written at the row's offset (no shared buffer
    grows, nothing is locked), then each gets the exact test; the conflicts
    are kept, in row order, as original indices. The offsets come from a
    counting pass over every row when ``ratio`` is 0; with ``ratio`` (the
    share of checks that were candidates in a previous slice) each row gets
    room for a generous share of its checks instead, counted from the cells
    alone, and only the rows that find more than that are searched again.
    """
    checks = np.zeros(ncx, dtype=np.int64)
    for row in prange(ncx):
        checks[row] = _row_checks(row, starts, ncx, ncy)
    counts = np.zeros(ncx, dtype=np.int64)
    none_i = np.zeros(0, dtype=np.int64)
    room = np.zeros(ncx, dtype=np.int64)
    if ratio > 0.0:
        for row in range(ncx):
            if checks[row]:
                room[row] = np.int64(checks[row] * min(1.0, 1.5 * ratio)) + 64
    else:
        for row in prange(ncx):
            _f, c = _row(
                row, False, 0, 0, none_i, none_i, starts, order, ncx, ncy, pts, r2, codes, orig
            )
            room[row] = c
    offsets = np.zeros(ncx + 1, dtype=np.int64)
    for row in range(ncx):
        offsets[row + 1] = offsets[row] + room[row]
    out_i = np.empty(offsets[ncx], dtype=np.int64)
    out_j = np.empty(offsets[ncx], dtype=np.int64)
    for row in prange(ncx):
        if room[row]:
            _f, c = _row(
                row,
                True,
                offsets[row],
                room[row],
                out_i,
                out_j,
                starts,
                order,
                ncx,
                ncy,
                pts,
                r2,
                codes,
                orig,
            )
            counts[row] = c
    # Rows that found more than their room: searched again, into a buffer of their own.
    more = np.zeros(ncx + 1, dtype=np.int64)
    for row in range(ncx):
        more[row + 1] = more[row] + (counts[row] if counts[row] > room[row] else 0)
    more_i = np.empty(more[ncx], dtype=np.int64)
    more_j = np.empty(more[ncx], dtype=np.int64)
    for row in prange(ncx):
        if counts[row] > room[row]:
            _row(
                row,
                True,
                more[row],
                counts[row],
                more_i,
                more_j,
                starts,
                order,
                ncx,
                ncy,
                pts,
                r2,
                codes,
                orig,
            )
    x, y, z, ux, uy, uz, vx, vy, vz, alt, vs = tr
    hit = np.zeros(offsets[ncx] + more[ncx], dtype=np.bool_)
    start = np.empty(hit.shape[0], dtype=np.float64)
    end = np.empty(hit.shape[0], dtype=np.float64)
    for row in prange(ncx):
        over = counts[row] > room[row]
        base = offsets[ncx] + more[row] if over else offsets[row]
        for k in range(counts[row]):
            a = more_i[more[row] + k] if over else out_i[offsets[row] + k]
            b = more_j[more[row] + k] if over else out_j[offsets[row] + k]
            ok, s, e = _interval(
                x, y, z, ux, uy, uz, vx, vy, vz, alt, vs, a, b, h_sep, v_sep, horizon, vreach
            )
            hit[base + k] = ok
            start[base + k] = s
            end[base + k] = e
    m = 0
    for k in range(hit.shape[0]):
        if hit[k]:
            m += 1
    ci = np.empty(m, dtype=np.int64)
    cj = np.empty(m, dtype=np.int64)
    cs = np.empty(m, dtype=np.float64)
    ce = np.empty(m, dtype=np.float64)
    m = 0
    for row in range(ncx):
        over = counts[row] > room[row]
        base = offsets[ncx] + more[row] if over else offsets[row]
        for k in range(counts[row]):
            if hit[base + k]:
                a = more_i[more[row] + k] if over else out_i[offsets[row] + k]
                b = more_j[more[row] + k] if over else out_j[offsets[row] + k]
                ci[m] = orig[a]
                cj[m] = orig[b]
                cs[m] = start[base + k]
                ce[m] = end[base + k]
                m += 1
    return ci, cj, cs, ce, int(counts.sum()), int(checks.sum())


@njit(cache=True, nogil=True)
def _point(
    ka: int,
    write: bool,
    at: int,
    out_i: Any,
    out_j: Any,
    out_s: Any,
    out_e: Any,
    subset: Any,
    in_subset: Any,
    cells: Any,
    starts: Any,
    order: Any,
    ncx: int,
    ncy: int,
    pts: Any,
    r2: float,
    codes: Any,
    orig: Any,
    tr: Any,
    h_sep: float,
    v_sep: float,
    horizon: float,
    vreach: float,
) -> tuple[int, int]:
    """Conflicts of subset point ``subset[ka]`` with every track in its 3 x 3 cells.

    A pair of two subset members is counted from its smaller member only.
    """
    x, y, z, ux, uy, uz, vx, vy, vz, alt, vs = tr
    use_codes = codes.shape[0] > 0
    a = subset[np.int64(ka)]
    row = cells[a] // ncy
    col = cells[a] - row * ncy
    found = 0
    cand = 0
    for nrow in range(max(row - 1, 0), min(row + 2, ncx)):
        for ncol in range(max(col - 1, 0), min(col + 2, ncy)):
            nc = nrow * ncy + ncol
            for kb in range(starts[nc], starts[nc + 1]):
                b = order[kb]
                if b == a or (in_subset[b] and orig[b] < orig[a]):
                    continue
                if use_codes and codes[a] == codes[b]:
                    continue
                if not _near(pts, a, b, r2):
                    continue
                cand += 1
                i, j = (a, b) if orig[a] < orig[b] else (b, a)
                ok, s, e = _interval(
                    x, y, z, ux, uy, uz, vx, vy, vz, alt, vs, i, j, h_sep, v_sep, horizon, vreach
                )
                if ok:
                    if write:
                        out_i[at + found] = orig[i]
                        out_j[at + found] = orig[j]
                        out_s[at + found] = s
                        out_e[at + found] = e
                    found += 1
    return found, cand


@njit(parallel=True, cache=True, nogil=True)
def subset_pairs(
    subset: Any,
    in_subset: Any,
    cells: Any,
    starts: Any,
    order: Any,
    ncx: int,
    ncy: int,
    pts: Any,
    r2: float,
    codes: Any,
    orig: Any,
    tr: Any,
    h_sep: float,
    v_sep: float,
    horizon: float,
    vreach: float,
) -> tuple[Any, Any, Any, Any, int]:
    """As `grid_pairs`, for the pairs with at least one member in ``subset``."""
    m = subset.shape[0]
    counts = np.zeros(m, dtype=np.int64)
    cands = np.zeros(m, dtype=np.int64)
    none_i = np.zeros(0, dtype=np.int64)
    none_f = np.zeros(0, dtype=np.float64)
    for k in prange(m):
        f, c = _point(
            k,
            False,
            0,
            none_i,
            none_i,
            none_f,
            none_f,
            subset,
            in_subset,
            cells,
            starts,
            order,
            ncx,
            ncy,
            pts,
            r2,
            codes,
            orig,
            tr,
            h_sep,
            v_sep,
            horizon,
            vreach,
        )
        counts[k] = f
        cands[k] = c
    offsets = np.zeros(m + 1, dtype=np.int64)
    for k in range(m):
        offsets[k + 1] = offsets[k] + counts[k]
    total = offsets[m]
    out_i = np.empty(total, dtype=np.int64)
    out_j = np.empty(total, dtype=np.int64)
    out_s = np.empty(total, dtype=np.float64)
    out_e = np.empty(total, dtype=np.float64)
    for k in prange(m):
        if counts[k]:
            _point(
                k,
                True,
                offsets[k],
                out_i,
                out_j,
                out_s,
                out_e,
                subset,
                in_subset,
                cells,
                starts,
                order,
                ncx,
                ncy,
                pts,
                r2,
                codes,
                orig,
                tr,
                h_sep,
                v_sep,
                horizon,
                vreach,
            )
    return out_i, out_j, out_s, out_e, int(cands.sum())


@njit(parallel=True, cache=True, nogil=True)
def permute(tr: Any, perm: Any) -> Any:
    """The track arrays reordered by ``perm``, as the rows of one array (over every core).

    One array at a time: a gather reads its source at random, and one 8 MB
    array stays in cache where eleven of them do not (a third faster at 1M).
    """
    n = perm.shape[0]
    out = np.empty((11, n), dtype=np.float64)
    for m in range(11):
        src = tr[m]
        for k in prange(n):
            out[m, k] = src[perm[k]]
    return out
