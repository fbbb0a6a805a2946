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
