"""Fixtures of the service tests: a real hub on a real socket, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.service.helpers import World


@pytest.fixture
def world(tmp_path: Path, backend: dict[str, Any]) -> Iterator[World]:
    w = World(tmp_path, **backend)
    try:
        yield w
    finally:
        w.stop()
