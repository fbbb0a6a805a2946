"""HTTP of the F3548 DSS interface: `/dss/v1/...` (InterUSS `utm.yaml` 1.0.0) and
`/aux/v1/version`. Thin: authorise, read the body, call `Dss`, answer."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from uas_standards.astm.f3548.v21.constants import Scope

from deconflict import __version__
from deconflict.config import Settings
from deconflict.interop.f3548.auth import Caller, TokenVerifier, load_public_keys
from deconflict.interop.f3548.dss import CONSTRAINT, OP, Dss
from deconflict.interop.f3548.errors import DssError
from deconflict.service import Hub, RateLimited

__all__ = ["router_for"]

SC = Scope.StrategicCoordination.value
CM = Scope.ConstraintManagement.value
CP = Scope.ConstraintProcessing.value
AA = Scope.AvailabilityArbitration.value
_REALM = 'Bearer realm="dss"'


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def verifier_for(settings: Settings) -> TokenVerifier:
    keys = load_public_keys([Path(p) for p in _split(settings.dss_public_keys)])
    return TokenVerifier(keys, _split(settings.dss_audiences))


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise DssError(400, f"the body is not valid JSON: {exc}") from exc


def _answer(status: int, body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=status)


async def _run(call: Callable[[], Awaitable[tuple[int, dict[str, Any]]]]) -> Response:
    try:
        status, body = await call()
    except DssError as exc:
        headers = {"WWW-Authenticate": _REALM} if exc.status == 401 else None
        return JSONResponse({"message": exc.message, **exc.body}, exc.status, headers=headers)
    except RateLimited as exc:
        return JSONResponse({"message": exc.detail}, 429, headers={"Retry-After": "1"})
    return _answer(status, body)


def router_for(hub: Hub, settings: Settings) -> APIRouter:
    """The DSS routes of ``hub``, authorised by the keys and audiences of ``settings``."""
    verifier = verifier_for(settings)
    dss = Dss(hub)
    router = APIRouter(tags=["F3548 DSS"])

    def who(request: Request, *scopes: str) -> Caller:
        return verifier.caller(request.headers.get("authorization"), scopes)

    # -- operational intent and constraint references ------------------------------
    def references(kind: str, path: str, write: tuple[str, ...], read: tuple[str, ...]) -> None:
        name = "operational_intent_reference" if kind == OP else "constraint_reference"

        @router.post(f"/dss/v1/{path}/query", name=f"query_{kind}")
        async def query(request: Request) -> Response:
            async def call() -> tuple[int, dict[str, Any]]:
                caller = who(request, *read)
                found = await dss.query_references(kind, caller.sub, await _body(request))
                return 200, {f"{name}s": found}

            return await _run(call)

        @router.get(f"/dss/v1/{path}/{{entityid}}", name=f"get_{kind}")
        async def get(request: Request, entityid: str) -> Response:
            async def call() -> tuple[int, dict[str, Any]]:
                caller = who(request, *read)
                return 200, {name: await dss.get_reference(kind, caller.sub, entityid)}

            return await _run(call)

        @router.put(f"/dss/v1/{path}/{{entityid}}", name=f"create_{kind}")
        async def create(request: Request, entityid: str) -> Response:
            async def call() -> tuple[int, dict[str, Any]]:
                caller = who(request, *write)
                body = await _body(request)
                return await dss.put_reference(kind, caller.sub, entityid, None, body)

            return await _run(call)

        @router.put(f"/dss/v1/{path}/{{entityid}}/{{ovn}}", name=f"update_{kind}")
        async def update(request: Request, entityid: str, ovn: str) -> Response:
            async def call() -> tuple[int, dict[str, Any]]:
                caller = who(request, *write)
                body = await _body(request)
                return await dss.put_reference(kind, caller.sub, entityid, ovn, body)

            return await _run(call)

        @router.delete(f"/dss/v1/{path}/{{entityid}}/{{ovn}}", name=f"delete_{kind}")
        async def delete(request: Request, entityid: str, ovn: str) -> Response:
            async def call() -> tuple[int, dict[str, Any]]:
                caller = who(request, *write)
                return 200, await dss.delete_reference(kind, caller.sub, entityid, ovn)

            return await _run(call)

    references(OP, "operational_intent_references", (SC,), (SC,))
    references(CONSTRAINT, "constraint_references", (CM,), (CM, CP))

    # -- subscriptions ---------------------------------------------------------------
    @router.post("/dss/v1/subscriptions/query")
    async def query_subscriptions(request: Request) -> Response:
        async def call() -> tuple[int, dict[str, Any]]:
            caller = who(request, SC, CP)
            return 200, await dss.query_subscriptions(caller.sub, await _body(request))

        return await _run(call)

    @router.get("/dss/v1/subscriptions/{subscriptionid}")
    async def get_subscription(request: Request, subscriptionid: str) -> Response:
        async def call() -> tuple[int, dict[str, Any]]:
            caller = who(request, SC, CP)
            return 200, await dss.get_subscription(caller.sub, subscriptionid)

        return await _run(call)

    @router.put("/dss/v1/subscriptions/{subscriptionid}")
    async def create_subscription(request: Request, subscriptionid: str) -> Response:
        async def call() -> tuple[int, dict[str, Any]]:
            caller = who(request, SC, CP)
            body = await _body(request)
            return 200, await dss.put_subscription(
                caller.sub, subscriptionid, None, body, caller.scopes
            )

        return await _run(call)

    @router.put("/dss/v1/subscriptions/{subscriptionid}/{version}")
    async def update_subscription(request: Request, subscriptionid: str, version: str) -> Response:
        async def call() -> tuple[int, dict[str, Any]]:
            caller = who(request, SC, CP)
            body = await _body(request)
            return 200, await dss.put_subscription(
                caller.sub, subscriptionid, version, body, caller.scopes
            )

        return await _run(call)

    @router.delete("/dss/v1/subscriptions/{subscriptionid}/{version}")
    async def delete_subscription(request: Request, subscriptionid: str, version: str) -> Response:
        async def call() -> tuple[int, dict[str, Any]]:
            caller = who(request, SC, CP)
            return 200, await dss.delete_subscription(caller.sub, subscriptionid, version)

        return await _run(call)

    # -- USS availability ------------------------------------------------------------
    @router.get("/dss/v1/uss_availability/{uss_id}")
    async def get_availability(request: Request, uss_id: str) -> Response:
        async def call() -> tuple[int, dict[str, Any]]:
            caller = who(request, SC, AA)
            await dss.uss(caller.sub)
            return 200, dss.get_availability(uss_id)

        return await _run(call)

    @router.put("/dss/v1/uss_availability/{uss_id}")
    async def set_availability(request: Request, uss_id: str) -> Response:
        async def call() -> tuple[int, dict[str, Any]]:
            caller = who(request, AA)
            await dss.uss(caller.sub)
            return 200, await dss.set_availability(uss_id, await _body(request))

        return await _run(call)

    # -- service -----------------------------------------------------------------------
    @router.get("/dss/v1/healthy", include_in_schema=False)
    async def healthy() -> Response:
        return Response("ok", media_type="text/plain")

    @router.get("/aux/v1/version")
    async def version(request: Request) -> Response:
        async def call() -> tuple[int, dict[str, Any]]:
            who(request)
            return 200, {"version": f"deconflict-{__version__}"}

        return await _run(call)

    @router.get("/aux/v1/validate_oauth")
    async def validate_oauth(request: Request, owner: str | None = None) -> Response:
        async def call() -> tuple[int, dict[str, Any]]:
            caller = who(request)
            if owner is not None and owner != caller.sub:
                raise DssError(403, "the token's sub is not the owner named")
            return 200, {}

        return await _run(call)

    return router
