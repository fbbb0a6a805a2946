"""Every invalid Volume4D is refused with the field path and the reason (issue 2, Bad input)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from deconflict.geo import (
    FOOT_M,
    GeoValidationError,
    Limits,
    Reference,
    parse_volume,
    parse_volumes,
)
from tests.conftest import box, volume_doc


def errors_of(doc: Any, **kwargs: Any) -> dict[str, str]:
    with pytest.raises(GeoValidationError) as info:
        parse_volume(doc, **kwargs)
    return {e.path: e.message for e in info.value.errors}


def polygon(*ring: tuple[float, ...]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[list(p) for p in ring]]}


BAD = [
    pytest.param(
        volume_doc(polygon((36, 35), (36.1, 35), (36, 35))),
        "geometry.coordinates[0]",
        "at least 4 positions",
        id="fewer-than-3-vertices",
    ),
    pytest.param(
        volume_doc(polygon((36, 35), (36.1, 35), (36, 35), (36.1, 35), (36, 35))),
        "geometry.coordinates[0]",
        "3 distinct vertices",
        id="only-2-distinct-vertices",
    ),
    pytest.param(
        volume_doc(polygon((36, 35), (36.1, 35), (36.1, 35.1), (36, 35.1))),
        "geometry.coordinates[0]",
        "not closed",
        id="unclosed-ring",
    ),
    pytest.param(
        volume_doc(polygon((0, 0), (1, 1), (1, 0), (0, 1), (0, 0))),
        "geometry.coordinates",
        "self-intersects",
        id="bow-tie",
    ),
    pytest.param(
        volume_doc(polygon((36, 95), (36.1, 35), (36.1, 35.1), (36, 95))),
        "geometry.coordinates[0][0]",
        "latitude 95.0 is outside [-90, 90]",
        id="latitude-out-of-range",
    ),
    pytest.param(
        volume_doc(polygon((186, 35), (36.1, 35), (36.1, 35.1), (186, 35))),
        "geometry.coordinates[0][0]",
        "longitude 186.0 is outside [-180, 180]",
        id="longitude-out-of-range",
    ),
    pytest.param(
        volume_doc(polygon((36, 35), (math.nan, 35), (36.1, 35.1), (36, 35))),
        "geometry.coordinates[0][1]",
        "must be finite",
        id="nan",
    ),
    pytest.param(
        volume_doc(polygon((36, 35), (math.inf, 35), (36.1, 35.1), (36, 35))),
        "geometry.coordinates[0][1]",
        "must be finite",
        id="infinity",
    ),
    pytest.param(
        volume_doc(box(36, 35, 36.1, 35.1), lower=(2000, "M", "W84"), upper=(1000, "M", "W84")),
        "altitude_lower",
        "above upper altitude",
        id="lower-above-upper",
    ),
    pytest.param(
        volume_doc(
            box(36, 35, 36.1, 35.1), start="2015-09-30T09:00:00Z", end="2015-09-30T08:59:59Z"
        ),
        "time_end",
        "ends before it starts",
        id="end-before-start",
    ),
    pytest.param(
        volume_doc(box(36, 35, 36.1, 35.1), start="2015-09-30T06:00:00"),
        "time_start",
        "time zone missing",
        id="missing-zone",
    ),
    pytest.param(
        volume_doc(box(36, 35, 36.1, 35.1), start="30/09/2015 06:00"),
        "time_start",
        "not an RFC 3339",
        id="not-rfc3339",
    ),
    pytest.param(
        volume_doc(box(36, 35, 36.1, 35.1), upper=(1000, "YD", "W84")),
        "altitude_upper.units",
        "unknown units 'YD'",
        id="unknown-units",
    ),
    pytest.param(
        volume_doc(box(36, 35, 36.1, 35.1), upper=(1000, "M", "AGL")),
        "altitude_upper.reference",
        "unknown reference 'AGL'",
        id="unknown-reference",
    ),
    pytest.param(
        volume_doc({"type": "Point", "coordinates": [36, 35]}),
        "radius_m",
        "needs radius_m > 0",
        id="circle-without-radius",
    ),
    pytest.param(
        volume_doc({"type": "Point", "coordinates": [36, 35]}, radius_m=0),
        "radius_m",
        "needs radius_m > 0",
        id="circle-radius-zero",
    ),
    pytest.param(
        volume_doc({"type": "LineString", "coordinates": [[36, 35], [36.2, 35]]}, radius_m=-5),
        "radius_m",
        "needs radius_m > 0",
        id="corridor-negative-radius",
    ),
    pytest.param(
        volume_doc(box(36, 35, 36.1, 35.1), radius_m=100),
        "radius_m",
        "a Polygon takes no radius",
        id="polygon-with-radius",
    ),
    pytest.param(
        volume_doc(polygon((0, 80), (120, 80), (-120, 80), (0, 80))),
        "geometry.coordinates[0]",
        "encloses a pole",
        id="contains-north-pole",
    ),
    pytest.param(
        volume_doc(polygon((10, -85), (-110, -85), (130, -85), (10, -85))),
        "geometry.coordinates[0]",
        "encloses a pole",
        id="contains-south-pole",
    ),
    pytest.param(
        volume_doc({"type": "Point", "coordinates": [0, 90]}, radius_m=10),
        "geometry.coordinates",
        "pole",
        id="circle-on-pole",
    ),
    pytest.param(
        volume_doc(box(0, 0, 12, 12)),
        "geometry",
        "larger than the limit of 1000 km",
        id="footprint-too-large",
    ),
    pytest.param(
        volume_doc({"type": "Point", "coordinates": [36, 35]}, radius_m=600_000),
        "geometry",
        "larger than the limit",
        id="circle-too-large",
    ),
    pytest.param(
        volume_doc(
            box(36, 35, 36.1, 35.1), start="2015-01-01T00:00:00Z", end="2016-03-01T00:00:00Z"
        ),
        "time_end",
        "longer than the limit of 366 days",
        id="window-too-long",
    ),
    pytest.param(
        volume_doc({"type": "MultiPolygon", "coordinates": []}),
        "geometry.type",
        "unsupported geometry type 'MultiPolygon'",
        id="unsupported-type",
    ),
    pytest.param(
        volume_doc(polygon((36, 35, 100), (36.1, 35, 100), (36.1, 35.1, 100), (36, 35, 100))),
        "geometry.coordinates[0][0]",
        "longitude, latitude] only",
        id="third-coordinate",
    ),
    pytest.param(
        volume_doc(polygon((36, 35), (True, 35), (36.1, 35.1), (36, 35))),
        "geometry.coordinates[0][1]",
        "longitude must be a number",
        id="boolean-coordinate",
    ),
    pytest.param(
        volume_doc({"type": "LineString", "coordinates": [[36, 35], [36, 35]]}, radius_m=50),
        "geometry.coordinates",
        "at least 2 distinct positions",
        id="degenerate-corridor",
    ),
    pytest.param(
        volume_doc(box(36, 35, 36.1, 35.1), upper=(250, "FL", "W84")),
        "altitude_upper.reference",
        "pressure altitude",
        id="flight-level-with-geometric-reference",
    ),
    pytest.param(
        {**volume_doc(box(36, 35, 36.1, 35.1)), "altitude": 5},
        "altitude",
        "unknown field",
        id="unknown-field",
    ),
    pytest.param(
        {k: v for k, v in volume_doc(box(36, 35, 36.1, 35.1)).items() if k != "time_end"},
        "time_end",
        "required",
        id="missing-field",
    ),
]


@pytest.mark.parametrize(("doc", "path", "fragment"), BAD)
def test_invalid_volume_names_field_and_reason(doc: Any, path: str, fragment: str) -> None:
    errors = errors_of(doc)
    assert path in errors, errors
    assert fragment in errors[path]


def test_hole_outside_exterior_is_refused() -> None:
    geometry = {
        "type": "Polygon",
        "coordinates": [
            box(36, 35, 36.1, 35.1)["coordinates"][0],
            box(37, 35, 37.1, 35.1)["coordinates"][0],
        ],
    }
    assert "geometry.coordinates" in errors_of(volume_doc(geometry))


def test_too_many_vertices() -> None:
    ring = [[36 + 0.0001 * i, 35 + 0.00001 * (i % 2)] for i in range(50)]
    ring += [[36.0, 35.5], ring[0]]
    doc = volume_doc({"type": "Polygon", "coordinates": [ring]})
    errors = errors_of(doc, limits=Limits(max_vertices=40))
    assert "too many vertices: 52 > limit 40" in errors["geometry.coordinates"]


def test_all_errors_reported_at_once_with_prefix() -> None:
    doc = volume_doc(
        polygon((36, 95), (36.1, 35), (36.1, 35.1), (36, 95)),
        upper=(1, "YD", "W84"),
        start="2015-09-30T06:00:00",
    )
    errors = errors_of(doc, path="volumes[3]")
    assert set(errors) == {
        "volumes[3].geometry.coordinates[0][0]",
        "volumes[3].geometry.coordinates[0][3]",
        "volumes[3].altitude_upper.units",
        "volumes[3].time_start",
    }


def test_parse_volumes_requires_non_empty_array() -> None:
    bad: object
    for bad in (None, [], {}, "x"):
        with pytest.raises(GeoValidationError) as info:
            parse_volumes(bad)
        assert info.value.errors[0].path == "volumes"


def test_valid_volume_is_normalised_to_utc() -> None:
    vol = parse_volume(
        volume_doc(
            box(36.1, 35.2, 36.4, 35.45),
            lower=(0, "FT", "AMSL"),
            upper=(250, "FL", "STD"),
            start="2015-09-30T09:00:00+03:00",
            end="2015-09-30T09:00:00.5Z",
        )
    )
    assert vol is not None
    doc = vol.to_json()
    assert doc["time_start"] == "2015-09-30T06:00:00.000000Z"  # the one format (utc.format_ts)
    assert doc["time_end"] == "2015-09-30T09:00:00.500000Z"
    assert doc["geometry"]["coordinates"][0][0] == [36.1, 35.2]
    assert vol.altitude.upper_m == pytest.approx(25_000 * FOOT_M)
    assert vol.altitude.upper_ref is Reference.STD
    assert vol.time_start.utcoffset() is not None


def test_antimeridian_polygon_is_accepted_and_small() -> None:
    vol = parse_volume(
        volume_doc(polygon((179.5, 10), (-179.5, 10), (-179.5, 11), (179.5, 11), (179.5, 10)))
    )
    assert vol is not None
    # The short way round: about 110 km wide, not 39,000 km.
    assert vol.footprint.cap_radius_m < 120_000
    assert vol.to_json()["geometry"]["coordinates"][0][1] == [-179.5, 10.0]


def test_polygon_with_hole_and_high_latitude_accepted() -> None:
    geometry = {
        "type": "Polygon",
        "coordinates": [
            box(20, 78, 24, 79)["coordinates"][0],
            box(21, 78.3, 22, 78.6)["coordinates"][0],
        ],
    }
    vol = parse_volume(volume_doc(geometry))
    assert vol is not None
    assert len(vol.footprint.parts) == 2
