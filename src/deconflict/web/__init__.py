"""The static map UI: plain HTML, CSS and JS modules, served by the hub at `/`.

Nothing here touches the hub: the page speaks only the public `/v1` API with
the token the officer signs in with. Leaflet comes from the `xstatic-leaflet`
package and is served from it at `/static/leaflet/`; the page's own files are
at `/ui/`. The basemap (`static/basemap.json`) is Natural Earth data, built by
`basemap_build.py` and committed. No request of the page leaves the hub.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["STATIC_DIR", "leaflet_dir", "mount_ui"]

STATIC_DIR = Path(__file__).resolve().parent / "static"

# The page loads nothing from anywhere but the hub it came from.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-cache",
    "Referrer-Policy": "no-referrer",
}


def leaflet_dir() -> Path:
    """The directory of Leaflet's files inside the installed `xstatic-leaflet`."""
    spec = importlib.util.find_spec("xstatic.pkg.leaflet")
    if spec is None or spec.origin is None:
        raise RuntimeError("xstatic-leaflet is not installed: pip install xstatic-leaflet")
    return Path(spec.origin).resolve().parent / "data"


def mount_ui(app: FastAPI) -> None:
    """Serve the UI at `/`, its files at `/ui/` and Leaflet at `/static/leaflet/`."""

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers=HEADERS)

    app.mount("/ui", StaticFiles(directory=STATIC_DIR), name="ui")
    app.mount("/static/leaflet", StaticFiles(directory=leaflet_dir()), name="leaflet")
