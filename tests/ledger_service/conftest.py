"""Fixtures of the ledger service tests: a real hub on a real socket, SQLite and PostgreSQL."""

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
