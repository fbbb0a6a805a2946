"""List filters, cursors past the end, and acknowledging twice."""

from __future__ import annotations

import pytest

from tests.service.helpers import World, notice


@pytest.mark.parametrize(
    ("path", "known"),
    [
        ("/v1/conflicts", "open, resolved"),
        ("/v1/notices", "active, cancelled, expired"),
        ("/v1/acks", "pending, delivered, acknowledged"),
        ("/v1/alerts", "active, cleared"),
    ],
)
def test_state_all_and_unknown_states(world: World, path: str, known: str) -> None:
    co, ru = world.party("coalition"), world.party("russia")
    a = co.ok("POST", "/v1/notices", notice(["russia"]), 201)
    ru.ok("POST", "/v1/notices", notice(["coalition"]), 201)
    co.ok("DELETE", f"/v1/notices/{a['id']}")  # its conflict is resolved
    if path == "/v1/acks":
        everything = co.ok("GET", path + "?role=issuer&state=all")
        assert everything == co.ok("GET", path + "?role=issuer")
        assert everything["acks"]
    else:
        everything = co.ok("GET", path + "?state=all")
        assert everything == co.ok("GET", path)
        if path != "/v1/alerts":
            assert next(iter(everything.values()))
    r = co.get(path, params={"state": "bogus"})
    assert r.status_code == 422, r.text
    error = r.json()["errors"][0]
    assert error["path"] == "query.state"
    assert "'bogus'" in error["message"] and known in error["message"]


def test_after_past_the_last_event(world: World) -> None:
    co, ru = world.party("coalition"), world.party("russia")
    co.ok("POST", "/v1/notices", notice(["russia"]), 201)
    last = ru.events()[-1]["id"]
    json_accept = {"Accept": "application/json"}
    r = ru.get("/v1/events", params={"after": last + 42}, headers=json_accept)
    assert r.status_code == 422, r.text
    assert f"past your last event ({last})" in r.text
    assert r.json()["errors"][0]["path"] == "query.after"
    r = ru.get("/v1/events", headers={**json_accept, "Last-Event-ID": str(last + 42)})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["path"] == "header.Last-Event-ID"
    r = ru.get("/v1/events", headers={"Last-Event-ID": str(last + 1)})  # the stream too
    assert r.status_code == 422
    r = ru.get("/v1/events", params={"after": last}, headers=json_accept)
    assert r.status_code == 200
    assert r.json() == {"events": [], "last_id": last}


def test_acknowledging_again_with_a_new_comment_is_refused(world: World) -> None:
    co, ru = world.party("coalition"), world.party("russia")
    n = co.ok("POST", "/v1/notices", notice(["russia"]), 201)
    first = ru.ok("POST", f"/v1/notices/{n['id']}/ack", {"version": 1, "comment": "received"})
    again = ru.ok("POST", f"/v1/notices/{n['id']}/ack", {"version": 1, "comment": "received"})
    assert again == first  # a retry gets the acknowledgement back
    assert ru.ok("POST", f"/v1/notices/{n['id']}/ack", {"version": 1}) == first
    r = ru.post(f"/v1/notices/{n['id']}/ack", {"version": 1, "comment": "new remark"})
    assert r.status_code == 409, r.text
    assert "hotline message" in r.json()["detail"]
    assert r.json()["acknowledged_at"] == first["acknowledged_at"]
    acks = co.ok("GET", "/v1/acks?role=issuer")["acks"]
    assert [a["comment"] for a in acks] == ["received"]
