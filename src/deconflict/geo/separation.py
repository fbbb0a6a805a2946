"""Horizontal separation and overlap between two footprints, with guaranteed bounds.

The planar distance between two cores in an AEQD frame is never shorter than
the true geodesic distance and at most ``max_stretch(rho)`` times longer, where
rho is how far from the frame's centre the geometry reaches. So

    lower_bound = planar / stretch      (the true distance is never below it)
    distance    = geodesic between the planar nearest points  (never above it)

and the caller decides "conflict" on the lower bound, which never misses.
When the two bounds are further apart than the accuracy budget, the frame is
re-centred on the closest approach and the cores are split into a near part
(small stretch) and a far part (large stretch, but far away), which tightens
the lower bound to the budget in every case but pathological ones (two
equally close approaches hundreds of kilometres apart), where the answer
stays conservative.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from deconflict.geo.ellipsoid import GEOD, Frame, geodesic_distance, max_stretch
from deconflict.geo.footprint import Footprint

__all__ = [
    "ABSOLUTE_TOLERANCE_M",
    "RELATIVE_TOLERANCE",
    "Separation",
    "midpoint",
    "overlap_region",
    "separation",
    "separation_and_overlap",
]

ABSOLUTE_TOLERANCE_M = 1.0
RELATIVE_TOLERANCE = 1e-3
# Chords of densified edges stand in for geodesics; this bounds what that costs.
_CHORD_ALLOWANCE_M = 0.5
_NEAR_RADIUS_M = 200_000.0


@dataclass(frozen=True)
class Separation:
    """How far apart two footprints are.

    ``lower_bound_m`` <= true distance <= ``distance_m`` (up to the chord
    allowance). ``nearest`` holds a point of each footprint realising
    ``distance_m`` as (lon, lat), or None when the footprints overlap or the
    answer came from the bounding caps alone.
    """

    lower_bound_m: float
    distance_m: float
    nearest: tuple[tuple[float, float], tuple[float, float]] | None = None

    @property
    def overlapping(self) -> bool:
        return self.distance_m == 0.0


def midpoint(lon1: float, lat1: float, lon2: float, lat2: float) -> tuple[float, float]:
    az, _, dist = GEOD.inv(lon1, lat1, lon2, lat2)
    lon, lat, _ = GEOD.fwd(lon1, lat1, az, dist / 2.0)
    return float(lon), float(lat)


def _tolerance(distance_m: float) -> float:
    return max(ABSOLUTE_TOLERANCE_M, RELATIVE_TOLERANCE * distance_m)


def separation(a: Footprint, b: Footprint, *, within_m: float = math.inf) -> Separation:
    """Distance between footprints ``a`` and ``b``.

    When the bounding caps alone prove the footprints are more than
    ``within_m`` apart, the exact computation is skipped and the cap bound is
    returned as both numbers' lower end.
    """
    return _separation(a, b, within_m)[0]


def separation_and_overlap(
    a: Footprint, b: Footprint, *, within_m: float = math.inf, describe: bool = True
) -> tuple[Separation, dict[str, Any] | None]:
    """`separation` and, when the footprints overlap and ``describe``, `overlap_region`.

    The same as calling both, but the two footprints are projected into the common
    frame once: describing an overlap was most of the cost of a conflicting pair.
    """
    sep, projected = _separation(a, b, within_m)
    if not (describe and sep.overlapping) or projected is None:
        return sep, None
    frame, core_a, core_b = projected
    return sep, _overlap(a, b, frame, core_a, core_b)


_Projected = tuple[Frame, shapely.Geometry, shapely.Geometry]


def _separation(
    a: Footprint, b: Footprint, within_m: float
) -> tuple[Separation, _Projected | None]:
    centres = geodesic_distance(*a.center, *b.center)
    cap_bound = centres - a.cap_radius_m - b.cap_radius_m
    if cap_bound > within_m:
        return Separation(cap_bound, math.inf), None
    radii = a.radius_m + b.radius_m
    frame = Frame(*midpoint(*a.center, *b.center))
    core_a, rho_a = a.core_in(frame)
    core_b, rho_b = b.core_in(frame)
    projected = (frame, core_a, core_b)
    planar = float(shapely.distance(core_a, core_b))
    if planar == 0.0:
        return Separation(0.0, 0.0), projected
    stretch = max_stretch(max(rho_a, rho_b))
    lower = max(0.0, planar / stretch - _CHORD_ALLOWANCE_M - radii)
    pa, pb, upper = _nearest(core_a, core_b, frame, a.radius_m, b.radius_m)
    if upper - lower > _tolerance(upper) and lower <= within_m:
        lower = max(lower, _refined_lower_bound(a, b, pa, pb, upper))
    if upper == 0.0:
        return Separation(0.0, 0.0), projected
    return Separation(min(lower, upper), upper, (pa, pb)), projected


def _nearest(
    core_a: shapely.Geometry,
    core_b: shapely.Geometry,
    frame: Frame,
    ra: float,
    rb: float,
) -> tuple[tuple[float, float], tuple[float, float], float]:
    """Nearest points of the two footprints (cores grown by their radii) and their distance."""
    line = shapely.shortest_line(core_a, core_b)
    xy = np.asarray(line.coords)
    lons, lats = frame.inverse(xy[:, 0], xy[:, 1])
    az_ab, az_ba, core_dist = GEOD.inv(lons[0], lats[0], lons[1], lats[1])
    if core_dist <= ra + rb:
        return (float(lons[0]), float(lats[0])), (float(lons[1]), float(lats[1])), 0.0
    # Step out of each core towards the other by its radius: on a geodesic
    # surface that is exactly where the grown sets come closest.
    alon, alat, _ = GEOD.fwd(lons[0], lats[0], az_ab, ra)
    blon, blat, _ = GEOD.fwd(lons[1], lats[1], az_ba, rb)
    return (float(alon), float(alat)), (float(blon), float(blat)), float(core_dist - ra - rb)


def _refined_lower_bound(
    a: Footprint,
    b: Footprint,
    pa: tuple[float, float],
    pb: tuple[float, float],
    upper: float,
) -> float:
    frame = Frame(*midpoint(*pa, *pb))
    core_a, rho_a = a.core_in(frame)
    core_b, rho_b = b.core_in(frame)
    # The inscribed polygon lies inside the true disc, so everything in "near"
    # really is within _NEAR_RADIUS_M of the centre.
    near = shapely.Point(0.0, 0.0).buffer(_NEAR_RADIUS_M, quad_segs=32)
    far_stretch = max_stretch(max(rho_a, rho_b))
    near_stretch = max_stretch(_NEAR_RADIUS_M)
    a_in, b_in = core_a.intersection(near), core_b.intersection(near)
    a_out, b_out = core_a.difference(near), core_b.difference(near)
    candidates = [upper + a.radius_m + b.radius_m]
    if not a_in.is_empty and not b_in.is_empty:
        candidates.append(float(shapely.distance(a_in, b_in)) / near_stretch)
    if not a_out.is_empty:
        candidates.append(float(shapely.distance(a_out, core_b)) / far_stretch)
    if not b_out.is_empty:
        candidates.append(float(shapely.distance(core_a, b_out)) / far_stretch)
    return max(0.0, min(candidates) - _CHORD_ALLOWANCE_M - a.radius_m - b.radius_m)


def overlap_region(a: Footprint, b: Footprint) -> dict[str, Any] | None:
    """The common part of two footprints as GeoJSON (lon/lat), or None if they are apart.

    Round parts are drawn as polygons with 64 segments per circle; the region
    is a description for people and maps, the conflict decision never uses it.
    """
    frame = Frame(*midpoint(*a.center, *b.center))
    return _overlap(a, b, frame, a.core_in(frame)[0], b.core_in(frame)[0])


def _overlap(
    a: Footprint,
    b: Footprint,
    frame: Frame,
    core_a: shapely.Geometry,
    core_b: shapely.Geometry,
) -> dict[str, Any] | None:
    common = _grown(core_a, a.radius_m).intersection(_grown(core_b, b.radius_m))
    if common.is_empty or common.area == 0.0:
        return None
    polys = [g for g in getattr(common, "geoms", [common]) if isinstance(g, shapely.Polygon)]
    if not polys:
        return None
    planar = polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)
    simplified = planar.simplify(1.0)
    if simplified.is_empty:
        simplified = planar

    def to_lonlat(xy: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        lons, lats = frame.inverse(xy[:, 0], xy[:, 1])
        return np.round(np.column_stack((_continuous(lons), lats)), 7)

    # One vectorised inverse projection for every vertex of every part and ring.
    return _polygonal_geojson(shapely.transform(simplified, to_lonlat))


def _polygonal_geojson(geom: shapely.Geometry) -> dict[str, Any]:
    def rings(poly: shapely.Polygon) -> list[list[list[float]]]:
        return [
            shapely.get_coordinates(poly.exterior).tolist(),
            *(shapely.get_coordinates(r).tolist() for r in poly.interiors),
        ]

    if isinstance(geom, shapely.MultiPolygon):
        return {"type": "MultiPolygon", "coordinates": [rings(p) for p in geom.geoms]}
    return {"type": "Polygon", "coordinates": rings(geom)}


_QUAD_SEGS = 16


def _grown(core: shapely.Geometry, radius_m: float) -> shapely.Geometry:
    if radius_m > 0:
        # Circumscribe rather than inscribe the round parts: a described
        # overlap may be a little generous, never smaller than the truth.
        radius = radius_m / math.cos(math.pi / (4 * _QUAD_SEGS))
        return core.buffer(radius, quad_segs=_QUAD_SEGS)
    return core


def _continuous(lons: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Keep a region that straddles the antimeridian in [-180, 180] per vertex.

    GeoJSON consumers following DESIGN.md read a jump across +/-180 as the short
    way, so each vertex is simply wrapped into range.
    """
    return (lons + 180.0) % 360.0 - 180.0
