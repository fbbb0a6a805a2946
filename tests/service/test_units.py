"""Units (issue 15) over the real server: routing by area, per-unit delivery and
acknowledgement, escalation when an activity starts, and what each side may learn."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from deconflict.cli import main
from deconflict.ledger.evidence import verify_bundle
from tests.service.helpers import Api, World, notice, volume

# The notices of `helpers.notice` cover [36.10, 36.40] x [35.20, 35.50].
WEST = [[36.0, 35.0], [36.5, 35.0], [36.5, 35.6], [36.0, 35.6], [36.0, 35.0]]
EAST = [[38.0, 35.0], [38.5, 35.0], [38.5, 35.6], [38.0, 35.6], [38.0, 35.0]]


def polygon(ring: list[list[float]]) -> dict[str, Any]:
    return {"geometry": {"type": "Polygon", "coordinates": [ring]}}


def circle(lon: float, lat: float, radius_m: float) -> dict[str, Any]:
    return {"geometry": {"type": "Point", "coordinates": [lon, lat]}, "radius_m": radius_m}


def make_unit(world: World, party: Api, name: str, area: dict[str, Any], **extra: Any) -> Api:
    body = {"id": f"{party.name}/{name}", "area": area, **extra}
    made = party.ok("POST", "/v1/units", body, 201)
    assert made["id"] == f"{party.name}/{name}" and made["state"] == "active"
    return world.client(made["token"], made["id"])


def unit_events(unit: Api, after: int = 0) -> list[dict[str, Any]]:
    r = unit.get("/v1/unit/events", params={"after": after}, headers={"Accept": "application/json"})
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["events"]
    return found


def routed_ids(unit: Api) -> list[str]:
    return [e["data"]["id"] for e in unit_events(unit) if e["type"] == "notice_routed"]


def wait_for(fn: Any, timeout: float = 8.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = fn()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_notices_are_routed_by_area_and_kind(world: World) -> None:
    co, ru = world.party("coalition"), world.party("russia")
    west = make_unit(world, co, "west", polygon(WEST))
    east = make_unit(world, co, "east", polygon(EAST))
    ring = make_unit(world, co, "ring", circle(36.25, 35.35, 5_000))
    fires = make_unit(world, co, "fires", polygon(WEST), kinds=["fires"])
    n = ru.ok("POST", "/v1/notices", notice(["coalition"]), 201)
    assert routed_ids(west) == [n["id"]] and routed_ids(ring) == [n["id"]]
    assert routed_ids(east) == [] and routed_ids(fires) == []
    # The unit reads what is routed to it; nothing else.
    mine = west.ok("GET", "/v1/unit/notices")["notices"]
    assert [m["id"] for m in mine] == [n["id"]] and mine[0]["delivery"]["state"] == "pending"
    assert west.ok("GET", f"/v1/unit/notices/{n['id']}")["title"] == "activity"
    assert east.get(f"/v1/unit/notices/{n['id']}").status_code == 404
    # The liaison sees, per notice, which units have it and which do not.
    view = co.ok("GET", f"/v1/notices/{n['id']}/units")
    assert [u["unit"] for u in view["units"]] == ["coalition/ring", "coalition/west"]
    assert view["summary"] == {"responsible": 2, "delivered": 0, "acknowledged": 0}
    # A fires notice reaches the fires unit too.
    f = ru.ok("POST", "/v1/notices", notice(["coalition"], kind="fires"), 201)
    assert routed_ids(fires) == [f["id"]]
    # A unit created later gets the active notices of its area at once.
    late = co.ok("POST", "/v1/units", {"id": "coalition/late", "area": polygon(WEST)}, 201)
    assert sorted(late["routed"]) == sorted([n["id"], f["id"]])
    assert len(routed_ids(world.client(late["token"]))) == 2


def test_a_unit_confirms_delivery_and_acknowledges(world: World) -> None:
    co, ru = world.party("coalition"), world.party("russia")
    west = make_unit(world, co, "west", polygon(WEST))
    n = ru.ok("POST", "/v1/notices", notice(["coalition"]), 201)
    nid = n["id"]
    first = unit_events(west)  # read, not yet confirmed
    assert [e["type"] for e in first] == ["notice_routed"]
    assert co.ok("GET", f"/v1/notices/{nid}/units")["units"][0]["state"] == "pending"
    # Resuming after the event's id confirms it.
    assert unit_events(west, first[-1]["id"]) == []
    unit = co.ok("GET", f"/v1/notices/{nid}/units")["units"][0]
    assert unit["state"] == "delivered" and unit["delivered_at"]
    types = [e["type"] for e in co.events()]
    assert "unit_delivered" in types
    # A confirmation past the unit's last event is refused, naming the field.
    r = west.post("/v1/unit/confirm", {"last_event_id": first[-1]["id"] + 1000})
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "body.last_event_id"
    assert west.post("/v1/unit/confirm", {"through": 1}).status_code == 422
    # Acknowledgement: the routed version only.
    r = west.post(f"/v1/unit/notices/{nid}/ack", {"version": 2})
    assert r.status_code == 409 and r.json()["current_version"] == 1
    assert west.post("/v1/unit/notices/n_nope/ack", {"version": 1}).status_code == 404
    done = west.ok("POST", f"/v1/unit/notices/{nid}/ack", {"version": 1, "comment": "crew briefed"})
    assert done["state"] == "acknowledged" and done["comment"] == "crew briefed"
    again = west.ok("POST", f"/v1/unit/notices/{nid}/ack", {"version": 1})
    assert again["acknowledged_at"] == done["acknowledged_at"]
    acked = [e for e in co.events() if e["type"] == "unit_acknowledged"]
    assert acked and acked[0]["data"]["unit"] == "coalition/west"
    view = co.ok("GET", f"/v1/notices/{nid}/units")
    assert view["summary"] == {"responsible": 1, "delivered": 1, "acknowledged": 1}
    # Each step is a ledger entry the receiving party reads and the issuer does not.
    for who, readable in ((co, True), (ru, False)):
        entries = who.ok("GET", "/v1/ledger/entries", None)["entries"]
        texts = [json.loads(e["entry"]) for e in entries if "entry" in e]
        types_ = {t["type"] for t in texts}
        assert ({"unit_created", "unit_routing", "unit_delivery", "unit_ack"} <= types_) is readable
        assert any("coalition/" in json.dumps(t) for t in texts) is readable
    # The issuer's evidence for its notice names no unit.
    bundle = ru.ok("GET", f"/v1/notices/{nid}/evidence")
    assert "coalition/" not in json.dumps(bundle)
    mine = co.ok("GET", f"/v1/notices/{nid}/evidence")
    report = verify_bundle(mine)
    assert report.ok, report.problems
    account = "\n".join(report.account)
    assert f"version 1 of {nid} was routed to coalition/west of coalition" in account
    assert f"version 1 of {nid} was delivered to unit coalition/west (confirm)" in account
    assert f'unit coalition/west acknowledged version 1 of {nid} with comment "crew' in account
    assert verify_bundle(bundle).ok


def test_a_new_version_is_routed_again_and_a_cancellation_reaches_the_units(world: World) -> None:
    co, ru = world.party("coalition"), world.party("russia")
    west = make_unit(world, co, "west", polygon(WEST))
    east = make_unit(world, co, "east", polygon(EAST))
    n = ru.ok("POST", "/v1/notices", notice(["coalition"]), 201)
    moved = {**notice(["coalition"], lon=38.1), "version": 1}
    ru.ok("PUT", f"/v1/notices/{n['id']}", moved)
    assert [e["type"] for e in unit_events(west)] == ["notice_routed", "notice_unrouted"]
    assert west.get(f"/v1/unit/notices/{n['id']}").status_code == 404
    assert [(e["type"], e["data"]["version"]) for e in unit_events(east)] == [("notice_routed", 2)]
    ru.ok("DELETE", f"/v1/notices/{n['id']}")
    last = unit_events(east)[-1]
    assert last["type"] == "notice_routed" and last["data"]["state"] == "cancelled"
    assert last["data"]["version"] == 3
    assert [e["type"] for e in unit_events(west)] == ["notice_routed", "notice_unrouted"]
    # Moving the unit's area routes its party's active notices again.
    n2 = ru.ok("POST", "/v1/notices", notice(["coalition"]), 201)
    changed = co.ok("PATCH", "/v1/units/coalition/east", {"area": polygon(WEST)})
    assert changed["routed"] == [n2["id"]]


def test_an_activity_that_starts_before_a_unit_has_it_escalates(world: World) -> None:
    co, ru = world.party("coalition"), world.party("russia")
    units = [make_unit(world, co, name, polygon(WEST)) for name in ("alpha", "bravo", "charlie")]
    make_unit(world, co, "far", polygon(EAST))
    soon = notice(["coalition"], title="strike package")
    soon["volumes"] = [volume(start_h=3 / 3600, hours=1)]
    n = ru.ok("POST", "/v1/notices", soon, 201)
    for u in units[:2]:  # alpha and bravo confirm; charlie never does
        got = unit_events(u)
        u.ok("POST", "/v1/unit/confirm", {"last_event_id": got[-1]["id"]})
    missed = wait_for(lambda: [e for e in co.events() if e["type"] == "unit_delivery_missed"])
    assert [e["data"]["unit"] for e in missed] == ["coalition/charlie"]
    told = wait_for(lambda: [e for e in ru.events() if e["type"] == "units_not_reached"])
    assert len(told) == 1
    data = told[0]["data"]
    assert data["summary"] == "delivered to 2 of 3 units responsible for the area"
    assert (data["units_responsible"], data["units_delivered"], data["units"]) == (3, 2, [])
    # The issuer learns the count and nothing else: no unit name anywhere it looks.
    for path in ("/v1/events?after=0", f"/v1/notices/{n['id']}", "/v1/acks?role=issuer"):
        text = ru.get(path, headers={"Accept": "application/json"}).text
        assert "coalition/" not in text and "charlie" not in text, path
    entries = ru.ok("GET", "/v1/ledger/entries")["entries"]
    readable = [json.loads(e["entry"]) for e in entries if "entry" in e]
    assert [t["units_responsible"] for t in readable if t["type"] == "units_not_reached"] == [3]
    assert not any("coalition/" in json.dumps(t) for t in readable)
    r = ru.get(f"/v1/notices/{n['id']}/units")
    assert r.status_code == 403 and "coalition/" not in r.text
    # The liaison sees which unit missed it; the escalation is sent once.
    view = co.ok("GET", f"/v1/notices/{n['id']}/units")
    assert [u["unit"] for u in view["units"] if u["missed"]] == ["coalition/charlie"]
    pending = co.ok("GET", "/v1/unit-deliveries?state=pending")["deliveries"]
    assert [d["unit"] for d in pending] == ["coalition/charlie"]
    time.sleep(0.6)
    assert len([e for e in ru.events() if e["type"] == "units_not_reached"]) == 1


def test_a_unit_that_shares_its_name_is_named_to_the_issuer(world: World) -> None:
    co, ru = world.party("coalition"), world.party("russia")
    make_unit(world, co, "open-cell", polygon(WEST), share_with_issuers=True)
    make_unit(world, co, "quiet-cell", polygon(WEST))
    soon = notice(["coalition"])
    soon["volumes"] = [volume(start_h=1 / 3600, hours=1)]
    ru.ok("POST", "/v1/notices", soon, 201)
    told = wait_for(lambda: [e for e in ru.events() if e["type"] == "units_not_reached"])
    assert told[0]["data"]["units"] == ["coalition/open-cell"]
    assert told[0]["data"]["summary"] == "delivered to 0 of 2 units responsible for the area"
    assert "quiet-cell" not in json.dumps(ru.events())


def test_a_unit_sees_only_what_is_routed_to_it(world: World) -> None:
    co, ru, un = world.party("coalition"), world.party("russia"), world.party("un")
    west = make_unit(world, co, "west", polygon(WEST))
    east = make_unit(world, co, "east", polygon(EAST))
    secret_w, secret_e = "WEST-ONLY-TITLE", "EAST-ONLY-TITLE"
    nw = ru.ok("POST", "/v1/notices", notice(["coalition"], title=secret_w), 201)
    ne = un.ok("POST", "/v1/notices", notice(["coalition"], lon=38.1, title=secret_e), 201)
    co.ok("POST", "/v1/messages", {"to": ["russia"], "body": "PARTY-MESSAGE"}, 201)
    ru.ok("POST", "/v1/messages", {"to": ["coalition"], "body": "PARTY-MESSAGE"}, 201)
    co.ok("POST", "/v1/notices", notice(["russia"], title="OWN-NOTICE"), 201)
    for unit, mine, theirs in ((west, nw, ne), (east, ne, nw)):
        texts = [
            json.dumps(unit_events(unit)),
            unit.get("/v1/unit/notices").text,
            unit.get("/v1/unit").text,
        ]
        for text in texts:
            assert theirs["id"] not in text and theirs["title"] not in text
            assert "PARTY-MESSAGE" not in text and "OWN-NOTICE" not in text
        assert mine["title"] in texts[0]
        assert unit.get(f"/v1/unit/notices/{theirs['id']}").status_code == 404
        assert unit.post(f"/v1/unit/notices/{theirs['id']}/ack", {"version": 1}).status_code == 404
    # The SSE stream of a unit carries only its own events too.
    with east.http.stream("GET", "/v1/unit/events", headers={"Accept": "text/event-stream"}) as r:
        lines = []
        for line in r.iter_lines():
            lines.append(line)
            if line.startswith("data:"):
                break
    assert secret_e in "\n".join(lines) and secret_w not in "\n".join(lines)


def test_a_unit_token_cannot_act_as_its_party(world: World) -> None:
    co, ru = world.party("coalition"), world.party("russia")
    west = make_unit(world, co, "west", polygon(WEST))
    n = ru.ok("POST", "/v1/notices", notice(["coalition"]), 201)
    party_endpoints = [
        ("GET", "/v1/notices", None),
        ("GET", f"/v1/notices/{n['id']}", None),
        ("POST", "/v1/notices", notice(["russia"])),
        ("POST", f"/v1/notices/{n['id']}/ack", {"version": 1}),
        ("GET", "/v1/events", None),
        ("GET", "/v1/messages", None),
        ("POST", "/v1/messages", {"to": ["russia"], "body": "x"}),
        ("GET", "/v1/acks", None),
        ("GET", "/v1/conflicts", None),
        ("POST", "/v1/units", {"id": "coalition/rogue", "area": polygon(WEST)}),
        ("GET", "/v1/units", None),
        ("GET", f"/v1/notices/{n['id']}/units", None),
        ("GET", "/v1/ledger/entries", None),
        ("GET", "/v1/whoami", None),
    ]
    for method, path, body in party_endpoints:
        r = west.http.request(method, path, json=body)
        assert r.status_code == 403, (method, path, r.status_code)
        assert "unit" in r.json()["detail"]
    assert co.ok("GET", "/v1/units")["units"][0]["id"] == "coalition/west"  # nothing created
    # and a party's token (or the operator's) is not a unit's, on every unit endpoint
    unit_endpoints = [
        ("GET", "/v1/unit", None),
        ("GET", "/v1/unit/events", None),
        ("GET", "/v1/unit/notices", None),
        ("GET", f"/v1/unit/notices/{n['id']}", None),
        ("POST", f"/v1/unit/notices/{n['id']}/ack", {"version": 1}),
        ("POST", "/v1/unit/confirm", {"last_event_id": 1}),
    ]
    for who in (co, ru, world.admin):
        for method, path, body in unit_endpoints:
            r = who.http.request(method, path, json=body, headers={"Accept": "application/json"})
            assert r.status_code == 403, (who.name, method, path, r.status_code)
            assert "activity" not in r.text  # the notice's title
    assert west.ok("GET", f"/v1/unit/notices/{n['id']}")["delivery"]["state"] == "pending"
    # another party's unit cannot reach coalition's units either
    ru_unit = make_unit(world, ru, "spy", polygon(WEST))
    for method, path, body in unit_endpoints[3:5]:
        r = ru_unit.http.request(method, path, json=body)
        assert r.status_code in (403, 404) and "activity" not in r.text, (method, path)
    assert ru_unit.get("/v1/units/coalition/west").status_code == 403
    assert world.client("dcf_0123456789abcdef_" + "x" * 30).get("/v1/unit").status_code == 401


def test_another_party_on_every_unit_endpoint(world: World) -> None:
    co, ru, un = world.party("coalition"), world.party("russia"), world.party("un")
    west = make_unit(world, co, "west", polygon(WEST))
    n = ru.ok("POST", "/v1/notices", notice(["coalition", "un"]), 201)
    for other in (ru, un):
        for method, path, body in [
            ("GET", "/v1/units/coalition/west", None),
            ("PATCH", "/v1/units/coalition/west", {"name": "hijacked"}),
            ("DELETE", "/v1/units/coalition/west", None),
            ("GET", "/v1/units/coalition/nope", None),
        ]:
            r = other.http.request(method, path, json=body)
            assert r.status_code == 404, (other.name, method, path, r.status_code)
            assert "hijacked" not in r.text
        assert "coalition/" not in other.get("/v1/units").text
        assert "coalition/" not in other.get("/v1/unit-deliveries").text
        # un is an addressee with no units: an empty view, nothing of coalition's
        r = other.get(f"/v1/notices/{n['id']}/units")
        assert "coalition/" not in r.text
    assert ru.get(f"/v1/notices/{n['id']}/units").status_code == 403
    assert un.ok("GET", f"/v1/notices/{n['id']}/units")["units"] == []
    # another party cannot create a unit in coalition's namespace
    r = ru.post("/v1/units", {"id": "coalition/spy", "area": polygon(WEST)})
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "body.id"
    assert west.ok("GET", "/v1/unit")["name"] == "coalition/west"  # untouched


def test_bad_unit_documents_name_the_field_and_store_nothing(world: World) -> None:
    co = world.party("coalition")
    cases = [
        ({"id": "russia/cell", "area": polygon(WEST)}, "id"),
        ({"id": "cell", "area": polygon(WEST)}, "id"),
        ({"id": "coalition/Bad Name", "area": polygon(WEST)}, "id"),
        ({"id": "coalition/" + "a" * 60, "area": polygon(WEST)}, "id"),
        ({"id": "coalition/x"}, "area"),
        ({"id": "coalition/x", "area": {"geometry": {"type": "Polygon"}}}, "area.geometry"),
        (
            {
                "id": "coalition/x",
                "area": polygon([[36, 35], [37, 36], [37, 35], [36, 36], [36, 35]]),
            },
            "area.geometry",
        ),
        ({"id": "coalition/x", "area": circle(36, 35, -5)}, "area.radius_m"),
        ({"id": "coalition/x", "area": polygon(WEST), "kinds": ["strike"]}, "kinds[0]"),
        ({"id": "coalition/x", "area": polygon(WEST), "kinds": []}, "kinds"),
        (
            {"id": "coalition/x", "area": polygon(WEST), "share_with_issuers": "yes"},
            "share_with_issuers",
        ),
        ({"id": "coalition/x", "area": polygon(WEST), "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        r = co.post("/v1/units", body)
        assert r.status_code == 422, (body, r.status_code, r.text)
        paths = [e["path"] for e in r.json()["errors"]]
        assert any(p.startswith("body." + field) for p in paths), (field, paths)
    assert co.ok("GET", "/v1/units")["units"] == []
    make_unit(world, co, "x", polygon(WEST))
    assert co.post("/v1/units", {"id": "coalition/x", "area": polygon(EAST)}).status_code == 409
    r = co.http.patch("/v1/units/coalition/x", json={"area": circle(36, 35, 0)})
    assert r.status_code == 422 and r.json()["errors"][0]["path"].startswith("body.area")
    r = co.http.patch("/v1/units/coalition/x", json={"id": "coalition/y"})
    assert r.status_code == 422
    r = co.http.patch("/v1/units/coalition/x", json={})
    assert r.status_code == 422 and "nothing to change" in r.text
    assert co.ok("GET", "/v1/units/coalition/x")["area"]["geometry"]["coordinates"][0][1] == [
        36.5,
        35.0,
    ]
    assert (
        world.admin.post("/v1/units", {"id": "admin/x", "area": polygon(WEST)}).status_code == 403
    )


def test_a_disabled_unit_stops_at_once_and_survives_a_restart(world: World) -> None:
    co, ru = world.party("coalition"), world.party("russia")
    west = make_unit(world, co, "west", polygon(WEST))
    keep = make_unit(world, co, "keep", polygon(WEST))
    n = ru.ok("POST", "/v1/notices", notice(["coalition"]), 201)
    with west.http.stream("GET", "/v1/unit/events", headers={"Accept": "text/event-stream"}) as r:
        lines = r.iter_lines()
        while not next(lines).startswith("data:"):
            pass
        assert co.ok("DELETE", "/v1/units/coalition/west")["state"] == "disabled"
        assert west.get("/v1/unit").status_code == 401  # at once
        ru.ok("PUT", f"/v1/notices/{n['id']}", {**notice(["coalition"]), "version": 1})
        rest = list(lines)  # the stream ends instead of carrying on
        assert not any(line.startswith("data:") for line in rest)
    view = co.ok("GET", f"/v1/notices/{n['id']}/units")
    assert [u["unit"] for u in view["units"]] == ["coalition/keep"]
    assert co.post("/v1/units", {"id": "coalition/west", "area": polygon(WEST)}).status_code == 409
    world.restart()
    co, keep2 = world.party("coalition"), world.client(keep.token)
    assert keep2.ok("GET", "/v1/unit")["id"] == "coalition/keep"
    assert world.client(west.token).get("/v1/unit").status_code == 401
    states = {u["id"]: u["state"] for u in co.ok("GET", "/v1/units")["units"]}
    assert states == {"coalition/keep": "active", "coalition/west": "disabled"}


def test_the_unit_commands(
    world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DECONFLICT_URL", world.url)
    monkeypatch.setenv("DECONFLICT_TOKEN", world.tokens["coalition"])
    area = tmp_path / "area.json"
    area.write_text(json.dumps({"type": "Polygon", "coordinates": [WEST]}))
    assert main(["units", "create", "coalition/west", "--area", str(area), "--json"]) == 0
    token = json.loads(capsys.readouterr().out)["token"]
    assert main(["units", "create", "russia/x", "--area", str(area)]) == 1
    assert "body.id: must be in your namespace" in capsys.readouterr().err
    assert main(["units", "list"]) == 0
    assert "coalition/west" in capsys.readouterr().out
    n = world.party("russia").ok("POST", "/v1/notices", notice(["coalition"]), 201)
    assert main(["units", "status", n["id"]]) == 0
    assert "0 of 1 units have it" in capsys.readouterr().out
    assert main(["units", "pending"]) == 0
    assert "coalition/west" in capsys.readouterr().out
    # The unit's terminal: watching confirms what it prints.
    unit = ["--token", token]
    assert main(["unit", "watch", "--after", "0", "--count", "1", *unit]) == 0
    assert n["id"] in capsys.readouterr().out
    assert main(["units", "status", n["id"]]) == 0
    assert "1 of 1 units have it, 0 acknowledged" in capsys.readouterr().out
    assert main(["unit", "notices", *unit]) == 0
    assert "[delivered]" in capsys.readouterr().out
    assert main(["unit", "ack", n["id"], "--comment", "briefed", *unit]) == 0
    assert f"acknowledged {n['id']} v1" in capsys.readouterr().out
    assert main(["units", "update", "coalition/west", "--kinds", "fires"]) == 0
    assert "fires" in capsys.readouterr().out
    assert main(["units", "disable", "coalition/west"]) == 0
    assert main(["unit", "notices", *unit]) == 1
    assert "401" in capsys.readouterr().err
    assert main(["notify", str(area), *unit]) == 1  # a unit's token is no party's


def test_a_rotated_unit_token_stops_at_once_and_the_unit_keeps_its_deliveries(
    world: World,
) -> None:
    """A unit's token seen by someone it should not be: the party rotates it; the old one
    stops at once (its open stream too), the new one works, what was routed stays."""
    co, ru = world.party("coalition"), world.party("russia")
    west = make_unit(world, co, "west", polygon(WEST))
    n = ru.ok("POST", "/v1/notices", notice(["coalition"]), 201)
    assert routed_ids(west) == [n["id"]]
    with west.http.stream("GET", "/v1/unit/events", headers={"Accept": "text/event-stream"}) as r:
        lines = r.iter_lines()
        while not next(lines).startswith("data:"):
            pass
        rotated = co.ok("POST", "/v1/units/coalition/west/token")
        assert rotated["id"] == "coalition/west" and rotated["token"] != west.token
        assert west.get("/v1/unit").status_code == 401  # at once
        ru.ok("PUT", f"/v1/notices/{n['id']}", {**notice(["coalition"]), "version": 1})
        rest = list(lines)  # the stream opened with the old token ends
        assert not any(line.startswith("data:") for line in rest)
    fresh = world.client(rotated["token"], "coalition/west")
    assert fresh.ok("GET", "/v1/unit")["id"] == "coalition/west"
    assert n["id"] in routed_ids(fresh)  # its deliveries are kept
    # another party cannot rotate it (nor learn that it exists); a unit cannot rotate itself
    for other in (ru, fresh):
        r = other.post("/v1/units/coalition/west/token", None)
        assert r.status_code in (401, 403, 404), (other.name, r.status_code)
        assert rotated["token"] not in r.text
    assert ru.post("/v1/units/coalition/west/token", None).status_code == 404
    assert co.post("/v1/units/coalition/nope/token", None).status_code == 404
    co.ok("DELETE", "/v1/units/coalition/west")
    assert co.post("/v1/units/coalition/west/token", None).status_code == 409
    entries = co.ok("GET", "/v1/ledger/entries", None)["entries"]
    texts = [json.loads(e["entry"]) for e in entries if "entry" in e]
    assert [t["unit"] for t in texts if t["type"] == "unit_token_rotated"] == ["coalition/west"]
    theirs = ru.ok("GET", "/v1/ledger/entries", None)["entries"]
    assert not any("coalition/west" in json.dumps(e) for e in theirs)  # only coalition reads it
    world.restart()
    assert world.client(rotated["token"]).get("/v1/unit").status_code == 401  # disabled
    assert world.client(west.token).get("/v1/unit").status_code == 401
