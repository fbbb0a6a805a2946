"""Horizontal distance within max(1 m, 0.1 %), never over-estimated past the lower bound.

The reference is independent of the planar machinery: geodesic distances from
pyproj.Geod minimised along each geodesic edge with scipy, vertex against edge
in both directions (for short geodesic edges the closest approach of two
disjoint edges involves an endpoint of one of them).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

from deconflict.geo import GEOD, Footprint, parse_volume
from deconflict.geo.separation import overlap_region, separation, separation_and_overlap
from tests.conftest import volume_doc


def footprint(geometry: dict[str, Any], radius_m: float | None = None) -> Footprint:
    vol = parse_volume(volume_doc(geometry, radius_m=radius_m))
    assert vol is not None
    return vol.footprint


def point_to_edge(p: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    az, _, length = GEOD.inv(a[0], a[1], b[0], b[1])

    def dist(t: float) -> float:
        lon, lat, _ = GEOD.fwd(a[0], a[1], az, t * length)
        return float(GEOD.inv(p[0], p[1], lon, lat)[2])

    best = minimize_scalar(dist, bounds=(0.0, 1.0), method="bounded", options={"xatol": 1e-10})
    return min(float(best.fun), dist(0.0), dist(1.0))


def edges(ring: list[tuple[float, float]]) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    return list(itertools.pairwise(ring))


def reference_distance(
    ring_a: list[tuple[float, float]], ring_b: list[tuple[float, float]]
) -> float:
    """Distance between two disjoint polygon boundaries (or polylines)."""
    best = math.inf
    for p in ring_a:
        for a, b in edges(ring_b):
            best = min(best, point_to_edge(p, a, b))
    for p in ring_b:
        for a, b in edges(ring_a):
            best = min(best, point_to_edge(p, a, b))
    return best


def tolerance(d: float) -> float:
    return max(1.0, 1e-3 * d)


def quad(lon: float, lat: float, size_m: float, rot: float) -> list[tuple[float, float]]:
    """A convex quadrilateral around (lon, lat), vertices at geodesic distances."""
    azimuths = [rot, rot + 80, rot + 190, rot + 275]
    scale = [1.0, 0.7, 0.9, 0.6]
    pts = []
    for az, s in zip(azimuths, scale, strict=True):
        x, y, _ = GEOD.fwd(lon, lat, az, size_m * s / 2)
        pts.append((float(x), float(y)))
    return [*pts, pts[0]]


def poly(ring: list[tuple[float, float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[list(p) for p in ring]]}


@pytest.mark.parametrize("lat", [0.0, 35.0, 60.0, 80.0, -75.0])
@pytest.mark.parametrize("gap_m", [0.5, 40.0, 2_500.0, 90_000.0, 400_000.0])
def test_circles_exact_distance(lat: float, gap_m: float) -> None:
    lon0 = 179.9  # the pair straddles the antimeridian
    r1, r2 = 3_000.0, 12_000.0
    lon1, lat1, _ = GEOD.fwd(lon0, lat, 63.0, r1 + r2 + gap_m)
    a = footprint({"type": "Point", "coordinates": [lon0, lat]}, r1)
    b = footprint({"type": "Point", "coordinates": [float(lon1), float(lat1)]}, r2)
    sep = separation(a, b)
    assert sep.lower_bound_m <= gap_m + 1e-6
    assert abs(sep.distance_m - gap_m) <= tolerance(gap_m)
    assert sep.distance_m - sep.lower_bound_m <= tolerance(gap_m)


def test_touching_circles_overlap() -> None:
    lon1, lat1, _ = GEOD.fwd(36.0, 35.0, 10.0, 1999.0)
    a = footprint({"type": "Point", "coordinates": [36.0, 35.0]}, 1000)
    b = footprint({"type": "Point", "coordinates": [float(lon1), float(lat1)]}, 1000)
    sep = separation(a, b)
    assert sep.overlapping and sep.lower_bound_m == 0.0
    assert overlap_region(a, b) is not None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lon=st.floats(-180, 180),
    lat=st.floats(-80, 80),
    size_a=st.floats(1_000, 500_000),
    size_b=st.floats(1_000, 400_000),
    gap=st.floats(0.5, 200_000),
    bearing=st.floats(0, 360),
    rot_a=st.floats(0, 90),
    rot_b=st.floats(0, 90),
)
def test_polygon_distance_matches_reference(
    lon: float,
    lat: float,
    size_a: float,
    size_b: float,
    gap: float,
    bearing: float,
    rot_a: float,
    rot_b: float,
) -> None:
    ring_a = quad(lon, lat, size_a, rot_a)
    # Place b beyond a's reach along the bearing, then measure with the reference.
    blon, blat, _ = GEOD.fwd(lon, lat, bearing, size_a / 2 + size_b / 2 + gap)
    ring_b = quad(float(blon), float(blat), size_b, rot_b)
    a, b = footprint(poly(ring_a)), footprint(poly(ring_b))
    sep = separation(a, b)
    if sep.overlapping:
        return  # quads can still touch for some rotations; covered by the overlap tests
    truth = reference_distance(ring_a, ring_b)
    assert sep.lower_bound_m <= truth + 0.5
    assert abs(sep.distance_m - truth) <= tolerance(truth) + 0.5


@settings(max_examples=30, deadline=None)
@given(
    lat=st.floats(-80, 80),
    lon=st.floats(-180, 180),
    length=st.floats(5_000, 600_000),
    offset=st.floats(10.0, 50_000),
    radius=st.floats(10.0, 20_000),
)
def test_corridor_to_point_matches_reference(
    lat: float, lon: float, length: float, offset: float, radius: float
) -> None:
    elon, elat, _ = GEOD.fwd(lon, lat, 70.0, length)
    mlon, mlat, _ = GEOD.fwd(lon, lat, 70.0, length / 2)
    plon, plat, _ = GEOD.fwd(float(mlon), float(mlat), 160.0, radius + offset + 5.0)
    line = [(lon, lat), (float(elon), float(elat))]
    corridor = footprint({"type": "LineString", "coordinates": [list(p) for p in line]}, radius)
    point = footprint({"type": "Point", "coordinates": [float(plon), float(plat)]}, 5.0)
    core = point_to_edge((float(plon), float(plat)), line[0], line[1])
    truth = max(0.0, core - radius - 5.0)
    sep = separation(corridor, point)
    assert sep.lower_bound_m <= truth + 0.5
    assert abs(sep.distance_m - truth) <= tolerance(truth) + 0.5


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lon=st.floats(-180, 180),
    lat=st.floats(-80, 80),
    size_a=st.floats(1_000, 300_000),
    radius=st.floats(0.0, 50_000),
    dist=st.floats(0.0, 300_000),
    bearing=st.floats(0, 360),
    rot=st.floats(0, 90),
)
def test_one_projection_gives_what_the_two_calls_give(
    lon: float, lat: float, size_a: float, radius: float, dist: float, bearing: float, rot: float
) -> None:
    # The combined call (what the strategic engine uses) must decide and describe
    # exactly as `separation` then `overlap_region` do.
    a = footprint(poly(quad(lon, lat, size_a, rot)))
    blon, blat, _ = GEOD.fwd(lon, lat, bearing, dist)
    b = footprint({"type": "Point", "coordinates": [float(blon), float(blat)]}, radius or 1.0)
    for x, y in ((a, b), (b, a)):
        sep, region = separation_and_overlap(x, y, within_m=10_000)
        alone = separation(x, y, within_m=10_000)
        assert (sep.lower_bound_m, sep.distance_m, sep.nearest) == (
            alone.lower_bound_m,
            alone.distance_m,
            alone.nearest,
        )
        assert region == (overlap_region(x, y) if alone.overlapping else None)
        assert separation_and_overlap(x, y, within_m=10_000, describe=False)[1] is None


def test_a_region_in_two_parts_is_one_multipolygon() -> None:
    # A U-shaped plan crossed by a strip meets it twice.
    u = footprint(
        poly(
            [
                (36.0, 35.0),
                (36.3, 35.0),
                (36.3, 35.3),
                (36.2, 35.3),
                (36.2, 35.1),
                (36.1, 35.1),
                (36.1, 35.3),
                (36.0, 35.3),
                (36.0, 35.0),
            ]
        )
    )
    strip = footprint(
        poly([(35.9, 35.2), (36.4, 35.2), (36.4, 35.25), (35.9, 35.25), (35.9, 35.2)])
    )
    sep, region = separation_and_overlap(u, strip)
    assert sep.overlapping and region is not None
    assert region["type"] == "MultiPolygon" and len(region["coordinates"]) == 2
    assert region == overlap_region(u, strip)
    for part in region["coordinates"]:
        ring = part[0]
        assert ring[0] == ring[-1]
        assert all(35.19 <= lat <= 35.26 for _, lat in ring)


def test_polygon_containing_other_is_overlap_and_region_is_inner() -> None:
    outer = footprint(poly(quad(36.0, 35.0, 200_000, 0)))
    inner = footprint({"type": "Point", "coordinates": [36.0, 35.0]}, 2_000)
    assert separation(outer, inner).overlapping
    region = overlap_region(outer, inner)
    assert region is not None and region["type"] == "Polygon"
    lons = np.array([p[0] for p in region["coordinates"][0]])
    lats = np.array([p[1] for p in region["coordinates"][0]])
    _, _, d = GEOD.inv(np.full(len(lons), 36.0), np.full(len(lats), 35.0), lons, lats)
    # The circle itself, drawn with 64 segments circumscribing it.
    assert np.all(d >= 2_000 - 0.5)
    assert np.all(d <= 2_000 * 1.0013)


def test_hole_keeps_inner_circle_apart() -> None:
    ring = quad(10.0, 50.0, 100_000, 0)
    hole = quad(10.0, 50.0, 40_000, 0)
    geometry = {
        "type": "Polygon",
        "coordinates": [[list(p) for p in ring], [list(p) for p in hole[::-1]]],
    }
    donut = footprint(geometry)
    centre = footprint({"type": "Point", "coordinates": [10.0, 50.0]}, 1_000)
    sep = separation(donut, centre)
    truth = min(point_to_edge((10.0, 50.0), a, b) for a, b in edges(hole)) - 1_000
    assert not sep.overlapping
    assert abs(sep.distance_m - truth) <= tolerance(truth) + 0.5


def test_long_parallel_strips_stay_conservative() -> None:
    """Two 900 km strips 2 km apart: the hard case for a single planar frame."""
    south = [(0.0, 0.0), (8.0, 0.0), (8.0, 0.5), (0.0, 0.5), (0.0, 0.0)]
    north_lat = 0.5 + 2_000 / 110_574.0
    north = [(0.0, north_lat), (8.0, north_lat), (8.0, 1.0), (0.0, 1.0), (0.0, north_lat)]
    a, b = footprint(poly(south)), footprint(poly(north))
    sep = separation(a, b)
    truth = reference_distance(south, north)
    assert sep.lower_bound_m <= truth + 0.5
    assert abs(sep.distance_m - truth) <= tolerance(truth) + 0.5


@pytest.mark.parametrize("lat", [0.0, 50.0, 70.0])
def test_wide_neighbours_need_the_refined_bound(lat: float) -> None:
    """Two 650 km boxes 20 km apart: one frame stretches too much, the re-centred split does not."""
    gap_deg = 20_000 / (111_320 * math.cos(math.radians(lat + 2)))
    west = [(0.0, lat), (6.0, lat), (6.0, lat + 4), (0.0, lat + 4), (0.0, lat)]
    east = [
        (6.0 + gap_deg, lat),
        (12.0, lat),
        (12.0, lat + 4),
        (6.0 + gap_deg, lat + 4),
        (6.0 + gap_deg, lat),
    ]
    sep = separation(footprint(poly(west)), footprint(poly(east)))
    truth = reference_distance(west, east)
    assert sep.lower_bound_m <= truth
    assert sep.distance_m - sep.lower_bound_m <= tolerance(truth)
    assert abs(sep.distance_m - truth) <= tolerance(truth)
