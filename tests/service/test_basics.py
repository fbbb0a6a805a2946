"""Parties, tokens, health and the error format, over HTTP."""

from __future__ import annotations

from tests.service.helpers import ADMIN_TOKEN, World, notice


def test_healthz_and_openapi(world: World) -> None:
    anon = world.client(None)
    # without the operator's token: only that the hub is up (issue 11)
    assert anon.get("/healthz").json() == {"status": "ok"}
    for token in (world.tokens["russia"], "dcf_not_a_token", ADMIN_TOKEN + "x"):
        assert world.client(token).get("/healthz").json() == {"status": "ok"}
    health = world.admin.ok("GET", "/healthz")
    assert health["status"] == "ok"
    assert health["parties"] == 3
    assert "store" in health and "last_event_id" in health
    doc = anon.get("/openapi.json").json()
    for path in (
        "/v1/parties",
        "/v1/notices",
        "/v1/notices/{notice_id}",
        "/v1/notices/{notice_id}/ack",
        "/v1/check",
        "/v1/conflicts",
        "/v1/conflicts/{conflict_id}",
        "/v1/events",
        "/v1/messages",
        "/v1/messages/{message_id}/read",
    ):
        assert path in doc["paths"], path
    body = doc["paths"]["/v1/notices"]["post"]["requestBody"]["content"]["application/json"]
    assert body["examples"]
    text = anon.get("/openapi.json").text.lower()
    for word in ("approv", "permit", "authorise", "authorize"):
        assert word not in text


def test_party_registration_and_directory(world: World) -> None:
    admin = world.admin
    assert admin.post("/v1/parties", {"id": "coalition", "name": "again"}).status_code == 409
    bad = admin.post("/v1/parties", {"id": "Bad Id!", "name": "", "extra": 1})
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    paths = {e["path"] for e in bad.json()["errors"]}
    assert paths == {"body.id", "body.name", "body.extra"}
    coalition = world.party("coalition")
    assert coalition.post("/v1/parties", {"id": "x", "name": "x"}).status_code == 403
    listing = coalition.ok("GET", "/v1/parties")
    assert [p["id"] for p in listing["parties"]] == ["coalition", "russia", "un"]
    assert "token" not in str(listing)
    assert coalition.ok("GET", "/v1/whoami") == {"party": "coalition", "admin": False}


def test_tokens_and_problem_format(world: World) -> None:
    for token in (None, "garbage", "dcf_0123456789abcdef_" + "x" * 43, ADMIN_TOKEN + "x"):
        r = world.client(token).get("/v1/notices")
        assert r.status_code == 401, token
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert {"type", "title", "status", "detail"} <= set(r.json())
    me = world.party("coalition")
    r = me.get("/v1/nowhere")
    assert r.status_code == 404
    assert r.json()["status"] == 404
    r = me.http.patch("/v1/notices")
    assert r.status_code == 405
    assert r.headers["content-type"] == "application/problem+json"
    r = me.http.post(
        "/v1/notices", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["path"].startswith("body")
    assert me.post("/v1/notices", notice(["russia"]), headers={}).status_code == 201


def test_form_encoded_body_is_told_to_send_json(world: World) -> None:
    """`curl -d` without a header sends a form; the answer says what to send instead."""
    form = world.admin.http.post(
        "/v1/parties",
        content=b'{"id": "late", "name": "Late"}',
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 422
    (error,) = form.json()["errors"]
    assert error["path"] == "body"
    assert "Content-Type: application/json" in error["message"]
    assert "late" not in {p["id"] for p in world.admin.get("/v1/parties").json()["parties"]}
