"""When a track report changes a track's predicted path enough to screen it again now.

Between screening cycles only the tracks whose latest report moved their predicted
path are screened (the quick pass); a report that merely confirms where the track was
going does not earn one.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from deconflict.tactical.tracks import EARTH_RADIUS_M, TrackState

__all__ = ["PathTolerance", "path_changed"]


class PathTolerance(NamedTuple):
    """How far a path may move and still be the same: metres, metres, over seconds."""

    h_m: float
    v_m: float
    horizon_s: float


def path_changed(prev: TrackState | None, new: TrackState, tolerance: PathTolerance) -> bool:
    """Whether ``new`` moves the path ``prev`` predicted by a share of the minima.

    The previous state is flown on (a great circle at its ground speed, its
    vertical rate) to the new report's time; the gap in position plus the
    gap in velocity times the longest lookahead bounds how far the predicted
    path moved anywhere within the lookahead. Erring is cheap one way (a
    needless quick screen), and bounded the other (the next cycle).
    """
    if prev is None or prev.category != new.category:
        return True
    h_tol, v_tol, horizon = tolerance
    dt = new.t - prev.t
    alt_gap = abs(new.alt_m - (prev.alt_m + prev.vs_mps * dt))
    if alt_gap + abs(new.vs_mps - prev.vs_mps) * horizon > v_tol:
        return True
    t1, t2 = math.radians(prev.trk_deg), math.radians(new.trk_deg)
    dv = math.hypot(
        new.gs_mps * math.cos(t2) - prev.gs_mps * math.cos(t1),
        new.gs_mps * math.sin(t2) - prev.gs_mps * math.sin(t1),
    )
    if dv * horizon > h_tol:
        return True
    p1, l1 = math.radians(prev.lat), math.radians(prev.lon)
    ang = prev.gs_mps * dt / EARTH_RADIUS_M
    p2 = math.asin(
        max(
            -1.0,
            min(1.0, math.sin(p1) * math.cos(ang) + math.cos(p1) * math.sin(ang) * math.cos(t1)),
        )
    )
    l2 = l1 + math.atan2(
        math.sin(t1) * math.sin(ang) * math.cos(p1), math.cos(ang) - math.sin(p1) * math.sin(p2)
    )
    p3, l3 = math.radians(new.lat), math.radians(new.lon)
    a = math.sin((p3 - p2) / 2) ** 2 + math.cos(p2) * math.cos(p3) * math.sin((l3 - l2) / 2) ** 2
    gap = 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))
    return gap + dv * horizon > h_tol
