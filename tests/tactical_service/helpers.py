"""Track reports and waiting for alert events."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from deconflict.service.tactical import Tactical
from tests.service.helpers import Api, World, iso


def report(
    track_id: str,
    lat: float,
    lon: float,
    alt_m: float = 6000.0,
    *,
    gs: float | None = 0.0,
    trk: float | None = 0.0,
    vs: float | None = 0.0,
    dt_s: float = 0.0,
    category: str = "manned",
    **extra: Any,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "track_id": track_id,
        "time": iso(datetime.now(UTC) + timedelta(seconds=dt_s)),
        "lat": lat,
        "lon": lon,
        "alt_m": alt_m,
        "category": category,
        **extra,
    }
    for name, value in (("gs_mps", gs), ("trk_deg", trk), ("vs_mps", vs)):
        if value is not None:
            doc[name] = value
    return doc


def send(api: Api, *reports: dict[str, Any]) -> dict[str, Any]:
    r = api.post("/v1/tracks", {"reports": list(reports)})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def wait_for(fn: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def alert_events(api: Api, type_: str | None = None) -> list[dict[str, Any]]:
    return [
        e
        for e in api.events()
        if e["type"].startswith("alert_") and (type_ is None or e["type"] == type_)
    ]


def wait_event(api: Api, type_: str, timeout: float = 10.0) -> dict[str, Any]:
    found: list[dict[str, Any]] = wait_for(
        lambda: alert_events(api, type_), timeout, f"{type_} on {api.name}'s stream"
    )
    return found[-1]


def tactical_of(world: World) -> Tactical:
    """The running server's tactical service (to read its counters)."""
    assert world.server is not None
    app: Any = world.server.server.config.app
    tactical: Tactical = app.state.tactical
    return tactical
