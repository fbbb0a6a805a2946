"""The OpenAPI document, as honest as the hub: typed bodies, its errors, its security.

FastAPI sees every body as a bare `object` (the routes hand raw documents to the
service, whose parsers give the field-by-field 422) and documents only 200/201 and its
own 422 schema. Here the document is rewritten from `api/models` (`OPERATIONS`): each
operation's request and response schemas, each status the hub can answer with
(RFC 9457 `application/problem+json`, one `Problem` schema), and the bearer token
scheme (declared on each operation; `/healthz` says none is required).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from deconflict.api.models import OPERATIONS, Operation, Problem
from deconflict.api.models import requests as request_models
from deconflict.api.models import responses as response_models

__all__ = [
    "IDEMPOTENCY_PARAMETER",
    "PROBLEM_JSON",
    "REPLAYED_HEADER",
    "component_schemas",
    "install_openapi",
]

PROBLEM_JSON = "application/problem+json"
_REF = "#/components/schemas/{model}"

_WHY = {
    400: "The request cannot be served as sent",
    401: "No valid bearer token (`WWW-Authenticate: Bearer`)",
    403: "This principal may not do this (a party's action by the operator, or the reverse)",
    404: "No such resource visible to you (another party's private resource is not found)",
    405: "Method not allowed; `Allow` lists the methods of the path",
    408: "The request headers or body did not arrive in time",
    409: "Conflicts with the current state (stale version, quota, already acknowledged...)",
    413: "Request body too large",
    422: "Invalid document, query or header: each bad field named by its path",
    429: "Too many requests (rate, requests in flight, open streams); see `Retry-After`",
    431: "Request header fields too large or too many",
    503: "The hub holds as many connections and requests as it takes (`MAX_CONNECTIONS`)",
}
# What any operation may answer: a bad token, the wrong principal, an unknown id, a
# method, a rate, headers too large (431) or too slow (408), a bad query or header (422)
# or request (400), a state (409), a hub at its connection limit (503).
_EVERY = (400, 401, 403, 404, 405, 408, 409, 422, 429, 431, 503)
_UNVERSIONED = (405, 408, 422, 431, 503)  # outside /v1 (the F3548 interface has its own)


def _models() -> tuple[list[type[BaseModel]], list[type[BaseModel]]]:
    ins = [getattr(request_models, n) for n in request_models.__all__]
    outs = [getattr(response_models, n) for n in response_models.__all__]
    return (
        [m for m in ins if isinstance(m, type) and issubclass(m, BaseModel)],
        [m for m in outs if isinstance(m, type) and issubclass(m, BaseModel)],
    )


def component_schemas() -> dict[str, Any]:
    """Every model's schema, named as in `#/components/schemas/<Model>`."""
    ins, outs = _models()
    _, top = models_json_schema(
        [(m, "validation") for m in ins] + [(m, "serialization") for m in outs],
        by_alias=True,
        ref_template=_REF,
    )
    schemas: dict[str, Any] = top.get("$defs", {})
    return schemas


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def _problem(status: int) -> dict[str, Any]:
    return {
        "description": _WHY[status],
        "content": {PROBLEM_JSON: {"schema": _ref(Problem)}},
    }


# Issue 14: the writes a retry must not repeat (`deconflict.service.idempotency`).
IDEMPOTENCY_PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "A key you choose, unique per request (a random UUID): a retry with the same key "
        "and the same request is answered with the original answer, stored once, on any "
        "process of the hub; the same key with another request is a 422 "
        "(`idempotency-key-reused`), a malformed key a 400. Keys are your own (another "
        "party's equal key is another key) and kept 24 h (`DECONFLICT_IDEMPOTENCY_TTL_S`); only a "
        "stored write is remembered. The IETF draft's quoted form is taken too."
    ),
    "schema": {
        "type": "string",
        "minLength": 16,
        "maxLength": 255,
        "pattern": "^[A-Za-z0-9._~+/=:-]+$",
    },
}
REPLAYED_HEADER: dict[str, Any] = {
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored answer of an earlier attempt",
        "schema": {"type": "string", "enum": ["true"]},
    }
}


def _idempotent(op: dict[str, Any], spec: Operation) -> None:
    op.setdefault("parameters", []).append(dict(IDEMPOTENCY_PARAMETER))
    for status in spec.ok:
        op["responses"][str(status)].setdefault("headers", {}).update(REPLAYED_HEADER)


def _type(op: dict[str, Any], spec: Operation) -> None:
    if spec.request is not None:
        body = op.setdefault("requestBody", {"content": {"application/json": {}}})
        body["required"] = spec.body_required
        content = body.setdefault("content", {}).setdefault("application/json", {})
        content["schema"] = _ref(spec.request)
    responses = op["responses"]
    for status, model in spec.ok.items():
        answer = responses.setdefault(str(status), {"description": "OK"})
        if spec.media:  # not JSON (a printable notice): the media types as the table says
            answer["content"] = {m: dict(c) for m, c in spec.media.items()}
            if spec.headers:
                answer["headers"] = dict(spec.headers)
            continue
        if status >= 300 and "description" in answer and answer["description"] == "OK":
            answer["description"] = "The store is unreachable"
        content = answer.setdefault("content", {})
        for media in list(content):
            if media != "application/json":
                continue
            content[media]["schema"] = _ref(model) if model else {}
        content.setdefault("application/json", {"schema": _ref(model) if model else {}})
    for code in list(responses):
        if code.isdigit() and 200 <= int(code) < 300 and int(code) not in spec.ok:
            del responses[code]  # FastAPI's default 200 for a route that answers 201


def _document(app: FastAPI, original: Any) -> dict[str, Any]:
    doc: dict[str, Any] = original()
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas.update(component_schemas())
    components["securitySchemes"] = {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "A party's token (from its registration) or the operator's",
        },
        "unit": {
            "type": "http",
            "scheme": "bearer",
            "description": "A unit's token (from POST /v1/units): only /v1/unit/... takes it",
        },
    }
    for path, operations in doc.get("paths", {}).items():
        for method, op in operations.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            spec = OPERATIONS.get((method.upper(), path))
            responses = op["responses"]
            if spec is not None:
                _type(op, spec)
                if spec.idempotent:
                    _idempotent(op, spec)
                # for Body-less routes FastAPI leaves its own body schema in (`Body` object)
                if spec.request is None:
                    op.pop("requestBody", None)
            statuses: tuple[int, ...] = _EVERY
            if not path.startswith("/v1"):
                statuses = _UNVERSIONED
            if spec is not None and spec.public:
                op["security"] = []  # no token needed (an admin token shows more)
                statuses = tuple(s for s in statuses if s not in (401, 403, 404, 409))
            elif spec is not None and spec.unit:
                op["security"] = [{"unit": []}]  # a unit's token, and nothing else
            elif path.startswith("/v1"):
                op["security"] = [{"bearer": []}]
            if spec is not None:  # after the public filter: its own (paper: 404, 409)
                statuses = (*statuses, *spec.problems)
            for status in sorted(set(statuses)):
                if str(status) in responses and status != 422:
                    # an answer of the route's own (the health's 503): a problem is one too
                    responses[str(status)]["content"].update(_problem(status)["content"])
                    continue
                responses[str(status)] = _problem(status)
    for name in [n for n in schemas if n.startswith("Body_")]:
        del schemas[name]
    return doc


def install_openapi(app: FastAPI) -> None:
    """Replace `app.openapi` by the document above (built once, as FastAPI does)."""
    original = app.openapi
    cached: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        if not cached:
            cached.update(_document(app, original))
        return cached

    app.openapi = openapi  # type: ignore[method-assign]
