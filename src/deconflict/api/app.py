"""The ASGI application: routes, error format, limits, and the hub's lifetime."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from deconflict import __version__
from deconflict.api import events, ledger, routes, tactical
from deconflict.api.docs import install_docs
from deconflict.api.limits import BodyLimit, PartySlots, RequestsPerToken
from deconflict.api.openapi import install_openapi
from deconflict.api.problems import install_handlers
from deconflict.config import Settings
from deconflict.service import Hub

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

    @app.get("/healthz", tags=["operations"], summary="Liveness and store status")
    async def healthz() -> Any:
        try:
            return await the_hub.ready()
        except Exception as exc:  # the store is unreachable: report, do not crash
            return JSONResponse({"status": "error", "detail": str(exc)}, status_code=503)

    return app
