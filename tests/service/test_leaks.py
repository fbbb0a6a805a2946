"""Every endpoint with every other party's token: nothing of another party leaks."""

from __future__ import annotations

import json

from tests.service.helpers import World, notice


def test_leak_matrix(world: World) -> None:
    co, ru, un = world.party("coalition"), world.party("russia"), world.party("un")
    secret = "SECRET-COALITION-TITLE"
    n = co.ok("POST", "/v1/notices", notice(["russia"], title=secret, remarks="ingress 0600Z"), 201)
    conflict = ru.ok("POST", "/v1/notices", notice(["coalition"], lon=36.2), 201)["conflicts"][0]
    m = co.ok("POST", "/v1/messages", {"to": ["russia"], "body": secret}, 201)
    nid, cid, mid = n["id"], conflict["id"], m["id"]

    # The UN is addressed by nothing and party to nothing.
    reads = [
        f"/v1/notices/{nid}",
        f"/v1/notices/{nid}/reads",
        f"/v1/conflicts/{cid}",
        f"/v1/messages/{mid}",
    ]
    for path in reads:
        r = un.get(path)
        assert r.status_code == 404, (path, r.status_code)
        assert secret not in r.text
        assert nid not in r.json()["detail"] or path.endswith(nid) or "reads" in path
    writes = [
        ("PUT", f"/v1/notices/{nid}", {**notice(["russia"]), "version": 1}),
        ("DELETE", f"/v1/notices/{nid}", None),
        ("POST", f"/v1/notices/{nid}/ack", {"version": 1}),
        ("POST", f"/v1/messages/{mid}/read", None),
    ]
    for method, path, body in writes:
        r = un.http.request(method, path, json=body)
        assert r.status_code in (403, 404), (method, path, r.status_code)
        assert secret not in r.text
    # Russia is an addressee: it reads, but it does not change coalition's notice.
    for method, path, body in writes[:2]:
        assert ru.http.request(method, path, json=body).status_code == 403
    # Coalition cannot mark its own outgoing message read.
    assert co.post(f"/v1/messages/{mid}/read").status_code == 403
    assert co.get(f"/v1/notices/{conflict['mine']['notice']}").status_code == 200  # addressed

    # Listings and streams of the uninvolved party show nothing of either.
    listings = [
        "/v1/notices",
        "/v1/conflicts",
        "/v1/messages",
        "/v1/acks",
        "/v1/acks?role=issuer",
        "/v1/conflicts?state=resolved",
    ]
    for path in listings:
        text = un.get(path).text
        assert secret not in text and nid not in text and cid not in text, path
    assert un.events() == []
    # The uninvolved party's stream really is empty, not just the JSON view.
    with un.http.stream("GET", "/v1/events", headers={"Accept": "text/event-stream"}) as r:
        first = next(r.iter_lines())
        assert first.startswith("retry:")
    # Nothing of coalition's notice reaches Russia except what was addressed to it.
    ru_text = json.dumps(ru.events())
    assert secret in ru_text  # addressed notice and message
    assert "un" not in {e["data"].get("issuer") for e in ru.events()}
    # Admin sees everything but cannot act as a party.
    admin = world.admin
    assert admin.ok("GET", f"/v1/notices/{nid}")["title"] == secret
    assert admin.post("/v1/notices", notice(["russia"])).status_code == 403
    assert admin.post(f"/v1/notices/{nid}/ack", {"version": 1}).status_code == 403


def test_unaddressed_issuer_learns_only_the_overlap_everywhere(world: World) -> None:
    co, ru = world.party("coalition"), world.party("russia")
    hidden = "HIDDEN-RUSSIAN-PLAN"
    co.ok("POST", "/v1/notices", notice(["russia"]), 201)
    b = ru.ok("POST", "/v1/notices", notice(["un"], lon=36.2, title=hidden, remarks=hidden), 201)
    for text in (
        co.get("/v1/conflicts").text,
        co.get("/v1/notices").text,
        json.dumps(co.events()),
        co.get(f"/v1/conflicts/{b['conflicts'][0]['id']}").text,
    ):
        assert hidden not in text
        assert b["id"] not in text
        # russia's footprint edge (lon 36.2 + 0.3) as a coordinate (a stamp such as
        # "22:37:36.528Z" holds "36.5" too)
        assert "[36.5," not in text


# -- issue 15: a relay sees only what it relays ------------------------------------------
def test_a_relay_sees_only_what_it_relays(world: World) -> None:
    admin = world.admin
    admin.ok("POST", "/v1/parties", {"id": "syria", "name": "Syria", "reachable_via": "un"}, 201)
    admin.ok(
        "POST", "/v1/parties", {"id": "yemen", "name": "Yemen", "reachable_via": "russia"}, 201
    )
    co, ru, un = world.party("coalition"), world.party("russia"), world.party("un")
    relayed = co.ok(
        "POST", "/v1/notices", notice(["syria", "russia"], title="RELAYED-TO-SYRIA"), 201
    )
    other = co.ok("POST", "/v1/notices", notice(["yemen"], title="RELAYED-BY-RUSSIA"), 201)
    plain = co.ok("POST", "/v1/notices", notice(["russia"], title="NOT-FOR-THE-UN"), 201)
    rid, oid, pid = relayed["id"], other["id"], plain["id"]
    ru.receive()

    # the UN reads what it relays, in full, and nothing else
    assert un.ok("GET", f"/v1/notices/{rid}")["title"] == "RELAYED-TO-SYRIA"
    un_text = json.dumps(un.events()) + un.get("/v1/notices").text + un.get("/v1/relay/owed").text
    assert "RELAYED-TO-SYRIA" in un_text
    for secret, nid in (("RELAYED-BY-RUSSIA", oid), ("NOT-FOR-THE-UN", pid)):
        assert secret not in un_text and nid not in un_text
        for path in (
            f"/v1/notices/{nid}",
            f"/v1/notices/{nid}/relay",
            f"/v1/notices/{nid}/printable",
        ):
            r = un.get(path)
            assert r.status_code == 404 and secret not in r.text, path
        step = {"version": 1, "step": "forwarded", "means": "fax", "to": "x"}
        assert un.post(f"/v1/notices/{nid}/relay", step).status_code == 404
    # of the notice it relays: not russia's acknowledgement, not the other relay's chain
    seen = un.ok("GET", f"/v1/notices/{rid}")
    assert seen["acks"] == [] and "conflicts" not in seen
    assert [g["recipient"] for g in un.ok("GET", f"/v1/notices/{rid}/relay")["legs"]] == ["syria"]
    assert (
        un.ok("GET", "/v1/acks")["acks"] == []
        and un.ok("GET", "/v1/acks?role=issuer")["acks"] == []
    )
    # the ledger: the UN reads the entries of what it relays, not russia's ack of it
    ru.ok("POST", f"/v1/notices/{rid}/ack", {"version": 1})
    entries = un.ok("GET", "/v1/ledger/entries?start=0")["entries"]
    readable = [json.loads(e["entry"]) for e in entries if "entry" in e]
    assert any(e.get("notice_id") == rid for e in readable)
    assert not any(e.get("notice_id") in (oid, pid) for e in readable)
    assert not any(e["type"] == "ack" and e.get("party") == "russia" for e in readable)
    # russia, an addressee of the relayed notice, sees neither the UN's chain nor its owed list
    assert ru.get(f"/v1/notices/{rid}/relay").status_code == 403
    assert rid not in ru.get("/v1/relay/owed").text
    # an amendment that no longer addresses syria takes the notice away from the UN
    co.ok(
        "PUT", f"/v1/notices/{rid}", {**notice(["russia"], title="NOW-RUSSIA-ONLY"), "version": 1}
    )
    assert un.get(f"/v1/notices/{rid}").status_code == 404
    later = json.dumps(un.events())
    assert "NOW-RUSSIA-ONLY" not in later and "notice_withdrawn" in later
    assert un.ok("GET", "/v1/relay/owed")["owed"] == []


def test_a_relay_sees_only_the_messages_it_relays(world: World) -> None:
    """Issue 15, the hotline: what a relay learns of messages, and what others learn of it."""
    admin = world.admin
    admin.ok("POST", "/v1/parties", {"id": "syria", "name": "Syria", "reachable_via": "un"}, 201)
    admin.ok(
        "POST", "/v1/parties", {"id": "yemen", "name": "Yemen", "reachable_via": "russia"}, 201
    )
    co, ru, un = world.party("coalition"), world.party("russia"), world.party("un")

    def send(to: list[str], body: str) -> str:
        sent: str = co.ok("POST", "/v1/messages", {"to": to, "body": body}, 201)["id"]
        return sent

    rid = send(["syria", "russia"], "RELAYED-MSG-TO-SYRIA")
    oid = send(["yemen"], "MSG-RELAYED-BY-RUSSIA")
    pid = send(["russia"], "MSG-NOT-FOR-THE-UN")
    ru.receive()
    un.receive()
    ru.ok("POST", f"/v1/messages/{rid}/read")

    # the UN reads what it relays, in full, and nothing else
    un_text = (
        json.dumps(un.events())
        + un.get("/v1/messages?box=all").text
        + un.get("/v1/relay/owed").text
        + un.get(f"/v1/messages/{rid}").text
        + un.get(f"/v1/messages/{rid}/relay").text
    )
    assert "RELAYED-MSG-TO-SYRIA" in un_text
    for secret, mid in (("MSG-RELAYED-BY-RUSSIA", oid), ("MSG-NOT-FOR-THE-UN", pid)):
        assert secret not in un_text and mid not in un_text
        for path in (f"/v1/messages/{mid}", f"/v1/messages/{mid}/relay"):
            r = un.get(path)
            assert r.status_code == 404 and secret not in r.text, path
        for path, body in (
            (f"/v1/messages/{mid}/relay", {"step": "forwarded", "means": "fax", "to": "x"}),
            (f"/v1/messages/{mid}/read", None),
        ):
            r = un.post(path, body)
            assert r.status_code == 404 and secret not in r.text, path
    # of the message it relays: not russia's receipts (russia read it), not yemen's relay
    seen = un.ok("GET", f"/v1/messages/{rid}")
    assert "receipts" not in seen and seen.get("read_at") is None
    assert [g["recipient"] for g in seen["relaying"]] == ["syria"]
    assert "message_read" not in un_text
    # the ledger: the UN reads the entries of what it relays, not russia's receipts of it
    entries = un.ok("GET", "/v1/ledger/entries?start=0")["entries"]
    readable = [json.loads(e["entry"]) for e in entries if "entry" in e]
    assert any(e.get("message_id") == rid for e in readable)
    assert not any(e.get("message_id") in (oid, pid) for e in readable)
    assert not any(e["type"] == "message_receipt" and e.get("party") == "russia" for e in readable)

    # russia, a recipient of the relayed message, sees neither the UN's chain nor its legs
    inbox = [m for m in ru.ok("GET", "/v1/messages?box=in")["messages"] if m["id"] == rid]
    ru_text = ru.get(f"/v1/messages/{rid}").text + json.dumps(inbox)
    assert "relay_chain" not in ru_text and "relaying" not in ru_text and '"un"' not in ru_text
    assert ru.get(f"/v1/messages/{rid}/relay").status_code == 403
    assert rid not in ru.get("/v1/relay/owed").text
    # russia relays the other one: its own leg, not the UN's
    assert [g["message_id"] for g in ru.ok("GET", "/v1/relay/owed")["owed"]] == [oid]
    # an outsider: nothing at all
    token = admin.ok("POST", "/v1/parties", {"id": "iran", "name": "Iran"}, 201)["token"]
    ir = world.client(token, "iran")
    for path in (f"/v1/messages/{rid}", f"/v1/messages/{rid}/relay"):
        r = ir.get(path)
        assert r.status_code == 404 and "RELAYED-MSG" not in r.text, path
    ir_text = json.dumps(ir.events()) + ir.get("/v1/messages").text + ir.get("/v1/relay/owed").text
    assert rid not in ir_text and "RELAYED-MSG" not in ir_text
