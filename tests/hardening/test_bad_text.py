"""Lone surrogates and out-of-range cursors: a 422 naming the field, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.service.helpers import World, future, iso, notice

LONE = "\ud800"


def _raw(api_body: dict[str, Any]) -> bytes:
    # json.dumps escapes the lone surrogate as \ud800, which is what a hostile client sends
    return json.dumps(api_body).encode()


@pytest.mark.parametrize(
    ("who", "method", "path", "body", "field"),
    [
        ("coalition", "POST", "/v1/messages", {"to": ["russia"], "body": LONE}, "body.body"),
        ("coalition", "POST", "/v1/notices", notice(["russia"], title=LONE), "body.title"),
        ("admin", "POST", "/v1/parties", {"id": "x1", "name": LONE}, "body.name"),
        ("coalition", "POST", "/v1/check", notice(["russia"], remarks="a" + LONE), "body.remarks"),
        (
            "coalition",
            "POST",
            "/v1/tracks",
            {
                "reports": [
                    {
                        "track_id": LONE,
                        "time": "NOW",
                        "lat": 35.3,
                        "lon": 36.2,
                        "alt_m": 6000,
                        "category": "manned",
                    }
                ]
            },
            "body.reports[0].track_id",
        ),
        ("coalition", "POST", "/v1/messages", {"to": ["russia"], "body": "ok", LONE: 1}, "body"),
    ],
)
def test_lone_surrogate_is_a_422_and_the_connection_lives(
    world: World, who: str, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    api = world.admin if who == "admin" else world.party(who)
    for report in body.get("reports", []):
        report["time"] = iso(future(0))
    r = api.http.request(
        method, path, content=_raw(body), headers={"content-type": "application/json"}
    )
    assert r.status_code == 422, r.text
    problem = r.json()
    assert r.headers["content-type"] == "application/problem+json"
    assert problem["errors"][0]["path"] == field
    assert "surrogate" in problem["errors"][0]["message"]
    # the same keep-alive connection still answers
    assert api.get("/v1/whoami").status_code == 200


def test_ack_comment_with_a_lone_surrogate(world: World) -> None:
    co, ru = world.party("coalition"), world.party("russia")
    n = co.ok("POST", "/v1/notices", notice(["russia"]), 201)
    r = ru.http.post(
        f"/v1/notices/{n['id']}/ack",
        content=_raw({"version": 1, "comment": LONE}),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["path"] == "body.comment"
    assert ru.get("/v1/whoami").status_code == 200
    # a valid surrogate pair (an emoji) is text like any other
    ok = ru.ok("POST", f"/v1/notices/{n['id']}/ack", {"version": 1, "comment": "ok \U0001f44d"})
    assert ok["state"] == "acknowledged"


def test_websocket_track_id_with_a_lone_surrogate(world: World) -> None:
    from websockets.sync.client import connect

    url = world.url.replace("http", "ws") + "/v1/tracks/ws"
    with connect(url, additional_headers={"Authorization": f"Bearer {world.tokens['un']}"}) as ws:
        assert '"ready"' in str(ws.recv(timeout=10))
        ws.send('{"seq": 1, "reports": [{"track_id": "\\ud800", "time": "x"}]}')
        answer = json.loads(ws.recv(timeout=10))
        assert answer["status"] == 422, answer
        assert answer["errors"][0]["path"] == "message.reports[0].track_id"
        assert "surrogate" in answer["errors"][0]["message"]
        ws.send('{"seq": 2, "reports": []}')
        assert json.loads(ws.recv(timeout=10))["seq"] == 2  # the stream goes on


CURSOR_MAX = 2**63 - 1


@pytest.mark.parametrize("value", [str(CURSOR_MAX + 1), "9" * 40])
def test_event_cursor_beyond_int64(world: World, value: str) -> None:
    co = world.party("coalition")
    json_accept = {"Accept": "application/json"}
    r = co.get("/v1/events", params={"after": value}, headers=json_accept)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["path"] == "query.after"
    r = co.get("/v1/events", headers={**json_accept, "Last-Event-ID": value})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["path"] == "header.Last-Event-ID"
    r = co.get("/v1/events", headers={"Last-Event-ID": value})  # the SSE stream too
    assert r.status_code == 422, r.text
    # the largest cursor is a number, but past the party's last event
    r = co.get("/v1/events", params={"after": str(CURSOR_MAX)}, headers=json_accept)
    assert r.status_code == 422, r.text
    assert "past your last event" in r.text
