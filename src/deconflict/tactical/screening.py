"""State-based screening of track pairs for predicted losses of separation.

The model is the standard state-based one: every track flies straight at its
current ground speed, track and vertical rate. A pair conflicts iff the time
interval during which it is inside the horizontal minimum and the interval
during which it is inside the vertical minimum overlap, and that overlap meets
[0, lookahead]. All intervals are closed, so touching a minimum counts.

Horizontal geometry of a pair is done on the plane perpendicular to the mean of
the two tracks' geodetic verticals, from ECEF vectors of their ground points and
horizontal velocities; this needs no map projection and behaves the same at the
antimeridian and next to a pole.

Work is split in two phases so that N tracks cost far less than N^2 pair checks:

* broad phase: the lookahead is cut into time slices; for each slice every track
  is placed at the slice's mid-time, in a 4-D space of ECEF ground position plus
  scaled height, and a k-d tree returns every pair closer than a radius derived
  from the minima and the largest speeds. The radius is an upper bound, so no
  conflicting pair can be missed; it only lets some harmless pairs through.
  With ``only`` (a few changed tracks), each slice queries a small tree of
  those tracks against the tree of all, so only their neighbourhoods are walked.
* narrow phase: the exact interval test above, vectorised over candidate pairs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from deconflict.tactical.frames import (
    MIN_RADIUS_OF_CURVATURE_M,
    TrackStates,
    local_axes,
    track_states,
)
from deconflict.tactical.grid import grid_conflicts, state_workers

__all__ = ["ENGINES", "ScreenResult", "screen"]

ENGINES = ("grid", "kdtree")

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Input bounds. They are far outside anything that flies; their purpose is to
# keep every intermediate product (speed^2 x distance^2 and so on) finite, so
# that the arithmetic never overflows and never raises a floating-point warning.
MAX_ABS_LON_DEG = 360.0
MAX_ABS_ALT_M = 1.0e7
MAX_GS_MPS = 1.0e5
MAX_ABS_VS_MPS = 1.0e5
MAX_H_SEP_M = 2.0e7
MAX_V_SEP_M = 1.0e7
MAX_LOOKAHEAD_S = 1.0e9

# Relative speeds below this are treated as exactly zero (the pair keeps its
# present geometry for ever). Over the longest lookahead accepted this moves a
# pair by at most 1 m, and it is what keeps every division well conditioned.
SPEED_EPS_MPS = 1.0e-9

# Above this initial reach the curvature bounds of the broad phase stop being
# small, and every pair is simply handed to the narrow phase.
_GLOBAL_REACH_M = 2.0e6

# Candidate pairs are checked in chunks of this many, to bound peak memory.
_CHUNK = 1 << 20

# Choosing the number of broad-phase time slices (see _choose_slices).
_SLICE_CHOICES = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32)
_PILOT_SIZE = 1024
_PILOT_MIN_TRACKS = 64
_SLICE_COST_IN_PAIRS = 3.0
# The grid engine's slice (placing and binning every track) costs less.
_GRID_SLICE_COST_IN_PAIRS = 1.5


@dataclass(frozen=True, eq=False)
class ScreenResult:
    """Conflicting pairs and, aligned with them, what a controller needs about each.

    ``pairs[k] = (i, j)`` with ``i < j`` indexes the input arrays; rows are unique
    and sorted lexicographically. For pair ``k``:

    * ``t_los_s``: seconds from now until separation is lost (0 if already lost);
    * ``t_exit_s``: seconds until the predicted loss ends (may exceed the
      lookahead; ``inf`` if it never ends, e.g. identical velocities);
    * ``tcpa_s`` / ``dcpa_m``: time (>= 0) and horizontal distance of the closest
      horizontal approach from now on (0 and the present distance when the pair
      is diverging or has no relative motion);
    * ``dist_m``: present horizontal distance; ``dalt_m``: ``alt[j] - alt[i]``;
    * ``bearing_deg``: true bearing of ``j`` seen from ``i``, in [0, 360).

    ``n_candidates`` is the number of pairs the broad phase let through
    (a diagnostic for tuning and benchmarks).
    """

    pairs: IntArray
    t_los_s: FloatArray
    t_exit_s: FloatArray
    tcpa_s: FloatArray
    dcpa_m: FloatArray
    dist_m: FloatArray
    dalt_m: FloatArray
    bearing_deg: FloatArray
    n_candidates: int = 0

    def __len__(self) -> int:
        return int(self.pairs.shape[0])


def screen(
    lat: Any,
    lon: Any,
    alt_m: Any,
    gs_mps: Any,
    trk_deg: Any,
    vs_mps: Any,
    *,
    h_sep_m: float,
    v_sep_m: float,
    lookahead_s: float,
    party: Any = None,
    only: Any = None,
    slices: int | None = None,
    engine: str = "grid",
) -> ScreenResult:
    """Every pair of tracks predicted to lose separation within the lookahead.

    Arrays (any 1-D array-like of equal length N): ``lat``/``lon`` in degrees
    (WGS-84), ``alt_m`` height in metres, ``gs_mps`` ground speed, ``trk_deg``
    true track (clockwise from north), ``vs_mps`` vertical rate (positive up).
    ``party``: optional length-N labels; only pairs of different labels are
    screened. ``only``: optional indices (into the arrays; repeats allowed);
    then only the pairs with at least one member among them are returned,
    exactly the rows of the full answer that touch them, at a cost that grows
    with their number rather than with all pairs (a changed track against the
    whole picture). Raises ``ValueError`` naming the offending argument on bad
    input.

    Cost grows with N log N and with the number of pairs that come near each
    other, not with N^2 (about 0.1 s for 20,000 airliners, 0.3 s for 100,000
    drones on one core; see benchmarks/README.md). The exception is a
    lookahead long enough for two tracks to close more than 2,000 km, where the
    straight-line model means little anyway: then every pair is checked.
    ``slices`` forces the number of broad-phase time slices (tests, tuning).

    ``engine``: ``"grid"`` (default) bins each slice in a grid and runs the
    broad and narrow phases in compiled kernels over every core
    (`deconflict.tactical.grid`); ``"kdtree"`` is the single-core engine of
    the first version (scipy k-d trees, numpy narrow phase). Both return the
    same pairs with the same values; only ``n_candidates`` differs (the grid
    engine counts a pair once per slice that lets it through).
    """
    return _screen(
        lat,
        lon,
        alt_m,
        gs_mps,
        trk_deg,
        vs_mps,
        h_sep_m=h_sep_m,
        v_sep_m=v_sep_m,
        lookahead_s=lookahead_s,
        party=party,
        only=only,
        slices=slices,
        engine=engine,
    )[0]


def _screen(
    lat: Any,
    lon: Any,
    alt_m: Any,
    gs_mps: Any,
    trk_deg: Any,
    vs_mps: Any,
    *,
    h_sep_m: float,
    v_sep_m: float,
    lookahead_s: float,
    party: Any = None,
    only: Any = None,
    slices: int | None = None,
    engine: str = "grid",
    tracks: TrackStates | None = None,
) -> tuple[ScreenResult, TrackStates]:
    """`screen`, and the track states it used: ``tracks`` when given (the states of
    these very arrays, computed by the caller), else computed here. The incremental
    screen keeps them as its reference rather than compute them twice a cycle."""
    lat_a = _vector("lat", lat)
    n = lat_a.shape[0]
    lon_a = _vector("lon", lon, n)
    alt_a = _vector("alt_m", alt_m, n)
    gs_a = _vector("gs_mps", gs_mps, n)
    trk_a = _vector("trk_deg", trk_deg, n)
    vs_a = _vector("vs_mps", vs_mps, n)
    _check_range("lat", lat_a, -90.0, 90.0)
    _check_range("lon", lon_a, -MAX_ABS_LON_DEG, MAX_ABS_LON_DEG)
    _check_range("alt_m", alt_a, -MAX_ABS_ALT_M, MAX_ABS_ALT_M)
    _check_range("gs_mps", gs_a, 0.0, MAX_GS_MPS)
    _check_range("vs_mps", vs_a, -MAX_ABS_VS_MPS, MAX_ABS_VS_MPS)
    h_sep = _scalar("h_sep_m", h_sep_m, MAX_H_SEP_M)
    v_sep = _scalar("v_sep_m", v_sep_m, MAX_V_SEP_M)
    horizon = _scalar("lookahead_s", lookahead_s, MAX_LOOKAHEAD_S)
    codes = None if party is None else _party_codes(party, n)
    subset = None if only is None else _indices("only", only, n)
    if slices is not None and slices < 1:
        raise ValueError(f"slices must be >= 1, got {slices}")
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")

    # The grid engine's tracks are placed on every core too; the k-d tree
    # engine stays the single-core engine of the first version.
    workers = state_workers(n) if engine == "grid" else 1
    if tracks is None:
        tracks = track_states(
            lat_a, lon_a, alt_m=alt_a, gs_mps=gs_a, trk_deg=trk_a, vs_mps=vs_a, workers=workers
        )
    plan = _plan(tracks, h_sep, v_sep, horizon, slices, subset, engine)
    if engine == "grid" and plan is not None:
        gi, gj, gs, ge, n_grid = grid_conflicts(
            tracks,
            k_slices=plan.k_slices,
            horizon=horizon,
            scale=plan.scale,
            radius=plan.radius,
            h_sep=h_sep,
            v_sep=v_sep,
            codes=codes,
            subset=subset,
        )
        if gi.shape[0] == 0:
            return _empty(n_grid), tracks
        found = _describe(
            tracks, lat=lat_a, lon=lon_a, i=gi, j=gj, start=gs, end=ge, n_candidates=n_grid
        )
        return found, tracks
    keys = _candidate_keys(tracks, h_sep, v_sep, horizon, slices, subset, plan)
    i_all = keys // max(n, 1)
    j_all = keys - i_all * max(n, 1)
    if codes is not None:
        keep = codes[i_all] != codes[j_all]
        i_all, j_all = i_all[keep], j_all[keep]
    n_candidates = int(i_all.shape[0])

    parts = [
        _narrow(
            tracks,
            i_all[s : s + _CHUNK],
            j_all[s : s + _CHUNK],
            h_sep=h_sep,
            v_sep=v_sep,
            horizon=horizon,
        )
        for s in range(0, n_candidates, _CHUNK)
    ]
    if not parts:
        return _empty(n_candidates), tracks
    found = _describe(
        tracks,
        lat=lat_a,
        lon=lon_a,
        i=np.concatenate([p[0] for p in parts]),
        j=np.concatenate([p[1] for p in parts]),
        start=np.concatenate([p[2] for p in parts]),
        end=np.concatenate([p[3] for p in parts]),
        n_candidates=n_candidates,
    )
    return found, tracks


# --------------------------------------------------------------------------- validation


def _vector(name: str, value: Any, n: int | None = None) -> FloatArray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of numbers ({exc})") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} has length {arr.shape[0]} but lat has length {n}")
    bad = ~np.isfinite(arr)
    if bad.any():
        k = int(np.argmax(bad))
        raise ValueError(f"{name} must be finite: {name}[{k}] is {arr[k]}")
    return arr


def _check_range(name: str, arr: FloatArray, lo: float, hi: float) -> None:
    bad = (arr < lo) | (arr > hi)
    if bad.any():
        k = int(np.argmax(bad))
        raise ValueError(f"{name} must be within [{lo:g}, {hi:g}]: {name}[{k}] is {arr[k]}")


def _scalar(name: str, value: Any, hi: float) -> float:
    if isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x}")
    if x < 0.0:
        raise ValueError(f"{name} must be non-negative, got {x}")
    if x > hi:
        raise ValueError(f"{name} must be at most {hi:g}, got {x}")
    return x


def _indices(name: str, value: Any, n: int) -> IntArray:
    """Sorted unique indices into arrays of length ``n``."""
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must be integer indices, got dtype {arr.dtype}")
    bad = (arr < 0) | (arr >= n)
    if bad.any():
        k = int(np.argmax(bad))
        raise ValueError(f"{name} must index arrays of length {n}: {name}[{k}] is {arr[k]}")
    return np.unique(arr.astype(np.int64))


def _party_codes(party: Any, n: int) -> IntArray:
    labels = np.asarray(party)
    if labels.ndim != 1:
        raise ValueError(f"party must be one-dimensional, got shape {labels.shape}")
    if labels.shape[0] != n:
        raise ValueError(f"party has length {labels.shape[0]} but lat has length {n}")
    try:
        _, codes = np.unique(labels, return_inverse=True)
    except TypeError as exc:
        raise ValueError(f"party labels must be mutually comparable ({exc})") from None
    return np.asarray(codes, dtype=np.int64).reshape(n)


# --------------------------------------------------------------------------- broad phase


@dataclass(frozen=True, slots=True)
class _Reach:
    """Everything the broad phase's search radius depends on, for one scene."""

    h_sep: float
    v_sep: float
    horizon: float
    gs_max: float
    vs_max: float
    out_of_plane: float

    def radii(self, slices: int) -> tuple[float, float]:
        """Horizontal and vertical search radii when the lookahead is cut in ``slices``.

        A pair that conflicts at some time is, at the mid-time of that time's
        slice, at most half a slice of closing (both tracks at top speed) further
        apart than the minima, plus the out-of-plane bound.
        """
        half = 0.5 * self.horizon / slices
        r_h = math.hypot(self.h_sep, self.out_of_plane) + 2.0 * self.gs_max * half + 1e-3
        r_v = self.v_sep + 2.0 * self.vs_max * half + 1e-3
        return r_h, r_v


def _choose_slices(
    tr: TrackStates,
    reach: _Reach,
    subset: int | None = None,
    slice_cost: float = _SLICE_COST_IN_PAIRS,
) -> int:
    """How many time slices the broad phase cuts the lookahead into.

    More slices mean smaller search radii (fewer harmless candidate pairs) but
    one more k-d tree each. A sample of the tracks predicts the candidates per
    slice for each choice; the cost model counts one slice per track as
    ``_SLICE_COST_IN_PAIRS`` candidate pairs, fitted with benchmarks/tactical.py
    on airliners (5 NM, 300 s) and drones (50 m, 30 s). With ``subset`` (the
    number of tracks in ``only``) just the share of pairs touching them counts.
    """
    n = int(tr.x.shape[0])
    if n < _PILOT_MIN_TRACKS or reach.horizon == 0.0 or reach.gs_max + reach.vs_max == 0.0:
        return 1
    share = 1.0
    if subset is not None:
        if subset * (n - 1) <= slice_cost * n:  # fewer pairs than one slice costs
            return 1
        rest = (n - subset) / n
        share = 1.0 - rest * rest
    # A sample small next to the screening itself: an eighth of a small scene.
    # The grid engine's slices are cheap enough to afford a larger sample, which
    # a large sparse scene needs to see any close pairs at all.
    pilot = _PILOT_SIZE if slice_cost >= _SLICE_COST_IN_PAIRS else max(_PILOT_SIZE, n // 64)
    sample = np.linspace(0, n - 1, min(n, max(256, n // 8), pilot, 32768)).astype(np.int64)
    m = int(sample.shape[0])
    mid = 0.5 * reach.horizon
    ground = np.column_stack(
        [
            tr.x[sample] + tr.vx[sample] * mid,
            tr.y[sample] + tr.vy[sample] * mid,
            tr.z[sample] + tr.vz[sample] * mid,
        ]
    )
    choices = np.asarray(_SLICE_CHOICES, dtype=np.int64)
    radii = np.array([reach.radii(int(k)) for k in choices])
    tree = cKDTree(ground)
    # Ordered pairs, each point with itself included: halve after removing those.
    close_h = (np.asarray(tree.count_neighbors(tree, radii[:, 0]), dtype=np.float64) - m) / 2
    heights = np.sort(tr.alt[sample] + tr.vs[sample] * mid)
    rank = np.arange(m)
    close_v = np.array(
        [
            float((np.searchsorted(heights, heights + r, side="right") - rank - 1).sum())
            for r in radii[:, 1]
        ]
    )
    sample_pairs = m * (m - 1) / 2
    # Independence of horizontal and vertical closeness is assumed; the 4-D
    # ball takes about 1.7 times the cylinder's pairs.
    per_slice = n * (n - 1) / 2 * (close_h / sample_pairs) * (close_v / sample_pairs) * 1.73
    per_slice *= share
    cost = choices * (slice_cost * n + per_slice)
    return int(choices[int(np.argmin(cost))])


@dataclass(frozen=True, slots=True)
class _Plan:
    """The broad phase of one call: time slices, 4-D search radius, height scale."""

    k_slices: int
    half: float
    scale: float
    radius: float


def _plan(
    tr: TrackStates,
    h_sep: float,
    v_sep: float,
    horizon: float,
    slices: int | None,
    subset: IntArray | None,
    engine: str,
) -> _Plan | None:
    """The slices and radius of the broad phase (None: every pair is a candidate)."""
    n = int(tr.x.shape[0])
    if n < 2 or (subset is not None and subset.shape[0] == 0):
        return None
    gs_max = float(tr.gs.max())
    vs_max = float(np.abs(tr.vs).max())
    reach = h_sep + 2.0 * gs_max * horizon
    if reach > _GLOBAL_REACH_M:
        return None

    # Straight lines in ECEF leave the horizontal plane of the pair: the other
    # track's velocity is tangent at its own position, tilted from the pair's
    # plane by at most half the angle between the two verticals. This bounds the
    # out-of-plane part of the 3-D separation, which the tree does see.
    theta = 1.05 * reach / MIN_RADIUS_OF_CURVATURE_M
    bounds = _Reach(
        h_sep=h_sep,
        v_sep=v_sep,
        horizon=horizon,
        gs_max=gs_max,
        vs_max=vs_max,
        out_of_plane=1.5 * theta * (gs_max * horizon + 0.01 * reach) + 1e-3,
    )
    m = None if subset is None else int(subset.shape[0])
    cost = _GRID_SLICE_COST_IN_PAIRS if engine == "grid" else _SLICE_COST_IN_PAIRS
    k_slices = slices if slices is not None else _choose_slices(tr, bounds, m, cost)
    half = 0.5 * horizon / k_slices
    r_h, r_v = bounds.radii(k_slices)
    # Height enters the tree scaled so that the ball of radius sqrt(r_h^2 + (s r_v)^2)
    # hugs the cylinder (r_h, r_v): s = r_h / (sqrt(2) r_v) minimises its volume.
    scale = r_h / (math.sqrt(2.0) * r_v)
    radius = math.hypot(r_h, scale * r_v) * (1.0 + 1e-9)
    return _Plan(k_slices=k_slices, half=half, scale=scale, radius=radius)


def _candidate_keys(
    tr: TrackStates,
    h_sep: float,
    v_sep: float,
    horizon: float,
    slices: int | None,
    subset: IntArray | None,
    plan: _Plan | None,
) -> IntArray:
    """Sorted unique ``i * n + j`` (i < j) of every pair that might conflict.

    With ``subset`` (sorted unique indices) only pairs with a member in it.
    """
    n = int(tr.x.shape[0])
    if n < 2 or (subset is not None and subset.shape[0] == 0):
        return np.zeros(0, dtype=np.int64)
    if plan is None:
        if subset is None:
            i, j = np.triu_indices(n, k=1)
            return i.astype(np.int64) * n + j.astype(np.int64)
        a = np.repeat(subset, n)
        b = np.tile(np.arange(n, dtype=np.int64), subset.shape[0])
        return _unique_keys([_pair_keys(a, b, n)])
    k_slices, half, scale, radius = plan.k_slices, plan.half, plan.scale, plan.radius

    pts = np.empty((n, 4), dtype=np.float64)
    found: list[IntArray] = []
    for k in range(k_slices):
        t = (k + 0.5) * 2.0 * half
        np.multiply(tr.vx, t, out=pts[:, 0])
        pts[:, 0] += tr.x
        np.multiply(tr.vy, t, out=pts[:, 1])
        pts[:, 1] += tr.y
        np.multiply(tr.vz, t, out=pts[:, 2])
        pts[:, 2] += tr.z
        np.multiply(tr.vs, t, out=pts[:, 3])
        pts[:, 3] += tr.alt
        pts[:, 3] *= scale
        tree = cKDTree(pts, leafsize=16)
        if subset is None:
            ij = np.asarray(tree.query_pairs(radius, output_type="ndarray"), dtype=np.int64)
            if ij.shape[0]:
                # query_pairs already returns i < j
                found.append(ij[:, 0] * n + ij[:, 1])
            continue
        # The subset's own (small) tree against everyone's: a dual-tree walk
        # whose cost follows the subset's neighbourhoods, not all pairs.
        near = cKDTree(pts[subset], leafsize=16).sparse_distance_matrix(
            tree, radius, output_type="ndarray"
        )
        if near.shape[0]:
            found.append(_pair_keys(subset[np.asarray(near["i"], dtype=np.int64)], near["j"], n))
    return _unique_keys(found)


def _pair_keys(a: Any, b: Any, n: int) -> IntArray:
    """``min * n + max`` of each pair (a, b) with a != b."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    other = a != b
    a, b = a[other], b[other]
    keys: IntArray = np.minimum(a, b) * n + np.maximum(a, b)
    return keys


def _unique_keys(found: list[IntArray]) -> IntArray:
    found = [f for f in found if f.shape[0]]
    if not found:
        return np.zeros(0, dtype=np.int64)
    keys = np.sort(np.concatenate(found))
    # Sort-and-compare is several times faster here than np.unique's hashing.
    fresh = np.empty(keys.shape[0], dtype=np.bool_)
    fresh[0] = True
    np.not_equal(keys[1:], keys[:-1], out=fresh[1:])
    return keys[fresh]


# --------------------------------------------------------------------------- narrow phase


def _narrow(
    tr: TrackStates, i: IntArray, j: IntArray, *, h_sep: float, v_sep: float, horizon: float
) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
    """The conflicting pairs among (i, j), with the start and end of their overlap."""
    # Vertical first: it is cheap and removes most candidates. The height
    # difference moves along a segment during the lookahead; a pair whose
    # segment misses [-v, v] can never conflict. The slack keeps this filter a
    # superset of the exact test below despite rounding.
    dz = tr.alt[j] - tr.alt[i]
    dvs = tr.vs[j] - tr.vs[i]
    dz_end = dz + dvs * horizon
    reach = v_sep * (1.0 + 1e-9) + 1e-9
    keep = np.flatnonzero((np.minimum(dz, dz_end) <= reach) & (np.maximum(dz, dz_end) >= -reach))
    i, j, dz, dvs = i.take(keep), j.take(keep), dz.take(keep), dvs.take(keep)
    z0, z1 = _vertical_interval(dz, dvs, v_sep)

    h0, h1 = _horizontal_interval(tr, i, j, h_sep)
    start = np.maximum(np.maximum(h0, z0), 0.0)
    end = np.minimum(h1, z1)
    hit = np.flatnonzero(start <= np.minimum(end, horizon))
    return i.take(hit), j.take(hit), start.take(hit), end.take(hit)


def _vertical_interval(
    dz: FloatArray, dvs: FloatArray, v_sep: float
) -> tuple[FloatArray, FloatArray]:
    """When |dz + dvs t| <= v_sep, as [z0, z1] (empty: z0 = +inf, z1 = -inf)."""
    moving = np.abs(dvs) >= SPEED_EPS_MPS
    inside_now = np.abs(dz) <= v_sep
    rate = np.where(moving, dvs, 1.0)
    ta = (-v_sep - dz) / rate
    tb = (v_sep - dz) / rate
    z0 = np.where(moving, np.minimum(ta, tb), np.where(inside_now, -np.inf, np.inf))
    z1 = np.where(moving, np.maximum(ta, tb), np.where(inside_now, np.inf, -np.inf))
    return z0, z1


def _in_plane(
    tr: TrackStates, i: IntArray, j: IntArray
) -> tuple[list[FloatArray], list[FloatArray], list[FloatArray]]:
    """Position and velocity of j relative to i, projected on the pair's plane.

    Also returns the raw ground-point difference (for bearings). The plane is
    perpendicular to the sum of the two geodetic verticals; only for antipodal
    tracks is that sum zero, and then i's vertical stands in.
    """
    d = [tr.x[j] - tr.x[i], tr.y[j] - tr.y[i], tr.z[j] - tr.z[i]]
    w = [tr.vx[j] - tr.vx[i], tr.vy[j] - tr.vy[i], tr.vz[j] - tr.vz[i]]
    u = [tr.ux[i] + tr.ux[j], tr.uy[i] + tr.uy[j], tr.uz[i] + tr.uz[j]]
    uu = u[0] * u[0] + u[1] * u[1] + u[2] * u[2]
    antipodal = uu < 1e-12
    if antipodal.any():
        u = [
            np.where(antipodal, tr.ux[i], u[0]),
            np.where(antipodal, tr.uy[i], u[1]),
            np.where(antipodal, tr.uz[i], u[2]),
        ]
        uu = np.where(antipodal, 1.0, uu)
    kd = (d[0] * u[0] + d[1] * u[1] + d[2] * u[2]) / uu
    kw = (w[0] * u[0] + w[1] * u[1] + w[2] * u[2]) / uu
    p = [d[k] - kd * u[k] for k in range(3)]
    v = [w[k] - kw * u[k] for k in range(3)]
    return p, v, d


def _horizontal_interval(
    tr: TrackStates, i: IntArray, j: IntArray, h_sep: float
) -> tuple[FloatArray, FloatArray]:
    """When the horizontal distance is <= h_sep, as [h0, h1] (empty: +inf, -inf)."""
    p, v, _ = _in_plane(tr, i, j)
    pp = p[0] * p[0] + p[1] * p[1] + p[2] * p[2]
    a = v[0] * v[0] + v[1] * v[1] + v[2] * v[2]
    b = p[0] * v[0] + p[1] * v[1] + p[2] * v[2]
    c = pp - h_sep * h_sep
    # |p + v t|^2 <= h^2  <=>  a t^2 + 2 b t + c <= 0, whose discriminant
    # b^2 - a c equals a h^2 - |p x v|^2. Written that way it is accurate to the
    # last bits even when the pair is far away and the miss distance is tiny
    # compared with it, where b^2 - a c would cancel catastrophically.
    cx = p[1] * v[2] - p[2] * v[1]
    cy = p[2] * v[0] - p[0] * v[2]
    cz = p[0] * v[1] - p[1] * v[0]
    disc = a * (h_sep * h_sep) - (cx * cx + cy * cy + cz * cz)

    moving = a >= SPEED_EPS_MPS * SPEED_EPS_MPS
    real = disc >= 0.0
    sq = np.sqrt(np.maximum(disc, 0.0))
    # Roots as q / a and c / q: the stable pair, which never subtracts two
    # nearly equal numbers (grazing encounters keep their precision).
    q = -(b + np.copysign(sq, b))
    r1 = q / np.where(moving, a, 1.0)
    q_zero = q == 0.0
    r2 = np.where(q_zero, 0.0, c / np.where(q_zero, 1.0, q))
    inside_now = c <= 0.0
    h0 = np.where(
        moving,
        np.where(real, np.minimum(r1, r2), np.inf),
        np.where(inside_now, -np.inf, np.inf),
    )
    h1 = np.where(
        moving,
        np.where(real, np.maximum(r1, r2), -np.inf),
        np.where(inside_now, np.inf, -np.inf),
    )
    return h0, h1


# --------------------------------------------------------------------------- output


def _describe(
    tr: TrackStates,
    *,
    lat: FloatArray,
    lon: FloatArray,
    i: IntArray,
    j: IntArray,
    start: FloatArray,
    end: FloatArray,
    n_candidates: int,
) -> ScreenResult:
    p, v, d = _in_plane(tr, i, j)
    a = v[0] * v[0] + v[1] * v[1] + v[2] * v[2]
    b = p[0] * v[0] + p[1] * v[1] + p[2] * v[2]
    moving = a >= SPEED_EPS_MPS * SPEED_EPS_MPS
    tcpa = np.where(moving, np.maximum(-b / np.where(moving, a, 1.0), 0.0), 0.0)
    at_cpa = [p[k] + v[k] * tcpa for k in range(3)]
    dcpa = np.sqrt(at_cpa[0] ** 2 + at_cpa[1] ** 2 + at_cpa[2] ** 2)
    dist = np.sqrt(p[0] ** 2 + p[1] ** 2 + p[2] ** 2)

    ex, ey, nx, ny, nz, _, _ = local_axes(lat[i], lon[i])
    east = d[0] * ex + d[1] * ey
    north = d[0] * nx + d[1] * ny + d[2] * nz
    bearing = np.mod(np.degrees(np.arctan2(east, north)), 360.0)
    # mod can round a tiny negative angle up to exactly 360
    bearing = np.where(bearing >= 360.0, 0.0, bearing)

    return ScreenResult(
        pairs=np.column_stack([i, j]).astype(np.int64).reshape(-1, 2),
        t_los_s=start,
        t_exit_s=end,
        tcpa_s=tcpa,
        dcpa_m=dcpa,
        dist_m=dist,
        dalt_m=tr.alt[j] - tr.alt[i],
        bearing_deg=bearing,
        n_candidates=n_candidates,
    )


def _empty(n_candidates: int) -> ScreenResult:
    nothing = np.zeros(0, dtype=np.float64)
    return ScreenResult(
        pairs=np.zeros((0, 2), dtype=np.int64),
        t_los_s=nothing,
        t_exit_s=nothing.copy(),
        tcpa_s=nothing.copy(),
        dcpa_m=nothing.copy(),
        dist_m=nothing.copy(),
        dalt_m=nothing.copy(),
        bearing_deg=nothing.copy(),
        n_candidates=n_candidates,
    )
