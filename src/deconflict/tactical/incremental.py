"""Incremental screening cycles: screen only what changed, with a periodic full pass.

At 1 Hz most tracks fly on as predicted. A full pass screens everything with
the minima widened by twice a tolerance and the lookahead lengthened by the
full-pass interval, and keeps the pairs it finds ("held") together with each
track's state (its "reference"). Until the next full pass, a cycle then

* measures, for every track, how far its present state strays from its
  reference flown on in a straight line: the gap in position now plus the gap
  in velocity times the lookahead, horizontally and vertically;
* treats as *changed* every track whose gap exceeds the tolerance, and every
  track new since the full pass (a changed track stays changed until then);
* runs the exact test on the held pairs of two unchanged tracks, and the full
  screen (``only=``) on the pairs with a changed member.

Why nothing is missed: if two unchanged tracks conflict now at some time s
within the lookahead, each is within the tolerance of its reference path over
that whole lookahead, so their reference paths come within the minima plus
twice the tolerance (plus a bound on how much the pair's horizontal plane
turned since, `_plane_slack`) at the time elapsed plus s, which is within the
lengthened lookahead: the full pass held that pair. Pairs with a changed
member are screened outright. So a cycle returns exactly what a full screen of
the same arrays returns (the same rows and values, as the test suite checks
cycle by cycle), and a full pass is forced once the interval is up, when the
held pairs would stop covering the lookahead.

Tracks are matched across cycles by an integer id the caller keeps stable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from deconflict.tactical.frames import MIN_RADIUS_OF_CURVATURE_M, TrackStates, track_states
from deconflict.tactical.grid import narrow, state_workers
from deconflict.tactical.screening import (
    MAX_ABS_ALT_M,
    MAX_ABS_LON_DEG,
    MAX_ABS_VS_MPS,
    MAX_GS_MPS,
    MAX_LOOKAHEAD_S,
    ScreenResult,
    _check_range,
    _describe,
    _empty,
    _scalar,
    _screen,
    _vector,
)

__all__ = ["CycleStats", "IncrementalScreen"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_REL = 1e-6  # relative margin on the widened minima, for rounding at their edge


@dataclass(frozen=True, slots=True)
class CycleStats:
    """What one cycle did: a full pass or not, and how much it screened."""

    full: bool
    tracks: int
    changed: int  # tracks screened against everyone (new or off their reference)
    held: int  # pairs re-tested exactly


@dataclass(slots=True)
class _Reference:
    t: float
    ids: IntArray  # sorted
    x: FloatArray
    y: FloatArray
    z: FloatArray
    vx: FloatArray
    vy: FloatArray
    vz: FloatArray
    alt: FloatArray
    vs: FloatArray
    party: Any  # labels aligned with ids, or None
    dirty: npt.NDArray[np.bool_]
    held_i: IntArray  # rows of ids, held_i < held_j
    held_j: IntArray
    gs_max: float


class IncrementalScreen:
    """`screen` cycle after cycle, screening only what changed; same answers.

    ``tolerance``: how far (as a share of each minimum) a track may stray from
    its path at the last full pass before it counts as changed. Larger means
    fewer changed tracks but more held pairs. ``full_interval_s``: the longest
    time between full passes.
    """

    def __init__(
        self,
        *,
        h_sep_m: float,
        v_sep_m: float,
        lookahead_s: float,
        full_interval_s: float = 10.0,
        tolerance: float = 0.1,
    ) -> None:
        self.h_sep = _scalar("h_sep_m", h_sep_m, 2.0e7)
        self.v_sep = _scalar("v_sep_m", v_sep_m, 1.0e7)
        self.horizon = _scalar("lookahead_s", lookahead_s, MAX_LOOKAHEAD_S)
        self.interval = _scalar("full_interval_s", full_interval_s, MAX_LOOKAHEAD_S)
        share = _scalar("tolerance", tolerance, 10.0)
        self.tol_h = share * self.h_sep
        self.tol_v = share * self.v_sep
        self._ref: _Reference | None = None

    @property
    def last_full_pass(self) -> float | None:
        return None if self._ref is None else self._ref.t

    def state_bytes(self) -> int:
        """Memory the screening state holds between cycles (references and held pairs)."""
        ref = self._ref
        if ref is None:
            return 0
        arrays: list[npt.NDArray[Any]] = [ref.ids, ref.x, ref.y, ref.z, ref.vx, ref.vy, ref.vz]
        arrays += [ref.alt, ref.vs]
        arrays += [ref.dirty, ref.held_i, ref.held_j]
        if ref.party is not None:
            arrays.append(np.asarray(ref.party))
        return int(sum(a.nbytes for a in arrays))

    def reset(self) -> None:
        """Forget the reference: the next cycle is a full pass."""
        self._ref = None

    def step(
        self,
        t: float,
        track_id: Any,
        lat: Any,
        lon: Any,
        alt_m: Any,
        gs_mps: Any,
        trk_deg: Any,
        vs_mps: Any,
        *,
        party: Any = None,
    ) -> tuple[ScreenResult, CycleStats]:
        """Every conflicting pair at time ``t`` (as `screen` of these arrays), and stats.

        ``track_id``: length-N unique integers naming each track across cycles.
        """
        now = float(t)
        if not math.isfinite(now):
            raise ValueError(f"t must be finite, got {t}")
        lat_a = _vector("lat", lat)
        size = lat_a.shape[0]
        cols = [lat_a] + [
            _vector(name, value, size)
            for name, value in (
                ("lon", lon),
                ("alt_m", alt_m),
                ("gs_mps", gs_mps),
                ("trk_deg", trk_deg),
                ("vs_mps", vs_mps),
            )
        ]
        _check_range("lat", cols[0], -90.0, 90.0)
        _check_range("lon", cols[1], -MAX_ABS_LON_DEG, MAX_ABS_LON_DEG)
        _check_range("alt_m", cols[2], -MAX_ABS_ALT_M, MAX_ABS_ALT_M)
        _check_range("gs_mps", cols[3], 0.0, MAX_GS_MPS)
        _check_range("vs_mps", cols[5], -MAX_ABS_VS_MPS, MAX_ABS_VS_MPS)
        n = cols[0].shape[0]
        ids = np.asarray(track_id)
        if ids.shape != (n,) or not (n == 0 or np.issubdtype(ids.dtype, np.integer)):
            raise ValueError(f"track_id must be {n} integers, got shape {ids.shape} {ids.dtype}")
        ids = ids.astype(np.int64)
        labels = None if party is None else np.asarray(party)
        ref = self._ref
        if ref is None or now < ref.t or now - ref.t > self.interval or self.horizon == 0.0:
            return self._full(now, ids, cols, labels)
        return self._incremental(now, ids, cols, labels, ref)

    # -- full pass -----------------------------------------------------------

    def _widened(self, gs_max: float) -> tuple[float, float, float]:
        h = (self.h_sep + 2.0 * self.tol_h + self._plane_slack(gs_max)) * (1.0 + _REL) + 1e-6
        v = (self.v_sep + 2.0 * self.tol_v) * (1.0 + _REL) + 1e-6
        return h, v, (self.horizon + self.interval) * (1.0 + _REL)

    def _plane_slack(self, gs_max: float) -> float:
        """How much the pair's horizontal plane turning can change a distance.

        Between the full pass and now an unchanged track moved at most
        gs_max x interval + tolerance, so its vertical turned by at most that
        over the smallest radius of curvature; the pair's plane by at most
        twice that, which moves the projection of a separation |x| by at most
        2 x that x |x|. |x| of a pair within the minima is the minimum plus its
        out-of-plane part, bounded from the chord and the closing speed.
        """
        r = MIN_RADIUS_OF_CURVATURE_M
        alpha = 1.01 * (gs_max * self.interval + self.tol_h) / r
        # how far a pair can close within the lookahead (an unchanged track's
        # velocity is within tolerance / lookahead of its reference's)
        closing = 2.0 * (gs_max * self.horizon + self.tol_h)
        d = 1.1 * (self.h_sep + closing) + 1.0
        out_of_plane = 1.05 * (d * d / (2.0 * r) + closing * d / r)
        return 8.0 * alpha * (self.h_sep + out_of_plane) + 1e-3

    def _full(
        self, now: float, ids: IntArray, cols: list[FloatArray], labels: Any
    ) -> tuple[ScreenResult, CycleStats]:
        n = ids.shape[0]
        order = np.argsort(ids, kind="stable")
        sorted_ids = ids[order]
        if n > 1 and bool(np.any(sorted_ids[1:] == sorted_ids[:-1])):
            raise ValueError("track_id must be unique")
        gs_max = float(cols[3].max()) if n else 0.0
        h, v, horizon = self._widened(gs_max)
        # The wide screen's track states are this cycle's too: same arrays, same frame.
        wide, tr = _screen(*cols, h_sep_m=h, v_sep_m=v, lookahead_s=horizon, party=labels)
        wi, wj = wide.pairs[:, 0].copy(), wide.pairs[:, 1].copy()
        result = self._exact(tr, cols, wi, wj, len(wide))
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n, dtype=np.int64)
        hi, hj = rank[wi], rank[wj]
        self._ref = _Reference(
            t=now,
            ids=sorted_ids,
            x=tr.x[order],
            y=tr.y[order],
            z=tr.z[order],
            vx=tr.vx[order],
            vy=tr.vy[order],
            vz=tr.vz[order],
            alt=tr.alt[order],
            vs=tr.vs[order],
            party=None if labels is None else labels[order],
            dirty=np.zeros(n, dtype=np.bool_),
            held_i=np.minimum(hi, hj),
            held_j=np.maximum(hi, hj),
            gs_max=gs_max,
        )
        return result, CycleStats(full=True, tracks=n, changed=n, held=len(wide))

    def _exact(
        self, tr: TrackStates, cols: list[FloatArray], i: IntArray, j: IntArray, n_cand: int
    ) -> ScreenResult:
        """The exact test of pairs (i < j, sorted) under the real minima, described."""
        ci, cj, start, end = narrow(
            tr, i, j, h_sep=self.h_sep, v_sep=self.v_sep, horizon=self.horizon
        )
        if ci.shape[0] == 0:
            return _empty(n_cand)
        return _describe(
            tr, lat=cols[0], lon=cols[1], i=ci, j=cj, start=start, end=end, n_candidates=n_cand
        )

    # -- incremental cycle -----------------------------------------------------

    def _incremental(
        self, now: float, ids: IntArray, cols: list[FloatArray], labels: Any, ref: _Reference
    ) -> tuple[ScreenResult, CycleStats]:
        n = ids.shape[0]
        tr = track_states(
            cols[0],
            cols[1],
            alt_m=cols[2],
            gs_mps=cols[3],
            trk_deg=cols[4],
            vs_mps=cols[5],
            workers=state_workers(n),
        )
        m = ref.ids.shape[0]
        pos = np.searchsorted(ref.ids, ids)
        pos_c = np.minimum(pos, max(m - 1, 0))
        known = (pos < m) & (ref.ids[pos_c] == ids) if m else np.zeros(n, dtype=np.bool_)
        rows = pos_c[known]
        if rows.shape[0] and int(np.bincount(rows, minlength=m).max()) > 1:
            raise ValueError("track_id must be unique")
        fresh = ids[~known]
        if fresh.shape[0] > 1 and np.unique(fresh).shape[0] != fresh.shape[0]:
            raise ValueError("track_id must be unique")

        # How far each known track strays from its reference path.
        dt = now - ref.t
        k = np.flatnonzero(known)
        gap = np.sqrt(
            (tr.x[k] - (ref.x[rows] + ref.vx[rows] * dt)) ** 2
            + (tr.y[k] - (ref.y[rows] + ref.vy[rows] * dt)) ** 2
            + (tr.z[k] - (ref.z[rows] + ref.vz[rows] * dt)) ** 2
        ) + self.horizon * np.sqrt(
            (tr.vx[k] - ref.vx[rows]) ** 2
            + (tr.vy[k] - ref.vy[rows]) ** 2
            + (tr.vz[k] - ref.vz[rows]) ** 2
        )
        vgap = np.abs(tr.alt[k] - (ref.alt[rows] + ref.vs[rows] * dt)) + self.horizon * np.abs(
            tr.vs[k] - ref.vs[rows]
        )
        strayed = (gap > self.tol_h) | (vgap > self.tol_v)
        if (labels is None) != (ref.party is None):
            strayed[:] = True
        elif labels is not None:
            strayed |= labels[k] != ref.party[rows]
        ref.dirty[rows[strayed]] = True

        changed = np.ones(n, dtype=np.bool_)
        changed[k] = ref.dirty[rows]
        sub = np.flatnonzero(changed)

        # Held pairs of two unchanged tracks present now, in today's indices.
        here = np.full(m, -1, dtype=np.int64)
        here[rows] = k
        hi, hj = here[ref.held_i], here[ref.held_j]
        keep = (hi >= 0) & (hj >= 0)
        keep[keep] &= ~(ref.dirty[ref.held_i[keep]] | ref.dirty[ref.held_j[keep]])
        hi, hj = hi[keep], hj[keep]
        lo, up = np.minimum(hi, hj), np.maximum(hi, hj)
        key_order = np.argsort(lo * max(n, 1) + up, kind="stable")
        held = self._exact(tr, cols, lo[key_order], up[key_order], int(lo.shape[0]))
        if sub.shape[0] == 0:
            return held, CycleStats(False, n, 0, int(lo.shape[0]))
        moved, _ = _screen(
            *cols,
            h_sep_m=self.h_sep,
            v_sep_m=self.v_sep,
            lookahead_s=self.horizon,
            party=labels,
            only=sub,
            tracks=tr,
        )
        return _merge(held, moved, n), CycleStats(False, n, int(sub.shape[0]), int(lo.shape[0]))


def _merge(a: ScreenResult, b: ScreenResult, n: int) -> ScreenResult:
    """Two results over disjoint pairs as one, rows in the screen's order."""
    if len(a) == 0:
        return b
    if len(b) == 0:
        return a
    pairs = np.concatenate([a.pairs, b.pairs])
    order = np.argsort(pairs[:, 0] * max(n, 1) + pairs[:, 1], kind="stable")

    def cat(name: str) -> FloatArray:
        out: FloatArray = np.concatenate([getattr(a, name), getattr(b, name)])[order]
        return out

    return ScreenResult(
        pairs=pairs[order],
        t_los_s=cat("t_los_s"),
        t_exit_s=cat("t_exit_s"),
        tcpa_s=cat("tcpa_s"),
        dcpa_m=cat("dcpa_m"),
        dist_m=cat("dist_m"),
        dalt_m=cat("dalt_m"),
        bearing_deg=cat("bearing_deg"),
        n_candidates=a.n_candidates + b.n_candidates,
    )
