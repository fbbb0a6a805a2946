"""Relayed parties (issue 15) over the real server: the chain, its deadlines, its signatures,
and every bad input refused with the field named and nothing stored."""

from __future__ import annotations

import json
import time
from typing import Any

from deconflict.client import Client
from deconflict.ledger import statements
from deconflict.ledger.evidence import verify_bundle
from deconflict.ledger.keys import b64e, generate_key, public_raw, sign_statement
from tests.service.helpers import Api, World, future, iso, notice


def _syria(world: World) -> dict[str, Any]:
    made: dict[str, Any] = world.admin.ok(
        "POST",
        "/v1/parties",
        {"id": "syria", "name": "Syrian Arab Republic", "reachable_via": "un"},
        201,
    )
    return made


def _paths(r: Any) -> list[str]:
    return [e["path"] for e in r.json().get("errors", [])]


def _wait(fn: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = fn()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_registration_of_a_relayed_party_and_its_bad_input(world: World) -> None:
    admin = world.admin
    made = _syria(world)
    assert made["reachable_via"] == "un" and "token" not in made  # it never connects
    listed = {p["id"]: p for p in admin.ok("GET", "/v1/parties")["parties"]}
    assert listed["syria"]["reachable_via"] == "un"
    before = len(listed)
    bad = [
        ({"id": "x1", "name": "X", "reachable_via": "nobody"}, "not a registered party"),
        ({"id": "x2", "name": "X", "reachable_via": "x2"}, "its own relay"),
        ({"id": "x3", "name": "X", "reachable_via": "syria"}, "chains of relays are refused"),
        ({"id": "x4", "name": "X", "reachable_via": 7}, "registered party"),
    ]
    for body, why in bad:
        r = admin.post("/v1/parties", body)
        assert r.status_code == 422, r.text
        assert any(p.endswith("reachable_via") for p in _paths(r)), r.text
        assert why in r.text
    assert len(admin.ok("GET", "/v1/parties")["parties"]) == before  # nothing stored
    # only the operator registers, relayed or not
    r = world.party("coalition").post(
        "/v1/parties", {"id": "x5", "name": "X", "reachable_via": "un"}
    )
    assert r.status_code == 403


def test_the_2015_back_channel_chain_signed_by_the_relay(world: World) -> None:
    _syria(world)
    co, un, ru = world.party("coalition"), world.party("un"), world.party("russia")
    key = generate_key()
    un.ok("PUT", "/v1/parties/un/key", {"public_key": b64e(public_raw(key))})
    doc = notice(["syria"], title="Strike package SYR-0930", remarks="stay clear")

    # told before sending (dry run) and on sending
    checked = co.ok("POST", "/v1/check", doc)
    assert (
        checked["relayed"][0]["relay"] == "un" and "see it in full" in checked["relayed"][0]["note"]
    )
    assert un.events() == []  # a dry run tells nobody
    made = co.ok("POST", "/v1/notices", doc, 201)
    nid = made["id"]
    assert made["relayed"] == checked["relayed"]
    assert [a["addressee"] for a in made["acks"]] == ["syria"]  # the relay owes no ack itself

    # the relay was delivered it in full, and told what it owes
    owed = un.ok("GET", "/v1/relay/owed")["owed"]
    assert [(o["notice_id"], o["recipient"], o["owes"]) for o in owed] == [
        (nid, "syria", "receive")
    ]
    # a step before the relay received the version: refused, nothing stored
    early = {"version": 1, "step": "forwarded", "means": "phone", "to": "Syrian mission"}
    r = un.post(f"/v1/notices/{nid}/relay", early)
    assert r.status_code == 409 and "never received" in r.text and r.json()["field"] == "version"
    events = un.receive()
    types = [e["type"] for e in events]
    assert "notice_received" in types and "relay_owed" in types
    got = next(e for e in events if e["type"] == "notice_received")["data"]
    assert got["title"] == "Strike package SYR-0930" and got["volumes"]
    assert un.ok("GET", f"/v1/notices/{nid}")["title"] == "Strike package SYR-0930"
    # handed over: delivered to the relay, and the relayed party's ack is delivered (via relay)
    ack = _wait(
        lambda: [
            a for a in co.ok("GET", "/v1/acks?role=issuer")["acks"] if a["state"] == "delivered"
        ]
    )
    assert ack[0]["addressee"] == "syria"

    # the relay cannot acknowledge as if it were the addressee
    r = un.post(f"/v1/notices/{nid}/ack", {"version": 1})
    assert r.status_code == 403 and "relay" in r.text

    # unsigned steps are refused once the relay registered a key
    r = un.post(f"/v1/notices/{nid}/relay", early)
    assert r.status_code == 422 and "body.signature" in _paths(r)

    def signed(step: dict[str, Any]) -> dict[str, Any]:
        fields = {
            k: step.get(k) for k in ("at", "by", "comment", "means", "recipient", "step", "to")
        }
        st = statements.relay_step_statement("un", nid, 1, "syria", fields)
        return {**step, "signature": sign_statement(key, st)}

    fwd = un.ok("POST", f"/v1/notices/{nid}/relay", signed(early))
    assert fwd["forwarded_at"] and fwd["recorded"]["signed_by_key"]
    answered = un.ok(
        "POST",
        f"/v1/notices/{nid}/relay",
        signed(
            {
                "version": 1,
                "step": "acknowledged",
                "means": "phone",
                "by": "Deputy Permanent Representative",
            }
        ),
    )
    assert answered["answer"] == "acknowledged"
    # the issuer's proof of receipt: acknowledged, via the relay
    acks = co.ok("GET", "/v1/acks?role=issuer")["acks"]
    assert acks[0]["state"] == "acknowledged"
    assert (
        "Deputy Permanent Representative" in acks[0]["comment"] and "relay un" in acks[0]["comment"]
    )
    # the chain, to the issuer: received -> forwarded -> acknowledged
    chain = co.ok("GET", f"/v1/notices/{nid}/relay")
    steps = [s["step"] for s in chain["legs"][0]["steps"]]
    assert steps == ["received", "forwarded", "acknowledged"]
    assert all(s["ledger_index"] >= 0 for s in chain["legs"][0]["steps"])
    # an answer is final
    r = un.post(f"/v1/notices/{nid}/relay", signed({"version": 1, "step": "refused"}))
    assert r.status_code == 409
    # nothing more is owed
    assert un.ok("GET", "/v1/relay/owed")["owed"] == []
    # russia, not the relay (and not addressed): nothing
    assert ru.get(f"/v1/notices/{nid}/relay").status_code == 404
    assert ru.post(f"/v1/notices/{nid}/relay", early).status_code == 404
    # the evidence bundle proves it, the relay's signatures verified offline
    bundle = co.ok("GET", f"/v1/notices/{nid}/evidence")
    report = verify_bundle(bundle)
    assert report.ok, report.problems
    text = "\n".join(report.account)
    assert "relay un recorded version 1 forwarded for syria by phone" in text
    assert text.count("signed with key") >= 2
    # the relay reads its own steps in the ledger in full
    entries = un.ok("GET", "/v1/ledger/entries?start=0")
    full = [json.loads(e["entry"]) for e in entries["entries"] if "entry" in e]
    assert {"relay_step", "notice_version"} <= {e["type"] for e in full}
    # and it still verifies after a restart (tables agree with the log)
    world.restart()
    co = world.party("coalition")
    assert co.ok("GET", f"/v1/notices/{nid}/relay")["legs"][0]["answer"] == "acknowledged"


def test_deadlines_escalate_at_each_link(world: World) -> None:
    _syria(world)
    co, un = world.party("coalition"), world.party("un")
    deadline = iso(future(5.0 / 3600))  # acknowledgement due in 5 s: forwarding in 2.5 s
    nid = co.ok("POST", "/v1/notices", notice(["syria"], ack_deadline=deadline), 201)["id"]
    un.receive()  # received, never forwarded

    def overdue(api: Api, kind: str) -> list[dict[str, Any]]:
        return [e for e in api.events() if e["type"] == kind and e["data"]["notice_id"] == nid]

    relay_late = _wait(lambda: overdue(co, "relay_overdue"))
    assert (
        relay_late[0]["data"]["recipient"] == "syria" and relay_late[0]["data"]["forward_overdue"]
    )
    assert _wait(lambda: overdue(un, "relay_overdue"))
    owed = un.ok("GET", "/v1/relay/owed")["owed"][0]
    assert owed["owes"] == "forward" and owed["forward_overdue"]
    # the next link: forwarded late, but no answer by the acknowledgement deadline
    un.ok(
        "POST",
        f"/v1/notices/{nid}/relay",
        {"version": 1, "step": "forwarded", "means": "fax", "to": "MFA"},
    )
    assert _wait(lambda: overdue(co, "ack_overdue"))
    assert _wait(lambda: overdue(un, "ack_overdue"))  # the relay is told too
    # each escalation once
    time.sleep(0.6)
    all_co = [e for e in co.events() if e["data"].get("notice_id") == nid]
    assert sum(e["type"] == "relay_overdue" for e in all_co) == 1
    assert sum(e["type"] == "ack_overdue" for e in all_co) == 1
    # the answer comes in late: recorded as reported
    done = un.ok(
        "POST",
        f"/v1/notices/{nid}/relay",
        {"version": 1, "step": "no_answer", "comment": "no one picked up"},
    )
    assert done["answer"] == "no_answer"
    assert un.ok("GET", "/v1/relay/owed")["owed"][0]["owes"] == "answer"  # still owed


def test_bad_steps_name_the_field_and_store_nothing(world: World) -> None:
    _syria(world)
    co, un, ru = world.party("coalition"), world.party("un"), world.party("russia")
    nid = co.ok("POST", "/v1/notices", notice(["syria", "russia"]), 201)["id"]
    un.receive()
    ru.receive()
    base = {"version": 1, "step": "forwarded", "means": "phone", "to": "mission"}
    cases = [
        ({**base, "step": "approved"}, "step"),
        ({**base, "means": "pigeon"}, "means"),
        ({k: v for k, v in base.items() if k != "means"}, "means"),
        ({k: v for k, v in base.items() if k != "to"}, "to"),
        ({**base, "version": 0}, "version"),
        ({**base, "version": 9}, "version"),
        ({**base, "at": "2015-09-30T06:00"}, "at"),
        ({**base, "at": iso(future(5))}, "at"),
        ({**base, "at": "2015-09-30T06:00:00Z"}, "at"),  # before it was received
        ({**base, "recipient": "russia"}, "recipient"),
        ({**base, "colour": "red"}, "colour"),
        ({"version": 1, "step": "acknowledged", "means": "phone"}, "by"),
    ]
    for body, field in cases:
        r = un.post(f"/v1/notices/{nid}/relay", body)
        assert r.status_code == 422, (body, r.text)
        assert any(p.endswith(field) for p in _paths(r)), (field, r.text)
    # an answer before any forwarding
    r = un.post(f"/v1/notices/{nid}/relay", {"version": 1, "step": "refused"})
    assert r.status_code == 409 and r.json()["field"] == "step"
    # by a party that is not the relay (an addressee; the issuer)
    for api in (ru, co):
        r = api.post(f"/v1/notices/{nid}/relay", base)
        assert r.status_code == 403 and r.json()["field"] == "notice_id", r.text
    # nothing stored: the chain holds only the delivery to the relay
    chain = co.ok("GET", f"/v1/notices/{nid}/relay")
    assert [s["step"] for s in chain["legs"][0]["steps"]] == ["received"]
    # russia, an ordinary addressee, does not see the relay chain
    assert ru.get(f"/v1/notices/{nid}/relay").status_code == 403


def test_new_versions_cancellations_and_broadcasts_are_owed_again(world: World) -> None:
    co, un = world.party("coalition"), world.party("un")
    broadcast = co.ok("POST", "/v1/notices", notice(["*"], title="to everyone"), 201)["id"]
    _syria(world)  # registered later: its relay owes the active broadcast too
    nid = co.ok("POST", "/v1/notices", notice(["syria"], title="v1"), 201)["id"]
    owed = {(o["notice_id"], o["version"]) for o in un.ok("GET", "/v1/relay/owed")["owed"]}
    assert owed == {(broadcast, 1), (nid, 1)}
    un.receive()  # the relay confirms it has it: its delivery
    un.ok(
        "POST",
        f"/v1/notices/{nid}/relay",
        {"version": 1, "step": "forwarded", "means": "fax", "to": "MFA"},
    )
    # the cancellation is a version too: the relay owes its forwarding
    co.ok("DELETE", f"/v1/notices/{nid}")
    mine = [o for o in un.ok("GET", "/v1/relay/owed")["owed"] if o["notice_id"] == nid]
    assert [(o["version"], o["owes"], o["state"]) for o in mine] == [(2, "receive", "cancelled")]
    chain = co.ok("GET", f"/v1/notices/{nid}/relay")["legs"]
    assert [(g["version"], g["current"]) for g in chain] == [(1, False), (2, True)]
    # a late answer about the old version is still recorded, as reported
    late = un.ok("POST", f"/v1/notices/{nid}/relay", {"version": 1, "step": "refused", "by": "MFA"})
    assert late["answer"] == "refused" and not late["current"]
    # ...even once a new version no longer addresses the relayed party
    other = co.ok("POST", "/v1/notices", notice(["syria"], title="w1"), 201)["id"]
    un.receive()
    step = {"version": 1, "step": "forwarded", "means": "fax", "to": "MFA"}
    un.ok("POST", f"/v1/notices/{other}/relay", step)
    co.ok("PUT", f"/v1/notices/{other}", {**notice(["russia"], title="w2"), "version": 1})
    assert un.get(f"/v1/notices/{other}").status_code == 404  # v2 is not the UN's to read
    answer = {"version": 1, "step": "acknowledged", "means": "phone", "by": "MFA"}
    assert un.ok("POST", f"/v1/notices/{other}/relay", answer)["answer"] == "acknowledged"
    assert un.post(f"/v1/notices/{other}/relay", {**answer, "version": 2}).status_code == 422
    assert [g["version"] for g in un.ok("GET", f"/v1/notices/{other}/relay")["legs"]] == [1]


def test_the_python_client_signs_the_relays_steps(world: World) -> None:
    _syria(world)
    key = generate_key()
    nid = world.party("coalition").ok("POST", "/v1/notices", notice(["syria"]), 201)["id"]
    with Client(world.url, world.tokens["un"], key=key) as un:
        un.set_key()
        assert [o["owes"] for o in un.relay_owed()] == ["receive"]
        un.confirm(un.events()[-1]["id"])  # received: confirmed, not merely fetched
        un.relay_step(nid, 1, "forwarded", means="diplomatic_note", to="Embassy")
        done = un.relay_step(nid, 1, "acknowledged", by="Chargé d'affaires", at=iso(future(0)))
        assert done["answer"] == "acknowledged" and done["recorded"]["signed_by_key"]
        assert [s["step"] for s in un.relay_chain(nid)["legs"][0]["steps"]] == [
            "received",
            "forwarded",
            "acknowledged",
        ]
