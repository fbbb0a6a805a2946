"""Coarsening only widens: the coarse volume contains the exact one, and every conflict
the exact engine finds is found by the engine that judges parties by coarse volumes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import h3
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deconflict.geo import GEOD, Frame, Volume4D, parse_volume
from deconflict.geo.coarse import (
    GRAIN_LIMITS,
    MAX_OUTLINE_CELLS,
    SLACK_M,
    Grain,
    coarse_volume,
    footprint_cells,
)
from deconflict.strategic import BufferPolicy, Buffers, NoticeShape, StrategicIndex

_T0 = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
_PARTIES = ("a", "b", "c")


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _volume(doc: dict[str, Any]) -> Volume4D:
    vol = parse_volume(doc)
    assert vol is not None
    return vol


@st.composite
def volumes(draw: Any) -> dict[str, Any]:
    lon = draw(st.floats(36.0, 36.6))
    lat = draw(st.floats(35.0, 35.5))
    if draw(st.booleans()):
        geometry: dict[str, Any] = {"type": "Point", "coordinates": [lon, lat]}
        radius: float | None = draw(st.floats(10.0, 8000.0))
    else:
        w, h = draw(st.floats(0.001, 0.2)), draw(st.floats(0.001, 0.2))
        ring = [[lon, lat], [lon + w, lat], [lon + w, lat + h], [lon, lat + h], [lon, lat]]
        geometry, radius = {"type": "Polygon", "coordinates": [ring]}, None
    lo = draw(st.floats(-500.0, 30_000.0))
    hi = lo + draw(st.floats(0.0, 10_000.0))
    ref_lo, ref_hi = draw(st.sampled_from(["W84", "AMSL"])), draw(st.sampled_from(["W84", "AMSL"]))
    start = draw(st.floats(0.0, 600.0))
    length = draw(st.floats(0.0, 300.0))
    doc: dict[str, Any] = {
        "geometry": geometry,
        "altitude_lower": {"value": lo, "units": "FT", "reference": ref_lo},
        "altitude_upper": {"value": hi, "units": "FT", "reference": ref_hi},
        "time_start": _iso(_T0 + timedelta(minutes=start)),
        "time_end": _iso(_T0 + timedelta(minutes=start + length)),
    }
    if radius is not None:
        doc["radius_m"] = radius
    return doc


grains = st.builds(
    Grain,
    h3_resolution=st.integers(4, GRAIN_LIMITS["h3_resolution"][1]),
    layer_ft=st.sampled_from([500, 1000, 2000, 5000]),
    slot_min=st.sampled_from([5, 15, 60]),
)


def _contains(outer: Volume4D, inner: Volume4D) -> bool:
    frame = Frame(*inner.footprint.center)
    out_core, _ = outer.footprint.core_in(frame)
    in_core, _ = inner.footprint.core_in(frame)
    grown_out = out_core.buffer(outer.footprint.radius_m, quad_segs=32)
    # the inner circle's polygonisation lies inside its true circle
    grown_in = (
        in_core.buffer(inner.footprint.radius_m, quad_segs=32)
        if (inner.footprint.radius_m)
        else in_core
    )
    return (
        bool(grown_out.buffer(1.0).contains(grown_in))
        and outer.altitude.lower_m <= inner.altitude.lower_m
        and outer.altitude.upper_m >= inner.altitude.upper_m
        and outer.window.start <= inner.window.start
        and outer.window.end >= inner.window.end
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(volumes(), grains)
def test_the_coarse_volume_contains_the_exact_one(doc: dict[str, Any], grain: Grain) -> None:
    vol = _volume(doc)
    coarse = coarse_volume(vol, grain)
    assert _contains(coarse, vol)
    assert coarse.footprint.radius_m == 0.0 or coarse.footprint.shape.value == "Point"
    # whole layers and slots
    for bound in (coarse.altitude.lower_m, coarse.altitude.upper_m):
        assert abs(bound / grain.layer_m - round(bound / grain.layer_m)) < 1e-9
    assert coarse.window.start.timestamp() % grain.slot_s == 0
    assert coarse.window.end.timestamp() % grain.slot_s == 0


def test_the_coarse_footprint_is_a_union_of_whole_cells() -> None:
    vol = _volume(
        {
            "geometry": {"type": "Point", "coordinates": [36.3, 35.3]},
            "radius_m": 100.0,
            "altitude_lower": {"value": 0, "units": "FT", "reference": "W84"},
            "altitude_upper": {"value": 10, "units": "FT", "reference": "W84"},
            "time_start": _iso(_T0),
            "time_end": _iso(_T0 + timedelta(minutes=1)),
        }
    )
    coarse = coarse_volume(vol, Grain(h3_resolution=5))
    cell = h3.latlng_to_cell(35.3, 36.3, 5)
    ring = coarse.footprint.parts[0][:-1]
    corners = h3.cell_to_boundary(cell)
    assert len(ring) == len(corners) == 6
    # each corner of the cell, pushed out by the slack (mitred: slack / sin 60 degrees)
    for la, lo in corners:
        _, _, d = GEOD.inv(ring[:, 0], ring[:, 1], np.full(6, lo), np.full(6, la))
        assert SLACK_M < float(np.min(d)) < SLACK_M / 0.866 + 1.0


@st.composite
def notices(draw: Any) -> list[NoticeShape]:
    n = draw(st.integers(2, 6))
    out = []
    for k in range(n):
        vols = tuple(_volume(v) for v in draw(st.lists(volumes(), min_size=1, max_size=2)))
        issuer = _PARTIES[k % len(_PARTIES)]
        readers = frozenset(draw(st.sets(st.sampled_from([p for p in _PARTIES if p != issuer]))))
        coarse = None
        level = draw(st.sampled_from(["exact", "coarse", "existence"]))
        if level != "exact":
            grain = draw(grains)
            coarse = tuple(coarse_volume(v, grain) for v in vols)
        out.append(
            NoticeShape(
                f"n{k}",
                issuer,
                "air_activity",
                vols,
                readers=readers,
                coarse=coarse,
                disclosure=level,
            )
        )
    return out


def _pairs(index: StrategicIndex) -> set[frozenset[str]]:
    return {frozenset((c.a.id, c.b.id)) for c in index.all_conflicts(describe=False)}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(notices(), st.sampled_from([0.0, 2000.0]), st.sampled_from([0.0, 600.0]))
def test_no_conflict_of_the_exact_engine_is_missed(
    shapes: list[NoticeShape], lateral_m: float, time_s: float
) -> None:
    policy = BufferPolicy(default=Buffers(lateral_m=lateral_m, time_s=time_s))
    exact, judged = StrategicIndex(policy), StrategicIndex(policy)
    for s in shapes:
        exact.upsert(NoticeShape(s.id, s.issuer, s.kind, s.volumes))
        judged.upsert(s)
    assert _pairs(exact) <= _pairs(judged)
    # and a query from outside finds at least what the exact engine finds
    for s in shapes:
        plain = NoticeShape(s.id + "q", "d", s.kind, s.volumes)
        assert {c.b.id for c in exact.query(plain)} <= {c.b.id for c in judged.query(plain)}


def test_a_large_plan_is_outlined_with_coarser_cells_and_still_contained() -> None:
    ring = [[33.0, 33.0], [38.0, 33.0], [38.0, 37.0], [33.0, 37.0], [33.0, 33.0]]
    vol = _volume(
        {
            "geometry": {"type": "Polygon", "coordinates": [ring]},
            "altitude_lower": {"value": 0, "units": "FT", "reference": "W84"},
            "altitude_upper": {"value": 10, "units": "FT", "reference": "W84"},
            "time_start": _iso(_T0),
            "time_end": _iso(_T0 + timedelta(minutes=1)),
        }
    )
    fine = footprint_cells(vol.footprint, 6)
    assert len(fine) > MAX_OUTLINE_CELLS  # so the outline falls back to coarser cells
    coarse = coarse_volume(vol, Grain(h3_resolution=6))
    assert _contains(coarse, vol)
    assert coarse.footprint.vertex_count < 200  # hundreds of cells would be thousands


# -- the nested shortcut (geo.separation.nested_region) -----------------------------
#
# A coarse pair where the small footprint (or a circle's centre) lies inside the wide
# one is described from the wide outline alone. Against the clipping it replaces: the
# same decision, a region containing the clipped one, and nothing finer than the grain.


def _planar(region: dict[str, Any], frame: Frame) -> Any:
    import shapely
    from shapely.geometry import shape

    geom = shape(region)

    def project(xy: Any) -> Any:
        x, y, _ = frame.forward(xy[:, 0], xy[:, 1])
        return np.column_stack((x, y))

    return shapely.transform(geom, project)


@st.composite
def nested_pairs(draw: Any) -> tuple[Any, Any, Grain]:
    from deconflict.geo.coarse import coarse_footprint

    plan = draw(volumes()).copy()
    grain = Grain(h3_resolution=draw(st.sampled_from([5, 6])))
    wide = coarse_footprint(_volume(plan).footprint, grain.h3_resolution)
    # A site somewhere near the coarse plan: inside, across its edge or just outside.
    if draw(st.booleans()):
        lon = wide.center[0] + draw(st.floats(-0.15, 0.15))
        lat = wide.center[1] + draw(st.floats(-0.15, 0.15))
    else:  # by the outline's edge, for a circle across it
        outline = wide.dense[0]
        k = draw(st.integers(0, len(outline) - 2))
        f = draw(st.floats(0.0, 1.0))
        lon, lat = outline[k] + f * (outline[k + 1] - outline[k])
        lon += draw(st.floats(-0.01, 0.01))
        lat += draw(st.floats(-0.01, 0.01))
    if draw(st.booleans()):
        geometry: dict[str, Any] = {"type": "Point", "coordinates": [lon, lat]}
        radius: float | None = draw(st.floats(50.0, 3000.0))
    else:
        w, h = draw(st.floats(0.001, 0.02)), draw(st.floats(0.001, 0.02))
        ring = [[lon, lat], [lon + w, lat], [lon + w, lat + h], [lon, lat + h], [lon, lat]]
        geometry, radius = {"type": "Polygon", "coordinates": [ring]}, None
    site = dict(plan, geometry=geometry)
    site.pop("radius_m", None)
    if radius is not None:
        site["radius_m"] = radius
    return _volume(site).footprint, wide, grain


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nested_pairs(), st.booleans())
def test_a_nested_coarse_pair_is_decided_alike_and_its_region_contains_the_clipped_one(
    pair: tuple[Any, Any, Grain], swap: bool
) -> None:
    from deconflict.geo.separation import nested_region, separation_and_overlap

    site, wide, _ = pair
    a, b = (wide, site) if swap else (site, wide)
    found = nested_region(a, b)
    sep, clipped = separation_and_overlap(a, b)
    if found is None:
        return
    assert sep.overlapping  # the exact engine's decision: they overlap
    assert clipped is not None
    frame = Frame(*site.center)
    ours, theirs = _planar(found, frame), _planar(clipped, frame)
    # Both are simplified to a metre; the clipped one is drawn in the pair's frame.
    assert theirs.difference(ours.buffer(2.0)).area == 0.0
    # Contains the true overlap: points of the true site inside the clipped region.
    if site.shape.value == "Point":
        rng = np.random.default_rng(0)
        n = 200
        az = rng.uniform(-180, 180, n)
        dist = site.radius_m * np.sqrt(rng.uniform(0, 1, n))
        lons, lats, _ = GEOD.fwd(np.full(n, site.center[0]), np.full(n, site.center[1]), az, dist)
        import shapely

        x, y, _ = frame.forward(np.asarray(lons), np.asarray(lats))
        points = shapely.points(x, y)
        inside = shapely.contains(theirs.buffer(-2.0), points)
        assert bool(np.all(shapely.contains(ours.buffer(1.0), points[inside])))
    # No finer than the grain: it depends on the wide side through its outline only
    # (a footprint re-parsed from the coarse outline gives the same region), and lies
    # within the wide side and the site (to the simplification's metre and stretch).
    wide_again = _volume(
        {
            "geometry": wide.to_geojson(),
            "altitude_lower": {"value": 0, "units": "M", "reference": "W84"},
            "altitude_upper": {"value": 1, "units": "M", "reference": "W84"},
            "time_start": _iso(_T0),
            "time_end": _iso(_T0 + timedelta(hours=1)),
        }
    ).footprint
    again = nested_region(site, wide_again) if not swap else nested_region(wide_again, site)
    assert again == found
    assert ours.difference(_planar(wide.to_geojson(), frame).buffer(5.0)).area == 0.0


def test_exact_pairs_are_still_clipped_in_the_pairs_frame() -> None:
    from deconflict.geo.separation import overlap_region
    from deconflict.strategic.pair import compare_volumes

    plan = _volume(
        {
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [[36.0, 35.0], [36.3, 35.0], [36.3, 35.3], [36.0, 35.3], [36.0, 35.0]]
                ],
            },
            "altitude_lower": {"value": 0, "units": "M", "reference": "W84"},
            "altitude_upper": {"value": 500, "units": "M", "reference": "W84"},
            "time_start": _iso(_T0),
            "time_end": _iso(_T0 + timedelta(hours=1)),
        }
    )
    site = _volume(
        {
            "geometry": {"type": "Point", "coordinates": [36.1, 35.1]},
            "radius_m": 500.0,
            "altitude_lower": {"value": 0, "units": "M", "reference": "W84"},
            "altitude_upper": {"value": 500, "units": "M", "reference": "W84"},
            "time_start": _iso(_T0),
            "time_end": _iso(_T0 + timedelta(hours=1)),
        }
    )
    policy = BufferPolicy()
    exact = compare_volumes(site, plan, policy.default, policy)
    coarse = compare_volumes(site, plan, policy.default, policy, coarse=True)
    assert exact is not None and coarse is not None
    assert exact.region == overlap_region(site.footprint, plan.footprint)
    assert coarse.region is not None and coarse.region != exact.region  # the shortcut ran
    assert (coarse.min_distance_m, coarse.nearest) == (exact.min_distance_m, exact.nearest)
