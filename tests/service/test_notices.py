"""Notices, acknowledgements, conflicts and their disclosure, over HTTP."""

from __future__ import annotations

import threading
from typing import Any

from tests.service.helpers import World, future, iso, notice, volume


def test_notify_ack_amend_cancel(world: World) -> None:
    co, ru = world.party("coalition"), world.party("russia")
    n = co.ok("POST", "/v1/notices", notice(["russia"], title="strike"), 201)
    assert (n["version"], n["issuer"], n["state"]) == (1, "coalition", "active")
    assert n["acks"][0]["state"] == "pending"
    assert n["conflicts"] == []
    seen = ru.ok("GET", f"/v1/notices/{n['id']}")
    assert seen["volumes"][0]["time_start"].endswith("Z")
    reads = co.ok("GET", f"/v1/notices/{n['id']}/reads")["reads"]
    assert [(r["party"], r["version"]) for r in reads] == [("russia", 1)]
    # fetched is not delivered: the addressee's client confirms the event that carried it
    assert co.ok("GET", f"/v1/notices/{n['id']}")["acks"][0]["state"] == "pending"
    ru.ok("POST", "/v1/events/confirm", {"up_to": ru.events()[-1]["id"]})
    assert co.ok("GET", f"/v1/notices/{n['id']}")["acks"][0]["state"] == "delivered"
    # the issuer cannot acknowledge its own notice; the addressee can
    assert co.post(f"/v1/notices/{n['id']}/ack", {"version": 1}).status_code == 403
    ack = ru.ok("POST", f"/v1/notices/{n['id']}/ack", {"version": 1, "comment": "roger"})
    assert ack["state"] == "acknowledged"
    amended = co.ok("PUT", f"/v1/notices/{n['id']}", {**notice(["russia"]), "version": 1})
    assert amended["version"] == 2
    assert amended["acks"][0]["state"] == "pending"  # a new version needs a new ack
    stale = ru.post(f"/v1/notices/{n['id']}/ack", {"version": 1})
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    ru.ok("POST", f"/v1/notices/{n['id']}/ack", {"version": 2})
    issued = co.ok("GET", "/v1/acks?role=issuer")["acks"]
    assert [(a["version"], a["state"]) for a in issued] == [(2, "acknowledged")]
    cancelled = co.ok("DELETE", f"/v1/notices/{n['id']}")
    assert cancelled["state"] == "cancelled"
    assert co.delete(f"/v1/notices/{n['id']}").status_code == 409
    types = [e["type"] for e in ru.events()]
    assert types[0] == "notice_received"
    assert "notice_updated" in types
    assert types[-1] == "notice_cancelled"
    co_types = [e["type"] for e in co.events()]
    assert co_types.count("ack_received") == 2
    assert "ack_delivered" in co_types


def test_concurrent_amendments_one_wins(world: World) -> None:
    co = world.party("coalition")
    n = co.ok("POST", "/v1/notices", notice(["russia"]), 201)
    results: list[int] = []
    barrier = threading.Barrier(6)

    def amend(i: int) -> None:
        api = world.party("coalition")
        barrier.wait()
        r = api.put(f"/v1/notices/{n['id']}", {**notice(["russia"], title=f"v{i}"), "version": 1})
        results.append(r.status_code)
        if r.status_code == 409:
            assert r.json()["current_version"] == 2

    threads = [threading.Thread(target=amend, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 409, 409, 409, 409, 409]
    assert co.ok("GET", f"/v1/notices/{n['id']}")["version"] == 2


def test_conflicts_lifecycle_and_disclosure(world: World) -> None:
    co, ru, un = world.party("coalition"), world.party("russia"), world.party("un")
    # coalition addresses russia; russia's notice is addressed to the UN only
    a = co.ok("POST", "/v1/notices", notice(["russia"], title="secret strike plan"), 201)
    b = ru.ok(
        "POST", "/v1/notices", notice(["un"], lon=36.2, title="secret patrol", kind="fires"), 201
    )
    assert len(b["conflicts"]) == 1
    c_ru = b["conflicts"][0]
    assert c_ru["other"] == {
        "issuer": "coalition",
        "kind": "air_activity",
        "notice": a["id"],
        "version": 1,
        "addressed_to_you": True,
        "disclosure": "exact",
    }
    c_co = co.ok("GET", f"/v1/conflicts/{c_ru['id']}")
    # coalition was not addressed by russia: overlap, issuer and kind only
    assert c_co["other"] == {
        "issuer": "russia",
        "kind": "fires",
        "notice": None,
        "version": None,
        "addressed_to_you": False,
        "disclosure": "coarse",
    }
    assert b["id"] not in str(c_co)
    assert "secret patrol" not in str(c_co)
    assert "other_volume" not in c_co["overlaps"][0]
    assert c_co["overlaps"][0]["altitude_band"] is not None
    assert co.get(f"/v1/notices/{b['id']}").status_code == 404
    # the UN is party to neither notice's conflict
    assert un.get(f"/v1/conflicts/{c_ru['id']}").status_code == 404
    assert un.ok("GET", "/v1/conflicts")["conflicts"] == []
    co_events = co.events()
    opened = [e for e in co_events if e["type"] == "conflict_opened"]
    assert len(opened) == 1
    assert b["id"] not in str(co_events)
    # amend russia's notice away: the conflict is resolved for both
    ru.ok("PUT", f"/v1/notices/{b['id']}", {**notice(["un"], lon=40.0, kind="fires"), "version": 1})
    assert co.ok("GET", f"/v1/conflicts/{c_ru['id']}")["state"] == "resolved"
    assert [e["type"] for e in co.events()][-1] == "conflict_resolved"
    assert co.ok("GET", "/v1/conflicts?state=open")["conflicts"] == []
    assert len(co.ok("GET", "/v1/conflicts?state=resolved")["conflicts"]) == 1


def test_dry_run_check_stores_nothing(world: World) -> None:
    co, ru = world.party("coalition"), world.party("russia")
    co.ok("POST", "/v1/notices", notice(["un"]), 201)
    before = len(co.events())
    result = ru.ok("POST", "/v1/check", notice(["coalition"], lon=36.2))
    assert len(result["conflicts"]) == 1
    assert result["conflicts"][0]["other"]["notice"] is None  # russia is not an addressee
    assert ru.ok("GET", "/v1/notices")["notices"] == []
    assert ru.ok("GET", "/v1/conflicts")["conflicts"] == []
    # no notice, no conflict: the issuer is told only that it was probed (issue 11)
    assert [e["type"] for e in co.events()[before:]] == ["notice_probed"]


def _bad(world: World, doc: Any) -> set[str]:
    co = world.party("coalition")
    r = co.post("/v1/notices", doc)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    return {e["path"] for e in r.json()["errors"]}


def test_bad_input_names_each_field_and_stores_nothing(world: World) -> None:
    good = notice(["russia"])
    cases: list[tuple[dict[str, Any], str]] = [
        ({**good, "kind": "bombing"}, "body.kind"),
        ({**good, "addressees": ["nobody"]}, "body.addressees[0]"),
        ({**good, "addressees": ["coalition"]}, "body.addressees[0]"),
        ({**good, "addressees": []}, "body.addressees"),
        ({**good, "volumes": []}, "body.volumes"),
        ({**good, "title": 5}, "body.title"),
        ({**good, "surprise": 1}, "body.surprise"),
        ({**good, "ack_deadline": "2030-01-01T00:00:00"}, "body.ack_deadline"),
        ({**good, "version": 3}, "body.version"),
    ]
    v = volume()
    broken = {**v, "time_end": v["time_start"], "time_start": v["time_end"]}
    cases.append(({**good, "volumes": [broken]}, "body.volumes[0].time_end"))
    ring = [[36.1, 35.2], [36.4, 35.2], [36.4, 95.0], [36.1, 35.2]]
    cases.append(
        (
            {**good, "volumes": [{**v, "geometry": {"type": "Polygon", "coordinates": [ring]}}]},
            "body.volumes[0].geometry.coordinates[0][2]",
        )
    )
    past = volume(start_h=-5, hours=1)
    cases.append(({**good, "volumes": [past]}, "body.volumes"))
    for doc, path in cases:
        paths = _bad(world, doc)
        assert any(p.startswith(path) for p in paths), (path, paths)
    multi = _bad(world, {**good, "kind": "x", "title": None, "addressees": ["nobody"]})
    assert {"body.kind", "body.title", "body.addressees[0]"} <= multi
    co = world.party("coalition")
    assert co.ok("GET", "/v1/notices")["notices"] == []
    assert world.party("russia").events() == []
    # amendment preconditions and acknowledgement bodies
    n = co.ok("POST", "/v1/notices", good, 201)
    r = co.put(f"/v1/notices/{n['id']}", good)
    assert r.status_code == 422
    assert r.json()["errors"][0]["path"] == "body.version"
    r = world.party("russia").post(f"/v1/notices/{n['id']}/ack", {"version": "one"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["path"] == "body.version"


def test_ack_deadline_is_escalated_to_both(world: World) -> None:
    import time

    co, ru = world.party("coalition"), world.party("russia")
    n = co.ok("POST", "/v1/notices", notice(["russia"], ack_deadline=iso(future(-0.01))), 201)
    for _ in range(50):
        if any(e["type"] == "ack_overdue" for e in ru.events()):
            break
        time.sleep(0.1)
    for api in (co, ru):
        overdue = [e for e in api.events() if e["type"] == "ack_overdue"]
        assert len(overdue) == 1
        assert overdue[0]["data"]["notice_id"] == n["id"]
    assert co.ok("GET", "/v1/acks?role=issuer")["acks"][0]["overdue"] is True


def test_a_party_registered_later_gets_the_notices_addressed_to_every_party(world: World) -> None:
    co, ru = world.party("coalition"), world.party("russia")
    deadline = iso(future(2))
    n = co.ok("POST", "/v1/notices", notice(["*"], ack_deadline=deadline), 201)
    to_russia = co.ok("POST", "/v1/notices", notice(["russia"], lon=40.0), 201)
    gone = co.ok("POST", "/v1/notices", notice(["*"], lon=42.0), 201)
    co.ok("DELETE", f"/v1/notices/{gone['id']}")
    token = world.admin.ok("POST", "/v1/parties", {"id": "icrc", "name": "ICRC"}, 201)["token"]
    icrc = world.client(token, "icrc")
    # at registration, in the same transaction: a pending ack and a notice_received event
    owed = icrc.ok("GET", "/v1/acks")["acks"]
    assert [(a["notice_id"], a["version"], a["state"], a["deadline"]) for a in owed] == [
        (n["id"], 1, "pending", n["ack_deadline"])
    ]
    events = icrc.events()
    assert [(e["type"], e["data"]["id"]) for e in events] == [("notice_received", n["id"])]
    issued = co.ok("GET", "/v1/acks?role=issuer")["acks"]
    assert {(a["notice_id"], a["addressee"]) for a in issued} >= {(n["id"], "icrc")}
    # it is an addressee like the others: listed, delivered, acknowledged, told of changes
    assert [x["id"] for x in icrc.ok("GET", "/v1/notices")["notices"]] == sorted(
        [n["id"], gone["id"]]
    )
    assert icrc.get(f"/v1/notices/{to_russia['id']}").status_code == 404
    icrc.ok("POST", f"/v1/notices/{n['id']}/ack", {"version": 1, "comment": "noted"})
    assert any(
        e["type"] == "ack_received" and e["data"]["addressee"] == "icrc" for e in co.events()
    )
    co.ok("PUT", f"/v1/notices/{n['id']}", {**notice(["*"]), "version": 1})
    assert icrc.events()[-1]["type"] == "notice_updated"
    # nothing to acknowledge for a notice cancelled before it joined
    assert icrc.post(f"/v1/notices/{gone['id']}/ack", {"version": 2}).status_code == 409
    assert ru.ok("GET", "/v1/acks")["acks"][0]["notice_id"] in {n["id"], to_russia["id"]}


def test_cancellation_is_a_version_the_addressees_acknowledge(world: World) -> None:
    co, ru, un = world.party("coalition"), world.party("russia"), world.party("un")
    deadline = iso(future(2))
    n = co.ok("POST", "/v1/notices", notice(["russia", "un"], ack_deadline=deadline), 201)
    b = ru.ok("POST", "/v1/notices", notice(["coalition"], lon=36.2), 201)
    assert len(b["conflicts"]) == 1
    ru.ok("POST", f"/v1/notices/{n['id']}/ack", {"version": 1})
    assert co.delete(f"/v1/notices/{n['id']}?version=2").status_code == 409  # not current
    cancelled = co.ok("DELETE", f"/v1/notices/{n['id']}?version=1")
    assert (cancelled["version"], cancelled["state"]) == (2, "cancelled")
    assert cancelled["volumes"] == n["volumes"]  # the cancelled content, unchanged
    assert [
        (a["addressee"], a["version"], a["state"], a["deadline"]) for a in cancelled["acks"]
    ] == [
        ("russia", 2, "pending", n["ack_deadline"]),
        ("un", 2, "pending", n["ack_deadline"]),
    ]
    for api in (ru, un):
        (last,) = [e for e in api.events() if e["type"] == "notice_cancelled"]
        assert (last["data"]["id"], last["data"]["version"]) == (n["id"], 2)
        assert last["data"]["cancelled_version"] == 1
    # its conflicts are resolved at once, naming the cancelling version
    c = co.ok("GET", f"/v1/conflicts/{b['conflicts'][0]['id']}")
    assert (c["state"], c["resolution"], c["mine"]["version"]) == ("resolved", "cancelled", 2)
    # the addressees acknowledge the cancellation; the first acknowledgement is superseded
    stale = ru.post(f"/v1/notices/{n['id']}/ack", {"version": 1})
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    ru.ok("POST", f"/v1/notices/{n['id']}/ack", {"version": 2, "comment": "cancellation seen"})
    un.ok("POST", "/v1/events/confirm", {"up_to": un.events()[-1]["id"]})  # a delivery
    acks = {(a["addressee"], a["version"]): a for a in co.ok("GET", "/v1/acks?role=issuer")["acks"]}
    assert acks["russia", 2]["state"] == "acknowledged"
    assert acks["russia", 2]["comment"] == "cancellation seen"
    assert acks["un", 2]["state"] == "delivered"
    co_events = [e for e in co.events() if e["data"].get("notice_id") == n["id"]]
    assert ("ack_received", 2, "russia") in {
        (e["type"], e["data"]["version"], e["data"]["addressee"]) for e in co_events
    }
    # a cancelled notice stays cancelled: no amendment, no second cancellation, out of checks
    assert co.put(f"/v1/notices/{n['id']}", {**notice(["russia"]), "version": 2}).status_code == 409
    assert co.delete(f"/v1/notices/{n['id']}").status_code == 409
    assert ru.ok("POST", "/v1/check", notice(["coalition"]))["conflicts"] == []
    assert co.ok("GET", f"/v1/notices/{n['id']}")["version"] == 2
