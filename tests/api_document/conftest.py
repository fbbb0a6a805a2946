"""Fixtures of the API document tests: a real hub on a real socket, and its document."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.service.helpers import World


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path)
    try:
        yield w
    finally:
        w.stop()


@pytest.fixture
def doc(world: World) -> dict[str, Any]:
    r = world.client(None).get("/openapi.json")
    assert r.status_code == 200
    document: dict[str, Any] = r.json()
    return document
