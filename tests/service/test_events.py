"""The per-party event stream over real SSE: ordering, resume, heartbeats, deliveries."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.service.helpers import World, notice


def _read_sse(
    client: httpx.Client, count: int, headers: dict[str, str], params: dict[str, Any] | None = None
) -> tuple[list[dict[str, Any]], int]:
    events: list[dict[str, Any]] = []
    heartbeats = 0
    with client.stream("GET", "/v1/events", headers=headers, params=params) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        data: list[str] = []
        for line in r.iter_lines():
            if line.startswith(": heartbeat"):
                heartbeats += 1
            elif line.startswith("data:"):
                data.append(line[5:].strip())
            elif line == "" and data:
                events.append(json.loads("".join(data)))
                data = []
                if len(events) >= count:
                    break
    return events, heartbeats


def test_sse_resume_with_last_event_id(world: World) -> None:
    co, ru = world.party("coalition"), world.party("russia")
    ids = [
        co.ok("POST", "/v1/notices", notice(["russia"], lon=36 + i), 201)["id"] for i in range(4)
    ]
    first, _ = _read_sse(ru.http, 2, {"Accept": "text/event-stream"})
    assert [e["data"]["id"] for e in first] == ids[:2]
    last = first[-1]["id"]
    rest, _ = _read_sse(ru.http, 2, {"Accept": "text/event-stream", "Last-Event-ID": str(last)})
    assert [e["data"]["id"] for e in rest] == ids[2:]
    assert all(e["id"] > last for e in rest)
    fallback, _ = _read_sse(ru.http, 1, {"Accept": "text/event-stream"}, {"after": last})
    assert fallback[0]["data"]["id"] == ids[2]
    bad = ru.get("/v1/events", headers={"Last-Event-ID": "yesterday"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["path"] == "header.Last-Event-ID"
    # Being written to the socket delivered nothing: the resumptions with Last-Event-ID and
    # ?after= (both after the second event) confirmed the first two only.
    acks = co.ok("GET", "/v1/acks?role=issuer")["acks"]
    delivered = {a["notice_id"] for a in acks if a["state"] == "delivered"}
    assert delivered == set(ids[:2])
    ru.ok("POST", "/v1/events/confirm", {"up_to": rest[-1]["id"]})
    acks = co.ok("GET", "/v1/acks?role=issuer")["acks"]
    assert {a["state"] for a in acks} == {"delivered"}


def test_live_event_arrives_and_heartbeats_flow(world: World) -> None:
    import threading

    co, ru = world.party("coalition"), world.party("russia")
    got: list[tuple[list[dict[str, Any]], int]] = []

    def listen() -> None:
        got.append(_read_sse(ru.http, 1, {"Accept": "text/event-stream"}))

    t = threading.Thread(target=listen)
    t.start()
    import time

    time.sleep(1.2)  # long enough for a heartbeat (0.5 s in tests)
    n = co.ok("POST", "/v1/notices", notice(["russia"]), 201)
    t.join(timeout=20)
    events, heartbeats = got[0]
    assert events[0]["type"] == "notice_received"
    assert events[0]["data"]["id"] == n["id"]
    assert heartbeats >= 1


def test_hotline_receipts(world: World) -> None:
    co, ru, un = world.party("coalition"), world.party("russia"), world.party("un")
    n = co.ok("POST", "/v1/notices", notice(["russia"]), 201)
    m = co.ok(
        "POST",
        "/v1/messages",
        {
            "to": ["russia", "un"],
            "body": "call us",
            "priority": "flash",
            "ref": {"type": "notice", "id": n["id"]},
        },
        201,
    )
    assert {r["party"] for r in m["receipts"]} == {"russia", "un"}
    assert all(r["delivered_at"] is None for r in m["receipts"])
    inbox = ru.ok("GET", "/v1/messages?box=in")["messages"]
    assert inbox[0]["body"] == "call us"
    assert inbox[0]["delivered_at"] is None  # listed is not delivered
    (event,) = [e for e in ru.events() if e["type"] == "message_received"]
    ru.ok("POST", "/v1/events/confirm", {"up_to": event["id"]})  # the client confirms it
    inbox = ru.ok("GET", "/v1/messages?box=in")["messages"]
    assert inbox[0]["delivered_at"] is not None
    ru.ok("POST", f"/v1/messages/{m['id']}/read")
    out = co.ok("GET", f"/v1/messages/{m['id']}")
    receipts = {r["party"]: r for r in out["receipts"]}
    assert receipts["russia"]["read_at"] is not None
    assert receipts["un"]["delivered_at"] is None
    types = [e["type"] for e in co.events()]
    assert "message_delivered" in types
    assert "message_read" in types
    # references must point at something the sender can see
    bad = un.post(
        "/v1/messages", {"to": ["russia"], "body": "x", "ref": {"type": "notice", "id": n["id"]}}
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["path"] == "body.ref.id"
    bad = un.post("/v1/messages", {"to": ["nobody"], "body": "", "priority": "whenever"})
    assert {e["path"] for e in bad.json()["errors"]} == {"body.to[0]", "body.body", "body.priority"}
