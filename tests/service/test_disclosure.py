"""A hostile party probes a hidden notice over HTTP: it learns the grain, nothing finer.

Russia is not an addressee of the coalition's notice. Everything Russia may ask (dry
runs, notices of its own, their conflicts) is answered against the coarse notice: the
H3 cells it meets, whole 1,000 ft layers and whole 15-minute slots. The proof that no
sequence of questions learns more is that two hidden notices with the same grain get
byte-identical answers; the tests also run the attacks of issue 11 and measure.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import h3
import pytest
import shapely
import shapely.affinity

from deconflict.geo import FOOT_M
from deconflict.utc import format_ts
from tests.service.helpers import World

# Tomorrow 06:00Z: slot edges are whole quarter hours from there.
_T0 = (datetime.now(UTC) + timedelta(days=1)).replace(hour=6, minute=0, second=0, microsecond=0)
_CELL = h3.latlng_to_cell(35.30, 36.30, 5)
_CLAT, _CLON = h3.cell_to_latlng(_CELL)


def _at(minutes: float) -> str:
    """As the hub writes every instant it answers (and any RFC 3339 is taken)."""
    return format_ts(_T0 + timedelta(minutes=minutes))


def _circle(
    lon: float, lat: float, radius_m: float, *, ft: tuple[float, float], mins: tuple[float, float]
) -> dict[str, Any]:
    return {
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "radius_m": radius_m,
        "altitude_lower": {"value": ft[0], "units": "FT", "reference": "W84"},
        "altitude_upper": {"value": ft[1], "units": "FT", "reference": "W84"},
        "time_start": _at(mins[0]),
        "time_end": _at(mins[1]),
    }


def _box(
    west: float, south: float, east: float, north: float, *, ft: tuple[float, float] = (0, 60_000)
) -> dict[str, Any]:
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "altitude_lower": {"value": ft[0], "units": "FT", "reference": "W84"},
        "altitude_upper": {"value": ft[1], "units": "FT", "reference": "W84"},
        "time_start": _at(-600),
        "time_end": _at(6000),
    }


# Two hidden plans with the same grain: inside one H3 cell, layers 1,000-4,000 ft and
# slots 06:00-07:00, but different to the metre, the foot and the second.
HIDDEN_1 = _circle(_CLON, _CLAT, 300.0, ft=(1200, 3300), mins=(3.5, 58.0))
HIDDEN_2 = _circle(_CLON + 0.012, _CLAT - 0.008, 900.0, ft=(1900, 3950), mins=(11.0, 47.25))
COVER = _box(_CLON - 2.5, _CLAT - 2.5, _CLON + 2.5, _CLAT + 2.5)


def _hidden(vol: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "kind": "air_activity",
        "title": "HIDDEN PLAN",
        "addressees": ["un"],
        "volumes": [vol],
        **extra,
    }


def _probe(vol: dict[str, Any]) -> dict[str, Any]:
    # addressed to its target, the probe itself is judged exact: the strongest attacker
    return {"kind": "uas_activity", "title": "probe", "addressees": ["coalition"], "volumes": [vol]}


def _polygon(geojson: dict[str, Any]) -> shapely.Polygon:
    return shapely.Polygon(geojson["coordinates"][0], geojson["coordinates"][1:])


def _footprint(vol: dict[str, Any]) -> shapely.Geometry:
    """The volume's footprint in degrees (a circle as a fine polygon: small areas only)."""
    lon, lat = vol["geometry"]["coordinates"]
    deg = vol["radius_m"] / 111_320.0
    return shapely.affinity.scale(shapely.Point(lon, lat).buffer(deg, 256), 1 / 0.8166, 1.0)


def _cell_polygon(cell: str) -> shapely.Polygon:
    return shapely.Polygon([(lo, la) for la, lo in h3.cell_to_boundary(cell)])


def _answer(api: Any, vol: dict[str, Any]) -> list[dict[str, Any]]:
    conflicts: list[dict[str, Any]] = api.ok("POST", "/v1/check", _probe(vol))["conflicts"]
    return conflicts


def _what(answer: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What an answer says of the other side (its timestamps are the question's)."""
    return [{"other": c["other"], "overlaps": c["overlaps"]} for c in answer]


def test_one_covering_dry_run_returns_the_grain_not_the_plan(world: World) -> None:
    co, ru = world.party("coalition"), world.party("russia")
    n = co.ok("POST", "/v1/notices", _hidden(HIDDEN_1), 201)
    assert n["disclosure"] == {
        "level": "coarse",
        "grain": {"h3_resolution": 5, "layer_ft": 1000, "slot_min": 15},
    }
    [c] = _answer(ru, COVER)
    assert c["other"] == {
        "issuer": "coalition",
        "kind": "air_activity",
        "notice": None,
        "version": None,
        "addressed_to_you": False,
        "disclosure": "coarse",
    }
    [o] = c["overlaps"]
    region = _polygon(o["region"])
    cell = _cell_polygon(_CELL)
    # contains the plan, and is the whole cell (grown by the 50 m slack), not the plan
    assert region.contains(_footprint(HIDDEN_1))
    assert region.buffer(1e-4).contains(cell)
    assert region.area < cell.area * 1.03
    assert region.area > 50 * _footprint(HIDDEN_1).area
    band = o["altitude_band"]
    assert band["lower_m"] == pytest.approx(1000 * FOOT_M)
    assert band["upper_m"] == pytest.approx(4000 * FOOT_M)
    assert o["time_window"] == {"start": _at(0), "end": _at(60)}
    assert "HIDDEN" not in json.dumps(c)
    assert n["id"] not in json.dumps(c)


def test_two_plans_of_one_grain_get_identical_answers_to_every_question(world: World) -> None:
    """The bisection attack, generalised: no answer depends on anything below the grain."""
    co, ru = world.party("coalition"), world.party("russia")
    n = co.ok("POST", "/v1/notices", _hidden(HIDDEN_1), 201)
    questions = [
        COVER,
        _box(_CLON - 0.05, _CLAT - 0.05, _CLON + 0.05, _CLAT + 0.05),  # inside the cell
        _box(_CLON, _CLAT - 1, _CLON + 1, _CLAT + 1),  # the east half of the cell
        _box(_CLON - 1, _CLAT - 1, _CLON, _CLAT + 1, ft=(3400, 3500)),  # inside one layer
        _circle(_CLON + 0.01, _CLAT, 50.0, ft=(0, 60_000), mins=(50, 52)),
        _circle(_CLON, _CLAT, 10.0, ft=(3960, 3970), mins=(59, 59.5)),
    ]
    first = [_what(_answer(ru, q)) for q in questions]
    assert all(len(a) == 1 for a in first)  # every question above meets the coarse plan
    co.ok("PUT", f"/v1/notices/{n['id']}", {**_hidden(HIDDEN_2), "version": 1})
    second = [_what(_answer(ru, q)) for q in questions]
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def test_bisection_bounds_the_plan_no_better_than_the_cell(world: World) -> None:
    co, ru = world.party("coalition"), world.party("russia")
    co.ok("POST", "/v1/notices", _hidden(HIDDEN_1), 201)
    # "Is any of it west of x?": bisect the western edge between 2 degrees out and the centre.
    lo, hi = _CLON - 2.0, _CLON
    for _ in range(22):
        mid = (lo + hi) / 2
        if _answer(ru, _box(_CLON - 3.0, _CLAT - 3.0, mid, _CLAT + 3.0)):
            hi = mid
        else:
            lo = mid
    cell_west = min(lo for lo, _ in _cell_polygon(_CELL).exterior.coords)
    plan_west = _footprint(HIDDEN_1).bounds[0]
    assert abs(hi - cell_west) < 0.002  # the cell's edge (+ 50 m slack), to a few hundred m
    assert plan_west - hi > 0.02  # and nowhere near the plan's edge (kilometres off)


def test_buffer_near_miss_reveals_only_the_coarse_boundary(tmp_path: Path) -> None:
    world = World(tmp_path, lateral_buffer_m=5000.0)
    try:
        co, ru = world.party("coalition"), world.party("russia")
        co.ok("POST", "/v1/notices", _hidden(HIDDEN_1), 201)
        cell = _cell_polygon(_CELL)
        east = max(lo for lo, _ in cell.exterior.coords)
        near = _circle(east + 0.03, _CLAT, 100.0, ft=(0, 60_000), mins=(0, 60))
        [c] = _answer(ru, near)
        [o] = c["overlaps"]
        _mine, theirs = o["closest_points"]
        point = shapely.Point(theirs)
        # the hidden side's closest point lies on the coarse outline, km from the plan
        assert cell.exterior.distance(point) < 0.002
        assert _footprint(HIDDEN_1).distance(point) > 0.02
    finally:
        world.stop()


def test_an_exact_protected_site_is_avoided_to_the_metre(world: World) -> None:
    un, ru = world.party("un"), world.party("russia")
    site = _circle(_CLON, _CLAT, 300.0, ft=(0, 300), mins=(0, 60))
    body = {"kind": "protected_site", "title": "hospital", "addressees": ["coalition"]}
    n = un.ok("POST", "/v1/notices", {**body, "volumes": [site]}, 201)
    assert n["disclosure"]["level"] == "exact"
    [c] = _answer(ru, COVER)
    assert c["other"]["disclosure"] == "exact"
    [o] = c["overlaps"]
    region = _polygon(o["region"])
    assert region.symmetric_difference(_footprint(site)).area < 0.01 * region.area
    assert o["altitude_band"] == {"lower_m": 0.0, "upper_m": pytest.approx(300 * FOOT_M)}


def test_an_addressee_is_judged_and_told_against_the_exact_plan(world: World) -> None:
    co, ru = world.party("coalition"), world.party("russia")
    co.ok("POST", "/v1/notices", {**_hidden(HIDDEN_1), "addressees": ["russia"]}, 201)
    [c] = _answer(ru, COVER)
    assert c["other"]["addressed_to_you"] is True
    assert c["other"]["disclosure"] == "exact"
    region = _polygon(c["overlaps"][0]["region"])
    assert region.symmetric_difference(_footprint(HIDDEN_1)).area < 0.01 * region.area
    # and a question outside the plan but inside its cell finds nothing
    assert _answer(ru, _circle(_CLON + 0.03, _CLAT, 50.0, ft=(0, 60_000), mins=(0, 60))) == []


def test_existence_level_tells_that_a_conflict_exists_and_a_coarse_window(world: World) -> None:
    co, ru = world.party("coalition"), world.party("russia")
    co.ok("POST", "/v1/notices", _hidden(HIDDEN_1, disclosure="existence"), 201)
    [c] = _answer(ru, COVER)
    assert c["other"]["disclosure"] == "existence"
    assert c["other"]["issuer"] == "coalition"
    assert c["other"]["kind"] == "air_activity"
    assert c["overlaps"] == [{"time_window": {"start": _at(0), "end": _at(60)}}]
    # a real notice of Russia's conflicting with it is shown the same way, on both streams
    mine = ru.ok("POST", "/v1/notices", {**_probe(COVER), "title": "patrol"}, 201)
    assert mine["conflicts"][0]["overlaps"] == [{"time_window": {"start": _at(0), "end": _at(60)}}]
    opened = [e for e in ru.events() if e["type"] == "conflict_opened"]
    assert opened[0]["data"]["overlaps"] == mine["conflicts"][0]["overlaps"]


def test_the_issuer_of_the_coarse_plan_sees_the_other_side_by_the_same_rule(
    world: World,
) -> None:
    """Russia's own notice is coarse towards the coalition too: each side learns the grain."""
    co, ru = world.party("coalition"), world.party("russia")
    co.ok("POST", "/v1/notices", _hidden(HIDDEN_1), 201)
    ru_plan = _circle(_CLON, _CLAT, 200.0, ft=(0, 60_000), mins=(0, 60))
    body = {**_probe(ru_plan), "title": "RU PLAN", "addressees": ["un"]}
    ru.ok("POST", "/v1/notices", body, 201)
    [e] = [e for e in co.events() if e["type"] == "conflict_opened"]
    region = _polygon(e["data"]["overlaps"][0]["region"])
    assert region.area > 50 * _footprint(ru_plan).area  # the cell, not Russia's circle
    assert "RU PLAN" not in json.dumps(e)


@pytest.mark.parametrize(
    ("disclosure", "field"),
    [
        ("secret", "disclosure.level"),
        ({"level": "coarse", "grain": {"h3_resolution": 9}}, "disclosure.grain.h3_resolution"),
        ({"level": "coarse", "grain": {"layer_ft": 10}}, "disclosure.grain.layer_ft"),
        ({"level": "coarse", "grain": {"slot_min": 0}}, "disclosure.grain.slot_min"),
        ({"level": "coarse", "grain": {"cells": 1}}, "disclosure.grain.cells"),
        ({"level": "coarse", "grain": "fine"}, "disclosure.grain"),
        (7, "disclosure"),
    ],
)
def test_bad_disclosure_is_refused_naming_the_field(
    world: World, disclosure: Any, field: str
) -> None:
    co = world.party("coalition")
    r = co.post("/v1/notices", _hidden(HIDDEN_1, disclosure=disclosure))
    assert r.status_code == 422, r.text
    assert field in r.text
    assert co.ok("GET", "/v1/notices")["notices"] == []


def test_grain_is_per_notice_stored_and_survives_a_restart(world: World) -> None:
    co, ru = world.party("coalition"), world.party("russia")
    grain = {"h3_resolution": 4, "layer_ft": 5000, "slot_min": 60}
    body = _hidden(HIDDEN_1, disclosure={"level": "coarse", "grain": grain})
    n = co.ok("POST", "/v1/notices", body, 201)
    assert n["disclosure"] == {"level": "coarse", "grain": grain}
    world.restart()
    co, ru = world.party("coalition"), world.party("russia")
    assert co.ok("GET", f"/v1/notices/{n['id']}")["disclosure"]["grain"] == grain
    [c] = _answer(ru, COVER)  # the index was rebuilt with the coarse volumes
    [o] = c["overlaps"]
    assert o["altitude_band"] == {"lower_m": 0.0, "upper_m": pytest.approx(5000 * FOOT_M)}
    assert o["time_window"] == {"start": _at(0), "end": _at(60)}
    region = _polygon(o["region"])
    parent = _cell_polygon(h3.cell_to_parent(_CELL, 4))
    assert region.area > 0.9 * parent.area
