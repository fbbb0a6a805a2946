"""The OpenAPI document, as honest as the hub: its errors, its media type, its security.

FastAPI documents only 200/201 and its own 422 schema. Every `/v1` operation here also
documents each status the hub can answer with (RFC 9457 `application/problem+json`,
one `Problem` schema), and the bearer token scheme every one of them requires.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

__all__ = ["PROBLEM_SCHEMA", "install_openapi"]

PROBLEM_JSON = "application/problem+json"

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details; some problems carry more members "
    "(`current_version` of a stale version, `acknowledged_at`...).",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "urn:deconflict:problem:<slug>"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "Each invalid field, by its path (`body.volumes[0].time_end`)",
            "items": {
                "type": "object",
                "required": ["path", "message"],
                "properties": {"path": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
    "additionalProperties": True,
}

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
}
_BODY_ONLY = (408, 413)


def _problem(status: int) -> dict[str, Any]:
    return {
        "description": _WHY[status],
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


def _document(app: FastAPI, original: Any) -> dict[str, Any]:
    doc: dict[str, Any] = original()
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    components["securitySchemes"] = {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "A party's token (from its registration) or the operator's",
        }
    }
    for path, operations in doc.get("paths", {}).items():
        for op in operations.values():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            responses = op["responses"]
            statuses = [401, 403, 405, 429, 431, 400, 404, 409, 422]
            if "requestBody" in op:
                statuses += list(_BODY_ONLY)
            if not path.startswith("/v1"):
                statuses = [405, 431, 422]
            else:
                op["security"] = [{"bearer": []}]
            for status in sorted(statuses):
                responses[str(status)] = _problem(status)
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
