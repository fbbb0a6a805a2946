"""Fixtures of the tactical service tests: a real hub with a fast screening loop."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.service.helpers import World

FAST: dict[str, Any] = {
    "screen_interval_s": 0.1,
    "clear_cycles": 3,
    "update_interval_s": 0.5,
    "escalate_after_s": 3600.0,
}


def tactical_world(tmp: Path, **tactical: Any) -> World:
    return World(tmp, tactical={**FAST, **tactical})


@pytest.fixture
def tworld(tmp_path: Path) -> Iterator[World]:
    w = tactical_world(tmp_path)
    try:
        yield w
    finally:
        w.stop()
