"""The OpenAPI document says what the hub answers: its problems, its security."""

from __future__ import annotations

from deconflict.api.models import OPERATIONS
from tests.api_document.document import errors
from tests.service.helpers import World, notice


def test_every_operation_documents_its_problems_and_the_bearer_scheme(world: World) -> None:
    doc = world.client(None).get("/openapi.json").json()
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": doc["components"]["securitySchemes"]["bearer"]["description"],
    }
    assert "HTTPValidationError" not in str(doc)
    for path, operations in doc["paths"].items():
        if not path.startswith("/v1"):
            continue
        for method, op in operations.items():
            where = f"{method.upper()} {path}"
            spec = OPERATIONS[(method.upper(), path)]
            if spec.public:  # POST /v1/paper/verify (issue 15): anyone holding the paper
                assert op["security"] == [] and "401" not in op["responses"], where
                continue
            assert op["security"] == [{"unit" if spec.unit else "bearer": []}], where
            for status in ("400", "401", "403", "404", "405", "409", "422", "429", "431"):
                content = op["responses"][status]["content"]
                assert content == {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                }, (where, status)
            if "requestBody" in op:
                assert "413" in op["responses"] and "408" in op["responses"], where


def test_the_problems_the_hub_answers_validate_against_the_document(world: World) -> None:
    doc = world.client(None).get("/openapi.json").json()
    schema = {"$ref": "#/components/schemas/Problem"}
    co, ru = world.party("coalition"), world.party("russia")
    n = co.ok("POST", "/v1/notices", notice(["russia"]), 201)
    ru.ok("POST", f"/v1/notices/{n['id']}/ack", {"version": 1, "comment": "a"})
    answers = [
        world.client(None).get("/v1/whoami"),  # 401
        world.client("not-a-token").get("/v1/whoami"),  # 401
        co.get("/v1/notices/n-nope"),  # 404
        co.post("/v1/notices", {"kind": "air_activity"}),  # 422 (the service)
        co.get("/v1/notices", params={"limit": 0}),  # 422 (FastAPI's validation)
        co.put(f"/v1/notices/{n['id']}", {**notice(["russia"]), "version": 7}),  # 409
        ru.post(f"/v1/notices/{n['id']}/ack", {"version": 1, "comment": "b"}),  # 409
        co.post(f"/v1/notices/{n['id']}/ack", {"version": 1}),  # 403
        world.admin.post("/v1/notices", notice(["russia"])),  # 403
        co.http.request("TRACE", "/v1/messages"),  # 405
        co.http.post(
            "/v1/notices", content=b"{" * 10, headers={"content-type": "application/json"}
        ),
    ]
    for r in answers:
        assert r.status_code >= 400, r.text
        assert r.headers["content-type"] == "application/problem+json", r.text
        assert errors(doc, schema, r.json()) == [], r.text
