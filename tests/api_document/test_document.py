"""The OpenAPI document is typed: every operation's bodies, problems, security and examples."""

from __future__ import annotations

from typing import Any, get_args

import pytest

from deconflict.api import models
from deconflict.api.models import requests as rq
from deconflict.geo.altitude import UNITS
from deconflict.service.disclosure import LEVELS
from deconflict.service.documents import PRIORITIES, REF_TYPES
from deconflict.strategic import KINDS
from deconflict.tactical.tracks import CATEGORIES
from tests.api_document.document import errors, operations
from tests.service.helpers import World, notice

PROBLEM = {"$ref": "#/components/schemas/Problem"}


def _typed(doc: dict[str, Any], schema: dict[str, Any]) -> bool:
    """A named component with members of its own, not a bare `object`."""
    ref = schema.get("$ref", "")
    if not ref.startswith("#/components/schemas/"):
        return False
    target = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return bool(target.get("properties") or target.get("anyOf") or target.get("oneOf"))


def test_every_operation_is_in_the_models_table_and_the_table_names_no_other(
    doc: dict[str, Any],
) -> None:
    served = {(m, p) for m, p, _ in operations(doc)}
    assert served == set(models.OPERATIONS), (
        "add the new route's models to api/models/operations.py (OPERATIONS)",
        served ^ set(models.OPERATIONS),
    )


def test_every_body_and_every_answer_is_typed(doc: dict[str, Any]) -> None:
    for method, path, op in operations(doc):
        where = f"{method} {path}"
        spec = models.OPERATIONS[(method, path)]
        if spec.request is not None:
            schema = op["requestBody"]["content"]["application/json"]["schema"]
            assert _typed(doc, schema), where
            assert op["requestBody"]["required"] is spec.body_required, where
        else:
            assert "requestBody" not in op, where
        for status, answer in op["responses"].items():
            for media, content in answer.get("content", {}).items():
                if media == "text/event-stream":
                    continue
                if media in spec.media:  # a printable notice: text or PDF, as the table says
                    assert content == spec.media[media], (where, media)
                    assert answer["headers"] == spec.headers, where
                    continue
                assert _typed(doc, content["schema"]), (where, status, media)
                if int(status) >= 400 and path != "/healthz":
                    assert media == "application/problem+json", (where, status)
                    assert content["schema"] == PROBLEM, (where, status)
        assert {s for s in op["responses"] if s.startswith("2")} == {
            str(s) for s in spec.ok if s < 300
        }, where


def test_the_security_scheme_is_declared_per_operation(doc: dict[str, Any]) -> None:
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert doc["components"]["securitySchemes"]["unit"]["scheme"] == "bearer"
    for method, path, op in operations(doc):
        spec = models.OPERATIONS[(method, path)]
        if spec.public:
            assert path in ("/healthz", "/v1/paper/verify"), (method, path)
            assert op["security"] == [], "liveness and paper checks need no token"
            assert "401" not in op["responses"] and "403" not in op["responses"]
        elif path == "/v1/unit" or path.startswith("/v1/unit/"):
            assert spec.unit and op["security"] == [{"unit": []}], (method, path)
            assert "401" in op["responses"] and "403" in op["responses"], (method, path)
        else:
            assert not spec.unit and op["security"] == [{"bearer": []}], (method, path)
            assert "401" in op["responses"] and "403" in op["responses"], (method, path)


def test_fastapi_validation_schemas_are_gone(doc: dict[str, Any]) -> None:
    text = str(doc)
    assert "HTTPValidationError" not in text and "ValidationError" not in text
    assert not [n for n in doc["components"]["schemas"] if n.startswith("Body_")]


def test_every_example_validates_against_its_schema(doc: dict[str, Any]) -> None:
    seen = 0
    for method, path, op in operations(doc):
        places = [op.get("requestBody", {}), *op["responses"].values()]
        for place in places:
            for content in place.get("content", {}).values():
                schema = content.get("schema")
                examples = [e["value"] for e in content.get("examples", {}).values()]
                examples += [content["example"]] if "example" in content else []
                for example in examples:
                    assert schema is not None, (method, path)
                    assert errors(doc, schema, example) == [], (method, path, example)
                    seen += 1
    assert seen >= 8  # a body example for each operation that takes one


def test_the_enums_are_the_services_own() -> None:
    assert get_args(rq.Kind) == tuple(KINDS)
    assert get_args(rq.Level) == tuple(LEVELS)
    assert get_args(rq.Priority) == tuple(PRIORITIES)
    assert get_args(rq.RefType) == tuple(REF_TYPES)
    assert get_args(rq.Category) == tuple(CATEGORIES)
    units = {*get_args(rq.AltitudeIn.model_fields["units"].annotation)}
    units |= {*get_args(rq.FlightLevelIn.model_fields["units"].annotation)}
    assert units == set(UNITS)


def _answers(world: World) -> list[tuple[str, str, Any]]:
    """A walk through the API as two parties and the admin: (METHOD, path template, response)."""
    co, ru, ad = world.party("coalition"), world.party("russia"), world.admin
    out: list[tuple[str, str, Any]] = []

    def keep(method: str, template: str, r: Any) -> Any:
        out.append((method, template, r))
        return r

    keep("POST", "/v1/parties", ad.post("/v1/parties", {"id": "ngo", "name": "An NGO"}))
    keep("GET", "/v1/parties", co.get("/v1/parties"))
    keep("GET", "/v1/whoami", ad.get("/v1/whoami"))
    n = keep("POST", "/v1/notices", co.post("/v1/notices", notice(["russia"]))).json()
    ru.ok("POST", "/v1/notices", notice(["coalition"]), 201)
    ru.ok("POST", "/v1/notices", notice(["un"], disclosure="existence"), 201)
    nid = n["id"]
    keep("POST", "/v1/check", co.post("/v1/check", notice(["russia"])))
    for who in (co, ru, ad):
        keep("GET", "/v1/notices", who.get("/v1/notices"))
        keep("GET", "/v1/notices/{notice_id}", who.get(f"/v1/notices/{nid}"))
        keep("GET", "/v1/conflicts", who.get("/v1/conflicts"))
        keep("GET", "/v1/acks", who.get("/v1/acks"))
        keep("GET", "/v1/events", who.get("/v1/events", headers={"Accept": "application/json"}))
    amended = keep(
        "PUT",
        "/v1/notices/{notice_id}",
        co.put(f"/v1/notices/{nid}", {**notice(["russia"]), "version": 1}),
    ).json()
    keep(
        "POST",
        "/v1/notices/{notice_id}/ack",
        ru.post(f"/v1/notices/{nid}/ack", {"version": amended["version"], "comment": "seen"}),
    )
    cid = amended["conflicts"][0]["id"]
    keep("GET", "/v1/conflicts/{conflict_id}", co.get(f"/v1/conflicts/{cid}"))
    keep("GET", "/v1/conflicts/{conflict_id}", ad.get(f"/v1/conflicts/{cid}"))
    keep("GET", "/v1/notices/{notice_id}/reads", co.get(f"/v1/notices/{nid}/reads"))
    keep("GET", "/v1/probes", ru.get("/v1/probes"))
    m = keep(
        "POST",
        "/v1/messages",
        co.post(
            "/v1/messages", {"to": ["russia"], "body": "hi", "ref": {"type": "notice", "id": nid}}
        ),
    ).json()
    keep("GET", "/v1/messages", ru.get("/v1/messages"))
    keep("GET", "/v1/messages", co.get("/v1/messages"))
    keep("GET", "/v1/messages/{message_id}", ru.get(f"/v1/messages/{m['id']}"))
    keep("POST", "/v1/messages/{message_id}/read", ru.post(f"/v1/messages/{m['id']}/read"))
    keep("GET", "/v1/tracks", co.get("/v1/tracks"))
    keep("GET", "/v1/alerts", co.get("/v1/alerts"))
    for path in ("head", "heads", "key", "checkpoint"):
        keep("GET", f"/v1/ledger/{path}", co.get(f"/v1/ledger/{path}"))
    keep("GET", "/v1/ledger/entries", co.get("/v1/ledger/entries"))
    keep("GET", "/v1/ledger/proof/inclusion", co.get("/v1/ledger/proof/inclusion?index=1"))
    keep("GET", "/v1/ledger/proof/consistency", co.get("/v1/ledger/proof/consistency?first=1"))
    keep("GET", "/v1/notices/{notice_id}/evidence", ru.get(f"/v1/notices/{nid}/evidence"))
    keep("GET", "/v1/parties/{party_id}/keys", co.get("/v1/parties/russia/keys"))
    keep("DELETE", "/v1/notices/{notice_id}", co.delete(f"/v1/notices/{nid}"))
    keep("GET", "/healthz", world.client(None).get("/healthz"))
    keep("GET", "/healthz", ad.get("/healthz"))
    return out


WEST = [[36.0, 35.0], [36.5, 35.0], [36.5, 35.6], [36.0, 35.6], [36.0, 35.0]]


def _issue15_answers(world: World) -> list[tuple[str, str, Any]]:
    """A walk through relays, paper and units (issue 15) and the events' confirmation."""
    co, ru, un, ad = world.party("coalition"), world.party("russia"), world.party("un"), world.admin
    out: list[tuple[str, str, Any]] = []

    def keep(method: str, template: str, r: Any) -> Any:
        out.append((method, template, r))
        assert r.status_code < 300, (method, template, r.status_code, r.text)
        return r

    via = {"id": "syria", "name": "Syrian Arab Republic", "reachable_via": "un"}
    keep("POST", "/v1/parties", ad.post("/v1/parties", via))
    keep("GET", "/v1/parties", co.get("/v1/parties"))
    nid = co.ok("POST", "/v1/notices", notice(["syria"]), 201)["id"]
    keep("GET", "/v1/relay/owed", un.get("/v1/relay/owed"))
    events = un.events()
    keep("POST", "/v1/events/confirm", un.post("/v1/events/confirm", {"up_to": events[-1]["id"]}))
    step = {"version": 1, "step": "forwarded", "means": "phone", "to": "the mission"}
    keep("POST", "/v1/notices/{notice_id}/relay", un.post(f"/v1/notices/{nid}/relay", step))
    answer = {"version": 1, "step": "acknowledged", "by": "the duty officer", "comment": "ok"}
    keep("POST", "/v1/notices/{notice_id}/relay", un.post(f"/v1/notices/{nid}/relay", answer))
    for who in (co, un, ad):
        keep("GET", "/v1/notices/{notice_id}/relay", who.get(f"/v1/notices/{nid}/relay"))
    keep("GET", "/v1/relay/owed", un.get("/v1/relay/owed"))
    # a hotline message to the relayed party: its relay's legs, steps and chain
    sent = {"to": ["syria"], "priority": "urgent", "body": "Stay clear of Latakia"}
    mid = keep("POST", "/v1/messages", co.post("/v1/messages", sent)).json()["id"]
    keep("GET", "/v1/relay/owed", un.get("/v1/relay/owed"))  # a message's leg, unreceived
    events = un.events()
    keep("POST", "/v1/events/confirm", un.post("/v1/events/confirm", {"up_to": events[-1]["id"]}))
    step = {"step": "forwarded", "means": "fax", "to": "the mission"}
    keep("POST", "/v1/messages/{message_id}/relay", un.post(f"/v1/messages/{mid}/relay", step))
    keep("GET", "/v1/relay/owed", un.get("/v1/relay/owed"))
    answer = {"step": "acknowledged", "by": "the duty officer", "means": "phone"}
    keep("POST", "/v1/messages/{message_id}/relay", un.post(f"/v1/messages/{mid}/relay", answer))
    for who in (co, un, ad):
        keep("GET", "/v1/messages/{message_id}/relay", who.get(f"/v1/messages/{mid}/relay"))
        keep("GET", "/v1/messages/{message_id}", who.get(f"/v1/messages/{mid}"))
    keep("GET", "/v1/messages", un.get("/v1/messages"))
    printed = keep(
        "GET", "/v1/notices/{notice_id}/printable", co.get(f"/v1/notices/{nid}/printable")
    )
    keep(
        "GET",
        "/v1/notices/{notice_id}/printable",
        un.get(f"/v1/notices/{nid}/printable", params={"format": "pdf"}),
    )
    code = printed.headers["X-Verification-Code"]
    anyone = world.client(None)
    keep("POST", "/v1/paper/verify", anyone.post("/v1/paper/verify", {"code": code}))
    check = {"code": code, "text": printed.text}
    keep("POST", "/v1/paper/verify", anyone.post("/v1/paper/verify", check))

    area = {"geometry": {"type": "Polygon", "coordinates": [WEST]}}
    made = keep(
        "POST", "/v1/units", co.post("/v1/units", {"id": "coalition/west", "area": area})
    ).json()
    unit = world.client(made["token"], made["id"])
    rid = ru.ok("POST", "/v1/notices", notice(["coalition"]), 201)["id"]
    keep("GET", "/v1/units", co.get("/v1/units"))
    keep("GET", "/v1/units/{party}/{name}", co.get("/v1/units/coalition/west"))
    keep("GET", "/v1/notices/{notice_id}/units", co.get(f"/v1/notices/{rid}/units"))
    keep("GET", "/v1/unit-deliveries", co.get("/v1/unit-deliveries?state=pending"))
    keep("GET", "/v1/unit", unit.get("/v1/unit"))
    keep("GET", "/v1/unit/notices", unit.get("/v1/unit/notices"))
    keep("GET", "/v1/unit/notices/{notice_id}", unit.get(f"/v1/unit/notices/{rid}"))
    polled = keep(
        "GET",
        "/v1/unit/events",
        unit.get("/v1/unit/events", headers={"Accept": "application/json"}),
    ).json()
    last = polled["events"][-1]["id"]
    keep("POST", "/v1/unit/confirm", unit.post("/v1/unit/confirm", {"last_event_id": last}))
    keep(
        "POST",
        "/v1/unit/notices/{notice_id}/ack",
        unit.post(f"/v1/unit/notices/{rid}/ack", {"version": 1, "comment": "seen"}),
    )
    keep("GET", "/v1/notices/{notice_id}/units", co.get(f"/v1/notices/{rid}/units"))
    keep(
        "PATCH",
        "/v1/units/{party}/{name}",
        co.http.patch("/v1/units/coalition/west", json={"name": "West", "kinds": ["fires"]}),
    )
    keep(
        "POST",
        "/v1/units/{party}/{name}/token",
        co.post("/v1/units/coalition/west/token", None),
    )
    keep("DELETE", "/v1/units/{party}/{name}", co.delete("/v1/units/coalition/west"))
    return out


def _check_answers(doc: dict[str, Any], answers: list[tuple[str, str, Any]]) -> None:
    for method, template, r in answers:
        where = f"{method} {template} -> {r.status_code}"
        answer = doc["paths"][template][method.lower()]["responses"].get(str(r.status_code))
        assert answer is not None, (where, r.text)
        media = r.headers["content-type"].split(";")[0]
        assert media in answer["content"], where
        if media not in ("application/json", "application/problem+json"):
            assert r.content and all(h in r.headers for h in answer.get("headers", {})), where
            continue
        assert errors(doc, answer["content"][media]["schema"], r.json()) == [], (where, r.text)


def test_the_answers_of_a_walk_through_the_api_are_what_the_document_says(
    world: World, doc: dict[str, Any]
) -> None:
    _check_answers(doc, _answers(world))


def test_the_answers_of_relays_paper_and_units_are_what_the_document_says(
    world: World, doc: dict[str, Any]
) -> None:
    answers = _issue15_answers(world)
    _check_answers(doc, answers)
    issue15 = {k for k in models.OPERATIONS if any(w in k[1] for w in ("unit", "relay", "paper"))}
    assert {(m, t) for m, t, _ in answers} >= {*issue15, ("POST", "/v1/events/confirm")}


@pytest.mark.parametrize(
    "model",
    [
        rq.NoticeIn,
        rq.AmendIn,
        rq.MessageIn,
        rq.AckIn,
        rq.PartyIn,
        rq.RelayStepIn,
        rq.MessageRelayStepIn,
        rq.PaperVerifyIn,
        rq.UnitIn,
        rq.UnitPatchIn,
        rq.UnitAckIn,
        rq.UnitConfirmIn,
        rq.EventsConfirmIn,
    ],
)
def test_a_request_model_refuses_an_unknown_field_as_the_parser_does(model: Any) -> None:
    schema = model.model_json_schema()
    assert schema["additionalProperties"] is False
