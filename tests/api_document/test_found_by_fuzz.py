"""Server bugs the fuzz test found, each answered over the real socket as it should be."""

from __future__ import annotations

import pytest

from tests.service.helpers import World, notice


@pytest.mark.parametrize(
    ("lower", "upper"),
    [
        # finite as sent, infinite in metres: the coarse grain's layers raised OverflowError
        ({"value": 0, "units": "FL"}, {"value": 1e307, "units": "FL"}),
        ({"value": -1.7e308, "units": "FT", "reference": "W84"}, {"value": 0, "units": "FL"}),
        # finite in metres, but no activity is notified 10,000 km up
        (
            {"value": 0, "units": "M", "reference": "W84"},
            {"value": 1e12, "units": "M", "reference": "W84"},
        ),
    ],
)
def test_an_altitude_beyond_any_activity_is_a_422_naming_it_not_a_500(
    world: World, lower: dict[str, object], upper: dict[str, object]
) -> None:
    co = world.party("coalition")
    doc = notice(["russia"])
    doc["volumes"][0].update(altitude_lower=lower, altitude_upper=upper)
    for path in ("/v1/notices", "/v1/check"):
        r = co.post(path, doc)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
        paths = [e["path"] for e in r.json()["errors"]]
        assert any(
            p.startswith("body.volumes[0].altitude_") and p.endswith(".value") for p in paths
        )
    assert co.ok("GET", "/v1/notices")["notices"] == []  # nothing stored
    # the connection survived: the next request on it is answered
    assert co.get("/v1/whoami").status_code == 200


def test_a_probe_cursor_beyond_a_database_integer_is_a_422_not_a_500(world: World) -> None:
    co = world.party("coalition")
    r = co.get("/v1/probes", params={"after": 2**63, "limit": 641})
    assert r.status_code == 422, r.text
    assert [e["path"] for e in r.json()["errors"]] == ["query.after"]
    assert co.get("/v1/probes", params={"after": 2**63 - 1}).status_code == 200


@pytest.mark.parametrize("moment", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:30:00+01:00"])
def test_a_time_outside_the_calendar_once_in_utc_is_a_422_not_a_500(
    world: World, moment: str
) -> None:
    co = world.party("coalition")
    doc = notice(["russia"], ack_deadline=moment)
    doc["volumes"][0]["time_end"] = moment
    r = co.post("/v1/notices", doc)
    assert r.status_code == 422, r.text
    found = {e["path"]: e["message"] for e in r.json()["errors"]}
    assert "outside the years 1 to 9999" in found["body.volumes[0].time_end"]
    assert "outside the years 1 to 9999" in found["body.ack_deadline"]
    assert co.ok("GET", "/v1/notices")["notices"] == []


WEST = [[36.0, 35.0], [36.5, 35.0], [36.5, 35.6], [36.0, 35.6], [36.0, 35.0]]
EAST = [[38.0, 35.0], [38.5, 35.0], [38.5, 35.6], [38.0, 35.6], [38.0, 35.0]]


def test_a_unit_whose_area_leaves_and_returns_to_a_notice_has_it_again_not_a_500(
    world: World,
) -> None:
    # A notice left the unit's area (its delivery superseded), then the area came back: the
    # same version was inserted again and broke the deliveries' unique key (500).
    co, ru = world.party("coalition"), world.party("russia")
    west = {"geometry": {"type": "Polygon", "coordinates": [WEST]}}
    east = {"geometry": {"type": "Polygon", "coordinates": [EAST]}}
    made = co.ok("POST", "/v1/units", {"id": "coalition/west", "area": west}, 201)
    unit = world.client(made["token"], made["id"])
    nid = ru.ok("POST", "/v1/notices", notice(["coalition"]), 201)["id"]
    unit.ok("POST", f"/v1/unit/notices/{nid}/ack", {"version": 1, "comment": "seen"})
    path = "/v1/units/coalition/west"
    moved = co.http.patch(path, json={"area": east})
    assert moved.status_code == 200 and moved.json()["routed"] == [], moved.text
    assert unit.ok("GET", "/v1/unit/notices")["notices"] == []
    back = co.http.patch(path, json={"area": west})
    assert back.status_code == 200, back.text
    assert back.json()["routed"] == [nid]
    again = unit.ok("GET", f"/v1/unit/notices/{nid}")["delivery"]
    # the same version, acknowledged once: the acknowledgement still stands
    assert again["current"] and again["state"] == "acknowledged" and again["comment"] == "seen"
    units = co.ok("GET", f"/v1/notices/{nid}/units")
    assert [u["unit"] for u in units["units"]] == ["coalition/west"] and units["earlier"] == []
    # and away once more: unrouted again, no error
    assert co.http.patch(path, json={"area": east}).status_code == 200
    assert unit.ok("GET", "/v1/unit/notices")["notices"] == []
