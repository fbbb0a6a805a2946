"""Intrusion screening: tracks against notice volumes, now and along the predicted path.

Pure library. The coarse stage is the strategic index's own (see
`deconflict.strategic.probe`); the fine stage follows each candidate track
along its straight-line prediction, sampled every ``step_s`` seconds
(``lookahead / 60`` by default, at least 0.5 s), and tests each sample against
the volume's time window, altitude band (widened across altitude references
as the index does; track heights are taken as W84) and footprint (in an
azimuthal equidistant frame centred on the track): the exact volume for the issuer
and the addressees, the coarse one (`strategic.facing`) for any other party. The
predicted entry time is therefore known to within one step; presence now (sample 0)
is exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely

from deconflict.geo import Frame, Reference
from deconflict.strategic import NoticeShape, StrategicIndex, facing
from deconflict.strategic.probe import segment_candidates

__all__ = ["Intrusion", "screen_intrusions"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Intrusion:
    track: int  # index into the input arrays
    notice: NoticeShape
    volume: int
    inside_now: bool
    t_entry_s: float  # 0 when inside now


def screen_intrusions(
    index: StrategicIndex,
    *,
    lat: FloatArray,
    lon: FloatArray,
    alt_m: FloatArray,
    gs_mps: FloatArray,
    trk_deg: FloatArray,
    vs_mps: FloatArray,
    party: npt.NDArray[np.str_],
    now: float,
    lookahead_s: FloatArray,
    lateral_margin_m: float = 0.0,
    vertical_margin_m: float = 0.0,
    own: bool = False,
) -> list[Intrusion]:
    """Every (track, notice volume) the track is inside now or enters within its lookahead.

    With ``own=False`` only notices of other issuers than the track's party are
    screened (intrusion); with ``own=True`` only the party's own (conformance).
    The caller holds whatever lock guards ``index`` while this runs.
    """
    reach = gs_mps * lookahead_s + lateral_margin_m
    horizon = float(lookahead_s.max()) if len(lookahead_s) else 0.0
    tracks, owners = segment_candidates(index, lon, lat, reach, now, now + horizon)
    found: dict[tuple[int, str], Intrusion] = {}
    for ti, (notice_id, v) in zip(tracks.tolist(), owners, strict=True):
        shape = index.get(notice_id)
        if shape is None or (shape.issuer == party[ti]) != own:
            continue
        hit = _first_inside(
            shape,
            v,
            viewer=str(party[ti]),
            lat=float(lat[ti]),
            lon=float(lon[ti]),
            alt=float(alt_m[ti]),
            gs=float(gs_mps[ti]),
            trk=float(trk_deg[ti]),
            vs=float(vs_mps[ti]),
            now=now,
            lookahead=float(lookahead_s[ti]),
            lateral_margin_m=lateral_margin_m,
            vertical_margin_m=vertical_margin_m,
            index=index,
        )
        if hit is None:
            continue
        previous = found.get((ti, notice_id))
        if previous is None or hit < previous.t_entry_s:
            found[(ti, notice_id)] = Intrusion(ti, shape, v, hit == 0.0, hit)
    return sorted(found.values(), key=lambda x: (x.track, x.notice.id))


def _first_inside(
    shape: NoticeShape,
    v: int,
    *,
    viewer: str,
    lat: float,
    lon: float,
    alt: float,
    gs: float,
    trk: float,
    vs: float,
    now: float,
    lookahead: float,
    lateral_margin_m: float,
    vertical_margin_m: float,
    index: StrategicIndex,
) -> float | None:
    # a track of a party the notice was not addressed to meets its coarse volume (issue
    # 11): fake tracks must not be a membership oracle finer than the notice's grain
    vol = facing(shape, viewer)[v]
    step = max(0.5, lookahead / 60.0)
    t = np.arange(0.0, lookahead + step * 0.5, step)
    t = np.minimum(t, lookahead)
    margins = index.policy.margins
    band = vol.altitude
    z = alt + vs * t
    lo = band.lower_m - margins.between(Reference.W84, band.lower_ref) - vertical_margin_m
    hi = band.upper_m + margins.between(Reference.W84, band.upper_ref) + vertical_margin_m
    when = now + t
    ok = (when >= vol.window.start_s) & (when <= vol.window.end_s) & (z >= lo) & (z <= hi)
    if not ok.any():
        return None
    core, _ = vol.footprint.core_in(Frame(lon, lat))
    rad = np.radians(trk)
    xs = gs * np.sin(rad) * t[ok]
    ys = gs * np.cos(rad) * t[ok]
    dist = shapely.distance(core, shapely.points(np.column_stack((xs, ys))))
    inside = np.asarray(dist) <= vol.footprint.radius_m + lateral_margin_m
    if not inside.any():
        return None
    return float(t[ok][int(np.argmax(inside))])
