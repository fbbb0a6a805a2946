"""Helpers of the service tests: settings, documents, and clients bound to tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from deconflict.api.server import ServerThread
from deconflict.config import Settings

ADMIN_TOKEN = "admin-token-for-tests-0123456789"
PARTIES = ("coalition", "russia", "un")


def make_settings(db: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "db_path": db,
        "admin_token": ADMIN_TOKEN,
        "host": "127.0.0.1",
        "port": 0,
        "sweep_interval_s": 0.2,
        "heartbeat_s": 0.5,
        "events_poll_s": 0.5,
        "rate_per_s": 10_000.0,
        "rate_burst": 10_000,
    }
    values.update(overrides)
    return Settings(**values)


def future(hours: float = 1.0) -> datetime:
    return datetime.now(UTC) + timedelta(hours=hours)


def iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def volume(
    lon: float = 36.10,
    lat: float = 35.20,
    size: float = 0.3,
    *,
    start_h: float = 1.0,
    hours: float = 3.0,
    lower_ft: float = 0,
    upper_ft: float = 25_000,
) -> dict[str, Any]:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "altitude_lower": {"value": lower_ft, "units": "FT", "reference": "W84"},
        "altitude_upper": {"value": upper_ft, "units": "FT", "reference": "W84"},
        "time_start": iso(future(start_h)),
        "time_end": iso(future(start_h + hours)),
    }


def notice(
    addressees: list[str],
    *,
    lon: float = 36.10,
    kind: str = "air_activity",
    title: str = "activity",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "title": title,
        "addressees": addressees,
        "volumes": [volume(lon)],
        **extra,
    }


class Api:
    """An httpx client bound to one token."""

    def __init__(self, url: str, token: str | None, name: str) -> None:
        self.name = name
        self.token = token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=url, headers=headers, timeout=30.0)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        return self.http.post(path, json=body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        return self.http.put(path, json=body, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.delete(path, **kw)

    def ok(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        r = self.http.request(method, path, json=body)
        assert r.status_code == status, (r.status_code, r.text)
        return r.json()

    def events(self, after: int = 0) -> list[dict[str, Any]]:
        r = self.get("/v1/events", params={"after": after}, headers={"Accept": "application/json"})
        assert r.status_code == 200, r.text
        events: list[dict[str, Any]] = r.json()["events"]
        return events

    def receive(self, after: int = 0) -> list[dict[str, Any]]:
        """Poll the events and confirm them, as a client that has shown them does: that
        is what records deliveries (issue 13)."""
        events = self.events(after)
        if events:
            self.ok("POST", "/v1/events/confirm", {"up_to": events[-1]["id"]})
        return events

    def close(self) -> None:
        self.http.close()


class World:
    """A running hub with three registered parties and the admin."""

    def __init__(self, tmp: Path, **overrides: Any) -> None:
        self.db = tmp / "hub.db"
        self.overrides = overrides
        self.server: ServerThread | None = None
        self.clients: list[Api] = []
        self.tokens: dict[str, str] = {}
        self.start()
        for p in PARTIES:
            self.tokens[p] = self.admin.ok(
                "POST", "/v1/parties", {"id": p, "name": p.upper()}, 201
            )["token"]

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def start(self) -> None:
        self.server = ServerThread(make_settings(self.db, **self.overrides)).start()

    def stop(self) -> None:
        for c in self.clients:
            c.close()
        self.clients.clear()
        if self.server is not None:
            self.server.stop()
            self.server = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def client(self, token: str | None, name: str = "anon") -> Api:
        api = Api(self.url, token, name)
        self.clients.append(api)
        return api

    def party(self, name: str) -> Api:
        return self.client(self.tokens[name], name)

    @property
    def admin(self) -> Api:
        return self.client(ADMIN_TOKEN, "admin")
