"""The ASGI application: routes, error format, limits, and the hub's lifetime."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from deconflict import __version__
from deconflict.api import events, ledger, relays, routes, tactical, units
from deconflict.api.docs import install_docs
from deconflict.api.limits import BodyLimit, PartySlots, RequestsPerToken
from deconflict.api.openapi import install_openapi
from deconflict.api.problems import install_handlers
from deconflict.config import Settings
from deconflict.interop import f3548  # the F3548 DSS interface (issue 18)
from deconflict.service import Forbidden, Hub, Unauthorized

__all__ = ["create_app"]

DESCRIPTION = """\
The neutral channel between parties that do not coordinate: notify 4D
activities and protected sites, learn at once where they conflict, prove that
each version was received and acknowledged, and talk on the hotline.

Every request carries `Authorization: Bearer <token>`. Errors are RFC 9457
`application/problem+json`. An acknowledgement records receipt; it never
grants or refuses anything.
"""


def create_app(settings: Settings, hub: Hub | None = None) -> FastAPI:
    """The app; it starts and closes `hub` (built from `settings` if not given)."""
    the_hub = hub if hub is not None else Hub(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        the_hub.start(tactical=True, loop=asyncio.get_running_loop())
        try:
            yield
        finally:
            the_hub.close()

    app = FastAPI(
        title="deconflict",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served from a package instead (api/docs.py): no CDN
        redoc_url=None,
    )
    install_docs(app)
    install_openapi(app)
    app.state.hub = the_hub
    app.state.tactical = the_hub.tactical  # its counters, for tests and benchmarks
    app.state.streams = PartySlots(settings.max_streams_per_party)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes, timeout_s=settings.body_timeout_s)
    # outermost: a token's requests beyond its share wait for nothing, not even the body
    app.add_middleware(RequestsPerToken, limit=settings.max_requests_per_party)
    install_handlers(app)
    app.include_router(routes.router)
    app.include_router(events.router)
    app.include_router(tactical.router)
    app.include_router(ledger.router)
    app.include_router(relays.router)  # issue 15: relays, printable notices
    app.include_router(units.router)  # issue 15
    app.include_router(f3548.router_for(the_hub, settings))  # /dss/v1, /aux/v1 (issue 18)

    @app.get(
        "/healthz",
        tags=["operations"],
        summary="Liveness; with the admin token, the store and its figures",
    )
    async def healthz(request: Request) -> Any:
        # The figures (parties, active notices, last event id, the database path) tell
        # an outsider how busy each side is: only the operator gets them.
        admin = _is_admin(the_hub, request.headers.get("authorization", ""))
        try:
            status = await the_hub.ready()
        except Exception as exc:  # the store is unreachable: report, do not crash
            detail = {"detail": str(exc)} if admin else {}
            retry = str(getattr(exc, "retry_after_s", 5))
            return JSONResponse(
                {"status": "error", "database": "unreachable", **detail},
                status_code=503,
                headers={"Retry-After": retry},
            )
        return status if admin else {"status": status["status"]}

    return app


def _is_admin(hub: Hub, header: str) -> bool:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    try:
        return hub.authenticate(token.strip()).is_admin
    except (Unauthorized, Forbidden):  # Forbidden: a unit's token (issue 15)
        return False
