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
from functools import lru_cache
from typing import Any

import numpy as np
import shapely

from deconflict.geo.ellipsoid import GEOD, Frame, geodesic_distance, max_stretch
from deconflict.geo.footprint import Footprint, Shape

__all__ = [
    "ABSOLUTE_TOLERANCE_M",
    "RELATIVE_TOLERANCE",
    "Separation",
    "midpoint",
    "nested_region",
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
    return _described(frame, common)


def _described(frame: Frame, common: shapely.Geometry) -> dict[str, Any] | None:
    """A planar region of ``frame`` as lon/lat GeoJSON, simplified to a metre."""
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


# -- nested footprints ---------------------------------------------------------
#
# A coarse volume (geo.coarse) is wide: a small site and a coarse plan around it are
# the commonest conflicting pair, and projecting the plan's outline into the pair's
# frame to clip the site against it was most of a coarse query's cost. When the small
# one provably lies inside the wide one, or its centre does, the decision (they
# overlap) and a region containing the overlap follow from the wide outline in its
# own frame, projected once and kept (a bounded cache: the wide plans are the ones
# met again).

# Inner footprints with more (densified) vertices than this are not tried: projecting
# them would cost what the shortcut saves.
_NESTED_MAX_VERTICES = 256
_NESTED_CACHE = 4096
# Planar slack, in metres, on top of the stretch: the chords standing in for the
# geodesic edges of either footprint (_CHORD_ALLOWANCE_M each) and a metre more.
_NESTED_SLACK_M = 2 * _CHORD_ALLOWANCE_M + 1.0


@lru_cache(maxsize=_NESTED_CACHE)
def _outline(fp: Footprint) -> tuple[Frame, shapely.Geometry, shapely.Geometry, float]:
    """``fp``'s core in its own frame (prepared), the core's boundary, and its reach."""
    frame = Frame(*fp.center)
    core, rho = fp.core_in(frame)
    shapely.prepare(core)
    boundary = core.boundary
    shapely.prepare(boundary)
    return frame, core, boundary, rho


def _nested(inner: Footprint, outer: Footprint) -> dict[str, Any] | None:
    """The common part of ``inner`` and ``outer`` when it is proven to be one, else None.

    Works in ``outer``'s own AEQD frame, where a curve's planar length is at least its
    true length and at most ``max_stretch(rho)`` times it: a point of ``inner`` (a true
    distance <= its radius from its core) has its image within stretch x radius of the
    core's image, and the image of ``outer``'s true edge lies within the chord
    allowance of the planar outline. Two cases are proven:

    - the inner core's image lies inside the outline, further than that from its edge:
      the whole of ``inner`` lies inside ``outer``, the common part is ``inner``;
    - ``inner`` is a circle whose centre lies inside the outline by more than the chord
      allowances: the two overlap (the exact engine, in any frame, finds the centre
      inside too), and the common part is contained in the circle grown by the stretch
      and clipped by the outline, here in ``outer``'s frame.
    """
    # A polygon takes no radius (geo.footprint): its outline is its edge.
    if outer.shape is not Shape.POLYGON or inner.cap_radius_m >= outer.cap_radius_m:
        return None
    if sum(len(p) for p in inner.dense) > _NESTED_MAX_VERTICES:
        return None
    centres = geodesic_distance(*inner.center, *outer.center)
    if centres - inner.cap_radius_m > outer.cap_radius_m:
        return None  # the inner cap lies wholly outside the outer cap
    frame, core, boundary, rho = _outline(outer)
    image, _ = inner.core_in(frame)
    if not shapely.contains(core, image):
        return None
    # The region drawn for the inner footprint is circumscribed (_grown): it too must
    # lie inside, so that clipping it by ``outer`` would change nothing.
    radius = inner.radius_m / math.cos(math.pi / (4 * _QUAD_SEGS))
    reach = max_stretch(rho + 2 * radius) * radius + _NESTED_SLACK_M
    if not shapely.dwithin(boundary, image, reach):
        return _own_region(inner)
    if inner.shape is not Shape.CIRCLE or shapely.dwithin(boundary, image, _NESTED_SLACK_M):
        return None
    grown = _grown(image, max_stretch(rho + 2 * radius) * inner.radius_m + _NESTED_SLACK_M)
    common = shapely.intersection(grown, core)
    if common.is_empty or common.area == 0.0:
        return None
    return _described(frame, common)


@lru_cache(maxsize=_NESTED_CACHE)
def _own_region(fp: Footprint) -> dict[str, Any] | None:
    frame = Frame(*fp.center)
    core, _ = fp.core_in(frame)
    return _described(frame, _grown(core, fp.radius_m))


def nested_region(a: Footprint, b: Footprint) -> dict[str, Any] | None:
    """A region (GeoJSON) containing the common part of ``a`` and ``b`` when they are
    proven to overlap from the wider one's own frame (`_nested`), else None (which says
    nothing: they may still overlap, or not).

    Not `overlap_region`'s coordinates: a footprint inside the other is drawn whole in
    its own frame, a circle across the other's edge is clipped in the other's frame
    and grown by that frame's stretch (a few metres more, at most, than the truth).
    Treat the returned mapping as read-only: it may be shared between answers.
    """
    found = _nested(a, b)
    return found if found is not None else _nested(b, a)


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
