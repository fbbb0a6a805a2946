"""Fixtures shared by the geometry and strategic tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.postgres import PostgresServer

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def volume_doc(
    geometry: dict[str, Any],
    *,
    radius_m: float | None = None,
    lower: tuple[float, str, str] = (0, "M", "W84"),
    upper: tuple[float, str, str] = (1000, "M", "W84"),
    start: str = "2015-09-30T06:00:00Z",
    end: str = "2015-09-30T09:00:00Z",
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "geometry": geometry,
        "altitude_lower": {"value": lower[0], "units": lower[1], "reference": lower[2]},
        "altitude_upper": {"value": upper[0], "units": upper[1], "reference": upper[2]},
        "time_start": start,
        "time_end": end,
    }
    if radius_m is not None:
        doc["radius_m"] = radius_m
    return doc


def box(lon0: float, lat0: float, lon1: float, lat1: float) -> dict[str, Any]:
    return {
        "type": "Polygon",
        "coordinates": [[[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]],
    }


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data not found: shared test data lives beside the repository in CI")
    return SHARED_DATA


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    try:
        with PostgresServer.start() as server:
            yield server
    except LookupError as exc:
        pytest.skip(f"PostgreSQL variant skipped: {exc}")


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Settings that put a test hub on SQLite (a file in its tmp_path) or PostgreSQL."""
    if request.param == "sqlite":
        yield {}
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    with server.database() as dsn:
        yield {"db_url": dsn, "hub_key_file": tmp_path / "hub-key.pem"}
