"""/docs and /redoc served from a package's static files, so that they work offline.

FastAPI's own pages load Swagger UI and ReDoc from a CDN: blank on a network without
internet, which is where a hub often runs. The files come from the `fastapi-offline`
package (MIT, Swagger UI's and ReDoc's release bundles); none is copied into the repo.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["STATIC_PREFIX", "install_docs"]

STATIC_PREFIX = "/docs/static"
_FILES = Path(fastapi_offline.__file__).parent / "static"


def install_docs(app: FastAPI) -> None:
    app.mount(STATIC_PREFIX, StaticFiles(directory=_FILES), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title}: API",
            swagger_js_url=f"{STATIC_PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{STATIC_PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{STATIC_PREFIX}/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title}: API",
            redoc_js_url=f"{STATIC_PREFIX}/redoc.standalone.js",
            redoc_favicon_url=f"{STATIC_PREFIX}/favicon.png",
            with_google_fonts=False,
        )
