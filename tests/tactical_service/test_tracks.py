"""Track ingestion through HTTP and WebSocket: per-report validation, ordering, staleness."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.service.helpers import ADMIN_TOKEN, World
from tests.tactical_service.conftest import tactical_world
from tests.tactical_service.helpers import report, send, wait_event, wait_for


def _post_raw(api: Any, reports: list[Any]) -> dict[str, Any]:
    # json.dumps writes NaN as the (non-standard) token NaN, as a sloppy client would.
    r = api.post(
        "/v1/tracks",
        content=json.dumps({"reports": reports}),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_bad_reports_are_rejected_one_by_one_and_good_ones_kept(tworld: World) -> None:
    co = tworld.party("coalition")
    good = report("GOOD", 35.0, 36.0)
    bad: list[tuple[dict[str, Any], str]] = [
        ({**good, "track_id": "NAN", "lat": math.nan}, "lat"),
        ({**good, "track_id": "INF", "alt_m": math.inf}, "alt_m"),
        ({**good, "track_id": "POLE", "lat": 95.0}, "lat"),
        ({**good, "track_id": "LON", "lon": 200.0}, "lon"),
        ({**good, "track_id": "SPACE", "alt_m": 1e6}, "alt_m"),
        ({**good, "track_id": "FAST", "gs_mps": 5000}, "gs_mps"),
        ({**good, "track_id": "CLIMB", "vs_mps": -900}, "vs_mps"),
        ({**good, "track_id": "FUT", "time": "2099-01-01T00:00:00Z"}, "time"),
        ({**good, "track_id": "OLD", "time": "2001-01-01T00:00:00Z"}, "time"),
        ({**good, "track_id": "NOZONE", "time": "2030-01-01T00:00:00"}, "time"),
        ({**good, "track_id": "THEIRS", "party": "russia"}, "party"),
        ({**good, "track_id": "bad id with spaces"}, "track_id"),
        ({**good, "track_id": "STR", "lat": "35.0"}, "lat"),
        ({**good, "track_id": "CAT", "category": "balloon"}, "category"),
        ({**good, "track_id": "EXTRA", "colour": "red"}, "colour"),
        # valid JSON with no float in it: once a 500 (float() overflowed)
        ({**good, "track_id": "HUGE", "lon": 10**400}, "lon"),
        ({**good, "track_id": "TRUE", "alt_m": True}, "alt_m"),
    ]
    body = _post_raw(co, [good, *[b for b, _ in bad], 42])
    assert body["accepted"] == [{"index": 0, "track_id": "GOOD", "status": "applied"}]
    by_index: dict[int, list[dict[str, Any]]] = {}
    for r in body["rejected"]:
        by_index.setdefault(r["index"], []).append(r)
    assert sorted(by_index) == list(range(1, len(bad) + 2))
    for k, (_, field) in enumerate(bad, start=1):
        paths = [r["path"] for r in by_index[k]]
        assert f"body.reports[{k}].{field}" in paths, (field, by_index[k])
        assert all(r["reason"] for r in by_index[k])
    assert by_index[len(bad) + 1][0]["path"] == f"body.reports[{len(bad) + 1}]"
    assert body["rejected_count"] == len(bad) + 1
    mine = co.ok("GET", "/v1/tracks")["tracks"]
    assert [t["track_id"] for t in mine] == ["GOOD"]
    # A jump no aircraft can make is refused; the track keeps its last good state.
    teleport = send(co, report("GOOD", 40.0, 36.0, dt_s=1))
    assert teleport["accepted"] == [] and "m/s" in teleport["rejected"][0]["reason"]


def test_oversized_batch_keeps_the_first_reports(tmp_path: Path) -> None:
    w = tactical_world(tmp_path, max_batch=5)
    try:
        co = w.party("coalition")
        body = send(co, *[report(f"T{k}", 35.0, 36.0 + k * 0.1) for k in range(8)])
        assert [a["index"] for a in body["accepted"]] == [0, 1, 2, 3, 4]
        assert [r["index"] for r in body["rejected"]] == [5, 6, 7]
        assert "batch exceeds 5" in body["rejected"][0]["reason"]
    finally:
        w.stop()


def test_malformed_bodies_are_problems_not_errors(tworld: World) -> None:
    co = tworld.party("coalition")
    bodies: list[Any] = [{"reports": 3}, {"tracks": []}, "text", 5]
    for body in bodies:
        r = co.post("/v1/tracks", body)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    r = co.post("/v1/tracks", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422


def test_out_of_order_duplicates_and_estimated_velocity(tworld: World) -> None:
    co = tworld.party("coalition")
    first = report("E1", 35.0, 36.0, gs=None, trk=None, vs=None, dt_s=-2)
    second = report("E1", 35.0, 36.0 + 200 / 91_100, 6010, gs=None, trk=None, vs=None, dt_s=-1)
    # Sent newest first in one batch: applied oldest first, both kept.
    body = send(co, second, first)
    assert [a["status"] for a in body["accepted"]] == ["applied", "applied"]
    track = co.ok("GET", "/v1/tracks")["tracks"][0]
    assert track["velocity"] == "estimated"
    assert track["gs_mps"] == pytest.approx(200, rel=0.02)
    assert track["trk_deg"] == pytest.approx(90, abs=1)
    assert track["vs_mps"] == pytest.approx(10, abs=0.5)
    again = send(co, second, first)
    assert [a["status"] for a in again["accepted"]] == ["duplicate", "out_of_order"]
    clash = send(co, {**second, "lat": 35.001})
    assert clash["rejected"][0]["path"] == "body.reports[0].time"


def test_stale_tracks_are_dropped(tmp_path: Path) -> None:
    w = tactical_world(tmp_path, limits={"stale_after_s": 0.5})
    try:
        co = w.party("coalition")
        send(co, report("S1", 35.0, 36.0))
        assert len(co.ok("GET", "/v1/tracks")["tracks"]) == 1
        wait_for(lambda: co.ok("GET", "/v1/tracks")["tracks"] == [], 5, "stale track dropped")
    finally:
        w.stop()


def test_other_parties_and_the_operator_get_nothing(tworld: World) -> None:
    co, ru, un = tworld.party("coalition"), tworld.party("russia"), tworld.party("un")
    send(co, report("VIPER11", 35.0, 36.0, gs=200, trk=90))
    send(ru, report("FALCON1", 35.0, 36.5, gs=200, trk=270))
    alert_id = wait_event(co, "alert_raised")["data"]["id"]
    # A third party: 404 on the alert and its ack, nothing listed, no tracks, no events.
    for method, path in (("GET", f"/v1/alerts/{alert_id}"), ("POST", f"/v1/alerts/{alert_id}/ack")):
        r = un.http.request(method, path, json={})
        assert r.status_code == 404, r.text
        assert alert_id in r.json()["detail"] and "VIPER11" not in r.text
    assert un.ok("GET", "/v1/alerts")["alerts"] == []
    assert un.ok("GET", "/v1/tracks")["tracks"] == []
    assert [e for e in un.events() if e["type"].startswith("alert_")] == []
    # Nobody learns whether an unknown id exists.
    assert co.get("/v1/alerts/a-0000000000000000").status_code == 404
    # Without a token: 401 everywhere.
    anon = tworld.client(None)
    for method, path in (
        ("GET", "/v1/alerts"),
        ("GET", f"/v1/alerts/{alert_id}"),
        ("POST", f"/v1/alerts/{alert_id}/ack"),
        ("POST", "/v1/tracks"),
        ("GET", "/v1/tracks"),
    ):
        assert anon.http.request(method, path, json={}).status_code == 401
    # The operator sees every alert (both sides) but reports and acknowledges nothing.
    admin = tworld.admin
    assert admin.ok("GET", f"/v1/alerts/{alert_id}")["detail"]["a"]["party"] == "coalition"
    assert admin.post(f"/v1/alerts/{alert_id}/ack", {}).status_code == 403
    assert admin.post("/v1/tracks", {"reports": []}).status_code == 403
    # Bad queries and bodies are 422, never 5xx.
    assert co.get("/v1/alerts", params={"state": "bogus"}).status_code == 422
    assert co.get("/v1/alerts", params={"kind": "bogus"}).status_code == 422
    assert co.post(f"/v1/alerts/{alert_id}/ack", {"comment": 5}).status_code == 422
    assert co.post(f"/v1/alerts/{alert_id}/ack", [1]).status_code == 422


def _ws_url(world: World) -> str:
    return world.url.replace("http://", "ws://") + "/v1/tracks/ws"


def test_websocket_stream_with_acks_and_rejections(tworld: World) -> None:
    token = tworld.tokens["coalition"]
    with connect(_ws_url(tworld), additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        assert json.loads(ws.recv(timeout=5)) == {"type": "ready", "party": "coalition"}
        ws.send(json.dumps({"seq": 1, "reports": [report("W1", 35.0, 36.0), {"lat": 1}]}))
        answer = json.loads(ws.recv(timeout=5))
        assert answer["type"] == "result" and answer["seq"] == 1
        assert [a["track_id"] for a in answer["accepted"]] == ["W1"]
        assert {r["index"] for r in answer["rejected"]} == {1}
        ws.send(json.dumps(report("W2", 35.0, 36.1)))  # a bare report
        assert json.loads(ws.recv(timeout=5))["accepted"][0]["track_id"] == "W2"
        ws.send("{nope")
        assert json.loads(ws.recv(timeout=5))["type"] == "error"
    # The token in the first message instead of a header.
    with connect(_ws_url(tworld)) as ws:
        ws.send(json.dumps({"token": tworld.tokens["russia"]}))
        assert json.loads(ws.recv(timeout=5))["party"] == "russia"
        ws.send(json.dumps([report("R1", 35.0, 36.5, gs=200, trk=270)]))
        assert json.loads(ws.recv(timeout=5))["accepted"][0]["status"] == "applied"
    names = {t["track_id"] for t in tworld.party("coalition").ok("GET", "/v1/tracks")["tracks"]}
    assert names == {"W1", "W2"}
    # A bad token, or the operator's, is refused and the socket closed.
    for first in ({"token": "dcf_nope"}, {"token": ADMIN_TOKEN}, {"hello": 1}):
        with connect(_ws_url(tworld)) as ws:
            ws.send(json.dumps(first))
            assert json.loads(ws.recv(timeout=5))["type"] == "error"
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=5)
    time.sleep(0.1)
