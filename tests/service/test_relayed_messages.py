"""Hotline messages to a relayed party (issue 15) over the real server: delivered to its
relay, which records forwarding and the answer (ledger entries, signed with its key); the
sender sees the chain on the receipt; the relay's owed view and the forwarding deadline;
every bad input refused with the field named and nothing stored."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from deconflict.cli import main
from deconflict.client import Client
from deconflict.ledger import statements
from deconflict.ledger.keys import (
    b64d,
    b64e,
    generate_key,
    public_raw,
    save_private_key,
    sign_statement,
)
from tests.service.helpers import Api, World, future, iso, notice


def _syria(world: World) -> None:
    world.admin.ok(
        "POST",
        "/v1/parties",
        {"id": "syria", "name": "Syrian Arab Republic", "reachable_via": "un"},
        201,
    )


def _paths(r: Any) -> list[str]:
    return [e["path"] for e in r.json().get("errors", [])]


def _wait(fn: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = fn()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError("timed out")


def _send(api: Api, to: list[str], body: str = "Stay clear of Latakia, 0600-0900Z") -> Any:
    doc = {"to": to, "priority": "urgent", "subject": "Air activity", "body": body}
    return api.ok("POST", "/v1/messages", doc, 201)


def _receipt(api: Api, mid: str, party: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        r for r in api.ok("GET", f"/v1/messages/{mid}")["receipts"] if r["party"] == party
    )
    return found


def test_a_message_reaches_its_relay_which_records_the_chain_signed(world: World) -> None:
    _syria(world)
    co, un = world.party("coalition"), world.party("un")
    key = generate_key()
    un.ok("PUT", "/v1/parties/un/key", {"public_key": b64e(public_raw(key))})

    sent = _send(co, ["syria"])
    mid = sent["id"]
    # told on sending: who else reads it
    assert sent["relayed"][0]["relay"] == "un" and "see it in full" in sent["relayed"][0]["note"]
    assert sent["receipts"][0]["via_relay"] == "un"
    assert sent["receipts"][0]["relay_chain"]["steps"] == []

    # the relay owes it, and has it in full on its stream and in its inbox
    owed = un.ok("GET", "/v1/relay/owed")["owed"]
    assert [(o["what"], o["message_id"], o["recipient"], o["owes"]) for o in owed] == [
        ("message", mid, "syria", "receive")
    ]
    assert owed[0]["title"] == "Air activity" and owed[0]["priority"] == "urgent"
    early = {"step": "forwarded", "means": "fax", "to": "Syrian mission, duty officer"}
    r = un.post(f"/v1/messages/{mid}/relay", early)  # not received yet
    assert r.status_code == 409 and r.json()["field"] == "message_id" and "never received" in r.text
    events = un.receive()
    got = next(e for e in events if e["type"] == "message_received")["data"]
    assert got["body"].startswith("Stay clear") and got["relaying"][0]["recipient"] == "syria"
    assert "relay_owed" in [e["type"] for e in events]
    inbox = un.ok("GET", "/v1/messages?box=in")["messages"]
    assert [m["id"] for m in inbox] == [mid] and "receipts" not in inbox[0]
    # handed to the relay: the relayed recipient's delivery receipt, via the relay
    assert _receipt(co, mid, "syria")["delivered_at"]
    assert _receipt(co, mid, "syria")["relay_chain"]["received_by_relay_at"]

    # the relay does not read it on syria's behalf
    r = un.post(f"/v1/messages/{mid}/read")
    assert r.status_code == 403 and "/relay" in r.text
    # unsigned steps are refused once the relay registered a key
    r = un.post(f"/v1/messages/{mid}/relay", early)
    assert r.status_code == 422 and "body.signature" in _paths(r)

    def signed(step: dict[str, Any]) -> dict[str, Any]:
        fields = {
            k: step.get(k) for k in ("at", "by", "comment", "means", "recipient", "step", "to")
        }
        st = statements.relayed_message_step_statement("un", mid, "syria", fields)
        return {**step, "signature": sign_statement(key, st)}

    # a signature over a notice's statement is not one over the message's
    wrong = statements.relay_step_statement("un", mid, 1, "syria", {**early})
    r = un.post(f"/v1/messages/{mid}/relay", {**early, "signature": sign_statement(key, wrong)})
    assert r.status_code == 422 and "body.signature" in _paths(r)

    fwd = un.ok("POST", f"/v1/messages/{mid}/relay", signed(early))
    assert fwd["forwarded_at"] and fwd["recorded"]["signed_by_key"]
    answer = {"step": "acknowledged", "means": "phone", "by": "Deputy Permanent Representative"}
    done = un.ok("POST", f"/v1/messages/{mid}/relay", signed(answer))
    assert done["answer"] == "acknowledged"

    # the sender sees the chain on the receipt, and the read receipt it amounts to
    receipt = _receipt(co, mid, "syria")
    assert receipt["read_at"] and receipt["read_ledger_index"] is not None
    chain = receipt["relay_chain"]
    assert [s["step"] for s in chain["steps"]] == ["received", "forwarded", "acknowledged"]
    assert chain["steps"][2]["counterpart"] == "Deputy Permanent Representative"
    assert all(s["ledger_index"] >= 0 for s in chain["steps"])
    assert [s["signed_by_key"] is not None for s in chain["steps"]] == [False, True, True]
    assert co.ok("GET", f"/v1/messages/{mid}/relay")["legs"] == [chain]
    types = [e["type"] for e in co.events()]
    assert {"message_delivered", "message_read", "relay_step"} <= set(types)
    # an answer is final; nothing more is owed
    r = un.post(f"/v1/messages/{mid}/relay", signed({"step": "refused"}))
    assert r.status_code == 409 and r.json()["field"] == "step"
    assert un.ok("GET", "/v1/relay/owed")["owed"] == []

    # the ledger: the relay reads its steps and the message's entry in full, signed
    entries = un.ok("GET", "/v1/ledger/entries?start=0")["entries"]
    full = [json.loads(e["entry"]) for e in entries if "entry" in e]
    steps = [e for e in full if e["type"] == "relay_step" and e.get("message_id") == mid]
    assert [e["step"] for e in steps] == ["forwarded", "acknowledged"]
    assert all(e["signature"] and e["statement"]["message_id"] == mid for e in steps)
    assert any(e["type"] == "message" and e["message_id"] == mid for e in full)
    # the hub's tables agree with its log after a restart
    world.restart()
    co = world.party("coalition")
    assert _receipt(co, mid, "syria")["relay_chain"]["answer"] == "acknowledged"


def test_the_relay_ledger_verify_and_a_message_to_relay_and_party_alike(world: World) -> None:
    """A message to a relayed party and to its relay as a recipient: one event to the relay,
    both receipts on its confirmation; the relay's and the sender's served views agree with
    the log (`Client.check_served`)."""
    _syria(world)
    co = world.party("coalition")
    sent = _send(co, ["syria", "un"])
    mid = sent["id"]
    with Client(world.url, world.tokens["un"]) as un:
        got = [e for e in un.events() if e["type"] == "message_received"]
        assert len(got) == 1  # once, though it is both a recipient and the relay
        confirmed = un.confirm(got[-1]["id"])
        assert confirmed["messages"] == 2  # its own receipt and syria's, via it
        mine = next(m for m in un.messages("in") if m["id"] == mid)
        assert mine["delivered_at"] and mine["relaying"][0]["recipient"] == "syria"
        hub_key = b64d(un.ledger_key()["public_key"])
        assert un.check_served(mine, hub_key) == []
    with Client(world.url, world.tokens["coalition"]) as sender:
        view = next(m for m in sender.messages("out") if m["id"] == mid)
        assert {r["party"]: bool(r["delivered_at"]) for r in view["receipts"]} == {
            "syria": True,
            "un": True,
        }
        assert sender.check_served(view, hub_key) == []


def test_bad_steps_name_the_field_and_store_nothing(world: World) -> None:
    _syria(world)
    world.admin.ok(
        "POST", "/v1/parties", {"id": "iran", "name": "Iran", "reachable_via": "un"}, 201
    )
    co, un, ru = world.party("coalition"), world.party("un"), world.party("russia")
    mid = _send(co, ["syria", "iran", "russia"])["id"]
    un.receive()
    ru.receive()
    base = {"step": "forwarded", "means": "phone", "to": "mission", "recipient": "syria"}
    cases = [
        ({**base, "step": "approved"}, "step"),
        ({**base, "means": "pigeon"}, "means"),
        ({k: v for k, v in base.items() if k != "means"}, "means"),
        ({k: v for k, v in base.items() if k != "to"}, "to"),
        ({**base, "version": 1}, "version"),  # a message has no versions
        ({**base, "at": "2015-09-30T06:00"}, "at"),
        ({**base, "at": iso(future(5))}, "at"),
        ({**base, "at": "2015-09-30T06:00:00Z"}, "at"),  # before it was received
        ({**base, "recipient": "russia"}, "recipient"),  # not relayed: an ordinary recipient
        ({k: v for k, v in base.items() if k != "recipient"}, "recipient"),  # two relayed
        ({**base, "colour": "red"}, "colour"),
        ({"step": "acknowledged", "means": "phone", "recipient": "syria"}, "by"),
        ({**base, "comment": 7}, "comment"),
    ]
    for body, field in cases:
        r = un.post(f"/v1/messages/{mid}/relay", body)
        assert r.status_code == 422, (body, r.text)
        assert any(p.endswith(field) for p in _paths(r)), (field, r.text)
    assert un.post(f"/v1/messages/{mid}/relay", [1]).status_code == 422
    # an answer before any forwarding
    r = un.post(f"/v1/messages/{mid}/relay", {"step": "refused", "recipient": "syria"})
    assert r.status_code == 409 and r.json()["field"] == "step"
    # by a party that is not the relay: a recipient, the sender
    for api in (ru, co):
        r = api.post(f"/v1/messages/{mid}/relay", base)
        assert r.status_code == 403 and r.json()["field"] == "message_id", r.text
    # a message the relay does not relay (and cannot see): not found, like any unknown id
    other = _send(co, ["russia"])["id"]
    for ref in (other, "m-nonexistent"):
        r = un.post(f"/v1/messages/{ref}/relay", base)
        assert r.status_code == 404, r.text
        assert un.get(f"/v1/messages/{ref}/relay").status_code == 404
    # a notice's step on a message's route, and the reverse: refused, the field named
    nid = co.ok("POST", "/v1/notices", notice(["syria"]), 201)["id"]
    assert un.post(f"/v1/notices/{mid}/relay", {**base, "version": 1}).status_code == 404
    assert un.post(f"/v1/messages/{nid}/relay", base).status_code == 404
    # nothing stored: the chain holds only the deliveries to the relay
    legs = co.ok("GET", f"/v1/messages/{mid}/relay")["legs"]
    assert [(g["recipient"], [s["step"] for s in g["steps"]]) for g in legs] == [
        ("iran", ["received"]),
        ("syria", ["received"]),
    ]
    entries = co.ok("GET", "/v1/ledger/entries?start=0")["entries"]
    full = [json.loads(e["entry"]) for e in entries if "entry" in e]
    assert not [e for e in full if e["type"] == "relay_step"]
    # russia, an ordinary recipient, does not see the relay chain
    assert ru.get(f"/v1/messages/{mid}/relay").status_code == 403


def test_a_message_not_forwarded_in_time_escalates_once(tmp_path: Path, backend: Any) -> None:
    world = World(tmp_path, relay_forward_s=1.0, **backend)
    try:
        _syria(world)
        co, un = world.party("coalition"), world.party("un")
        mid = _send(co, ["syria"])["id"]
        un.receive()  # received, never forwarded

        def overdue(api: Api) -> list[dict[str, Any]]:
            return [
                e
                for e in api.events()
                if e["type"] == "relay_overdue" and e["data"].get("message_id") == mid
            ]

        late = _wait(lambda: overdue(co))
        assert late[0]["data"]["recipient"] == "syria" and late[0]["data"]["forward_overdue"]
        assert _wait(lambda: overdue(un))
        owed = un.ok("GET", "/v1/relay/owed")["owed"]
        assert [(o["message_id"], o["owes"], o["forward_overdue"]) for o in owed] == [
            (mid, "forward", True)
        ]
        # forwarded late, then no answer: recorded, still owed
        step = {"step": "forwarded", "means": "fax", "to": "MFA"}
        assert not un.ok("POST", f"/v1/messages/{mid}/relay", step)["forward_overdue"]
        done = un.ok(
            "POST", f"/v1/messages/{mid}/relay", {"step": "no_answer", "comment": "no one"}
        )
        assert done["answer"] == "no_answer"
        assert [o["owes"] for o in un.ok("GET", "/v1/relay/owed")["owed"]] == ["answer"]
        # refused: final, and the recipient's receipt stays unread
        un.ok("POST", f"/v1/messages/{mid}/relay", {"step": "refused", "by": "MFA"})
        assert _receipt(co, mid, "syria")["read_at"] is None
        assert un.ok("GET", "/v1/relay/owed")["owed"] == []
        # escalated once (the sweep ran many times meanwhile: every 0.2 s)
        assert len(overdue(co)) == 1 and len(overdue(un)) == 1
        entries = co.ok("GET", "/v1/ledger/entries?start=0")["entries"]
        full = [json.loads(e["entry"]) for e in entries if "entry" in e]
        assert [e["type"] for e in full if e.get("message_id") == mid].count(
            "relay_forward_overdue"
        ) == 1
    finally:
        world.stop()


def test_the_python_client_signs_a_relayed_messages_steps(world: World) -> None:
    _syria(world)
    key = generate_key()
    mid = _send(world.party("coalition"), ["syria"])["id"]
    with Client(world.url, world.tokens["un"], key=key) as un:
        un.set_key()
        assert [(o["what"], o["owes"]) for o in un.relay_owed()] == [("message", "receive")]
        un.confirm(un.events()[-1]["id"])
        un.relay_message_step(mid, "forwarded", means="fax", to="Embassy")
        done = un.relay_message_step(mid, "acknowledged", by="Chargé d'affaires")
        assert done["answer"] == "acknowledged" and done["recorded"]["signed_by_key"]
        chain = un.message_relay_chain(mid)["legs"][0]
        assert [s["step"] for s in chain["steps"]] == ["received", "forwarded", "acknowledged"]


def test_the_relay_command_line_for_a_message(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _syria(world)
    mid = _send(world.party("coalition"), ["syria"])["id"]
    key = generate_key()
    save_private_key(key, tmp_path / "un.key")
    un = ["--server", world.url, "--token", world.tokens["un"], "--key", str(tmp_path / "un.key")]
    with Client(world.url, world.tokens["un"], key=key) as client:
        client.set_key()
        client.confirm(client.events()[-1]["id"])
    assert main(["relay", "owed", *un]) == 0
    out = capsys.readouterr().out
    assert f"{mid} (message, urgent) to syria: forward" in out and "Air activity" in out
    # a message has no version: said, nothing sent
    assert main(["relay", "step", mid, "forwarded", "--version", "1", *un]) == 2
    assert "no version" in capsys.readouterr().err
    step = ["relay", "step", mid, "forwarded", "--means", "fax", "--to", "Syrian mission", *un]
    assert main(step) == 0
    assert f"recorded: forwarded (syria, {mid})" in capsys.readouterr().out
    answer = ["relay", "step", mid, "acknowledged", "--means", "phone", "--by", "MFA", *un]
    assert main(answer) == 0
    capsys.readouterr()
    sender = ["--server", world.url, "--token", world.tokens["coalition"]]
    assert main(["relay", "chain", mid, *sender]) == 0
    chain = capsys.readouterr().out
    assert "message to syria via un:" in chain
    assert "forwarded by fax (Syrian mission)" in chain and "acknowledged by phone (MFA)" in chain
    steps = world.party("coalition").ok("GET", f"/v1/messages/{mid}/relay")["legs"][0]["steps"]
    assert all(s["signed_by_key"] for s in steps[1:])  # the CLI signed with --key
    # a refusal is reported as the hub said it
    assert main(["relay", "step", mid, "refused", *un]) == 1
    assert "is already recorded (acknowledged at" in capsys.readouterr().err


def test_a_relay_writing_to_a_party_it_relays_has_it_already(world: World) -> None:
    _syria(world)
    un = world.party("un")
    sent = _send(un, ["syria"], "Note verbale follows by courier")
    mid = sent["id"]
    receipt = sent["receipts"][0]
    assert receipt["via_relay"] == "un" and receipt["delivered_at"]
    assert [s["step"] for s in receipt["relay_chain"]["steps"]] == ["received"]
    step = {"step": "forwarded", "means": "courier", "to": "MFA protocol"}
    assert un.ok("POST", f"/v1/messages/{mid}/relay", step)["forwarded_at"]
    assert [o["owes"] for o in un.ok("GET", "/v1/relay/owed")["owed"]] == ["answer"]
