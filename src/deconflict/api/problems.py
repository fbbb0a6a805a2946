"""RFC 9457 problem details for every error the API can answer."""

from __future__ import annotations

import logging
import math
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from deconflict.service import (
    Forbidden,
    IdempotencyKeyInvalid,
    IdempotencyKeyReused,
    Invalid,
    NotFound,
    RateLimited,
    ServiceError,
    StateConflict,
    StoreUnavailable,
    Unauthorized,
)

__all__ = [
    "STATUS",
    "allowed_methods",
    "database_unavailable",
    "install_handlers",
    "problem",
    "status_of",
]

log = logging.getLogger("deconflict.api")
PROBLEM_JSON = "application/problem+json"
_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict with the current state",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid document",
    429: "Too many requests",
    503: "Service unavailable",
    500: "Internal error",
}


# The HTTP status of each service error (the most specific class listed wins).
STATUS: dict[type[ServiceError], int] = {
    ServiceError: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    StateConflict: 409,
    Invalid: 422,
    IdempotencyKeyInvalid: 400,
    IdempotencyKeyReused: 422,
    RateLimited: 429,
}


def status_of(exc: ServiceError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400  # pragma: no cover - every service error derives from ServiceError


def problem(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    type_: str = "about:blank",
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": type_,
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def database_unavailable(exc: StoreUnavailable) -> JSONResponse:
    return problem(
        503,
        "the hub's database is unreachable; nothing of this request was acknowledged "
        "or stored. Retry after the delay given (here, or on another process of the hub)",
        title="Database unreachable",
        type_="urn:deconflict:problem:database-unavailable",
        headers={"Retry-After": str(exc.retry_after_s)},
    )


def _path(prefix: str, path: str) -> str:
    if not path:
        return prefix
    return f"{prefix}{path}" if path.startswith("[") else f"{prefix}.{path}"


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else str(part)
    return out


def _is_json(request: Request) -> bool:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return ctype == "application/json" or ctype.endswith("+json")


def allowed_methods(request: Request) -> list[str]:
    """The methods of every operation whose path matches the request's (sorted).

    Read from the OpenAPI document (every route of every router is in it), compiled
    once: Starlette's own `Allow` names only the first route that matched the path.
    """
    app = request.app
    table: list[tuple[re.Pattern[str], set[str]]] | None = getattr(app.state, "allow", None)
    if table is None:
        table = []
        for template, operations in app.openapi().get("paths", {}).items():
            methods = {m.upper() for m in operations}
            if "GET" in methods:
                methods.add("HEAD")
            table.append((compile_path(template)[0], methods))
        app.state.allow = table
    found: set[str] = set()
    for pattern, methods in table:
        if pattern.match(request.url.path):
            found |= methods
    return sorted(found)


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service(request: Request, exc: ServiceError) -> JSONResponse:
        headers: dict[str, str] = {}
        errors = None
        if isinstance(exc, Invalid):
            errors = [{"path": _path(exc.location, p), "message": m} for p, m in exc.errors]
        if isinstance(exc, Unauthorized):
            headers["WWW-Authenticate"] = 'Bearer realm="deconflict"'
        if isinstance(exc, RateLimited):
            headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after_s)))
        return problem(
            status_of(exc),
            exc.detail,
            title=exc.title,
            type_=exc.type_uri,
            errors=errors,
            headers=headers or None,
            **exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for e in exc.errors():
            loc = tuple(e.get("loc", ()))
            message = str(e.get("msg", "invalid"))
            if e.get("type") == "json_invalid":
                message = "not valid JSON: " + str(e.get("ctx", {}).get("error", message))
                loc = loc[:1]
            elif loc == ("body",) and not _is_json(request):
                # curl -d without a header sends a form: say what to send instead.
                message = "the body must be a JSON document: send Content-Type: application/json"
            errors.append({"path": _loc(loc), "message": message})
        return problem(
            422,
            f"{len(errors)} invalid field(s); nothing was stored",
            type_="urn:deconflict:problem:invalid",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "")
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such resource: {request.url.path}"
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            allowed = allowed_methods(request)
            detail = f"{request.method} is not allowed on {request.url.path}"
            if allowed:
                # every route of the path, not only the first that matched it
                headers["Allow"] = ", ".join(allowed)
                detail += f"; allowed: {headers['Allow']}"
        return problem(exc.status_code, detail, headers=headers or None)

    @app.exception_handler(StoreUnavailable)
    async def _store(request: Request, exc: StoreUnavailable) -> JSONResponse:
        # Not a bug of the hub: its database is away (restarting, unreachable). Nothing
        # was acknowledged; the client (or the proxy, on 503) retries here or elsewhere.
        log.warning("database unreachable on %s %s: %s", request.method, request.url.path, exc)
        return database_unavailable(exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(500, "the hub hit an unexpected error; nothing was changed by it")
