"""A delivery is the party's client confirming receipt, never an event written to a socket."""

from __future__ import annotations

import json
from typing import Any

import pytest

from deconflict.cli import main
from deconflict.service.acks import ACK_STATES
from tests.conftest import REPO
from tests.service.helpers import Api, World, notice


def _delivery_entries(world: World) -> list[dict[str, Any]]:
    found = world.admin.ok("GET", "/v1/ledger/entries?start=0")["entries"]
    entries = [json.loads(e["entry"]) for e in found]
    return [e for e in entries if e["type"] == "delivery"]


def _states(co: Api) -> dict[str, str]:
    return {a["notice_id"]: a["state"] for a in co.ok("GET", "/v1/acks?role=issuer")["acks"]}


def _read_sse(api: Api, count: int, headers: dict[str, str]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    with api.http.stream("GET", "/v1/events", headers=headers) as r:
        assert r.status_code == 200, r.read()
        for line in r.iter_lines():
            if line.startswith("data:"):
                events.append(json.loads(line[5:]))
                if len(events) == count:
                    break
    return events


def test_watch_count_3_delivers_only_what_it_printed(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    co, ru = world.party("coalition"), world.party("russia")
    ids = [
        co.ok("POST", "/v1/notices", notice(["russia"], lon=36 + i, title=f"n{i}"), 201)["id"]
        for i in range(5)
    ]
    token = world.tokens["russia"]
    args = ["watch", "--count", "3", "--server", world.url, "--token", token]
    assert main(args) == 0
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 3 and all(ids[i] in printed[i] for i in range(3))
    # the hub wrote all five to the socket in one page; three were printed and confirmed
    states = _states(co)
    assert [states[i] for i in ids] == ["delivered"] * 3 + ["pending"] * 2
    entries = _delivery_entries(world)
    assert [(e["notice_id"], e["via"]) for e in entries] == [(i, "confirm") for i in ids[:3]]
    delivered = [e for e in co.events() if e["type"] == "ack_delivered"]
    assert [e["data"]["notice_id"] for e in delivered] == ids[:3]

    # Reconnecting with Last-Event-ID confirms everything the client was sent before it.
    everything = _read_sse(ru, 5, {"Accept": "text/event-stream"})
    assert _states(co)[ids[4]] == "pending"  # sent again, still not confirmed
    last = everything[-1]["id"]
    resume = {"Accept": "text/event-stream", "Last-Event-ID": str(last)}
    with ru.http.stream("GET", "/v1/events", headers=resume) as r:
        assert r.status_code == 200
    assert set(_states(co).values()) == {"delivered"}
    entries = _delivery_entries(world)
    assert [(e["notice_id"], e["via"]) for e in entries[3:]] == [(i, "cursor") for i in ids[3:]]
    assert len(entries) == 5  # each delivery logged once


def test_a_confirmation_covers_only_events_sent_to_the_party(world: World) -> None:
    co, ru = world.party("coalition"), world.party("russia")
    a = co.ok("POST", "/v1/notices", notice(["russia"]), 201)
    r = ru.post("/v1/events/confirm", {"up_to": 1})  # the event exists, was never sent
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert error["path"] == "body.up_to"
    assert "past the last event sent to you (0)" in error["message"]
    assert _states(co)[a["id"]] == "pending"
    first = ru.events()
    b = co.ok("POST", "/v1/notices", notice(["russia"], lon=37), 201)  # not sent yet
    r = ru.post("/v1/events/confirm", {"up_to": first[-1]["id"] + 1})
    assert r.status_code == 422 and f"({first[-1]['id']})" in r.text
    assert _states(co) == {a["id"]: "pending", b["id"]: "pending"}
    done = ru.ok("POST", "/v1/events/confirm", {"up_to": first[-1]["id"]})
    assert done == {"confirmed_up_to": first[-1]["id"], "notice_versions": 1, "messages": 0}
    again = ru.ok("POST", "/v1/events/confirm", {"up_to": first[-1]["id"]})
    assert again["notice_versions"] == 0  # confirming twice records nothing more
    assert _states(co) == {a["id"]: "delivered", b["id"]: "pending"}
    # the poll's cursor confirms too, but never past what was sent: `b` stays pending
    ru.events(first[-1]["id"])
    assert _states(co)[b["id"]] == "pending"
    for body, path in (
        ({}, "body.up_to"),
        ({"up_to": "7"}, "body.up_to"),
        ({"up_to": -1}, "body.up_to"),
        ({"up_to": 1, "upto": 2}, "body.upto"),
    ):
        r = ru.post("/v1/events/confirm", body)
        assert r.status_code == 422, (body, r.text)
        assert path in {e["path"] for e in r.json()["errors"]}, (body, r.text)
    # another party confirming does nothing to russia's deliveries
    un = world.party("un")
    assert un.post("/v1/events/confirm", {"up_to": first[-1]["id"]}).status_code == 422


def test_the_readme_says_what_each_state_means(world: World) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Delivered and acknowledged: what each state means") :]
    section = section[: section.index("\n## ")]
    table = [line for line in section.splitlines() if line.startswith("| `")]
    assert [line.split("`")[1] for line in table] == list(ACK_STATES)
    # every state the hub answers is one of them, and each `via` it logs is explained
    co, ru = world.party("coalition"), world.party("russia")
    a = co.ok("POST", "/v1/notices", notice(["russia"]), 201)
    b = co.ok("POST", "/v1/notices", notice(["russia"], lon=37), 201)
    c = co.ok("POST", "/v1/notices", notice(["russia"], lon=38), 201)
    events = ru.events()
    ru.ok("POST", "/v1/events/confirm", {"up_to": events[0]["id"]})
    ru.events(events[1]["id"])  # the cursor confirms the second
    ru.ok("POST", f"/v1/notices/{c['id']}/ack", {"version": 1})
    states = _states(co)
    assert [states[n["id"]] for n in (a, b, c)] == ["delivered", "delivered", "acknowledged"]
    vias = [e["via"] for e in _delivery_entries(world)]
    assert vias == ["confirm", "cursor", "ack"]
    for via in vias:
        assert f"`{via}`" in section
