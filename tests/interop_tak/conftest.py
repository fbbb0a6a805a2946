"""Fixtures: a real hub (HTTP on loopback), taky as the party's TAK server, a gateway."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from deconflict.interop.tak import Gateway, GatewayConfig, ShareRules, TakEndpoint
from tests.interop_tak.taky_server import Taky
from tests.service.helpers import World
from tests.tactical_service.conftest import tactical_world


@pytest.fixture(autouse=True)
def _sockets_closed_by_the_test_that_opened_them() -> Iterator[None]:
    # A stream left open is reported (as an error: warnings are errors) when the garbage
    # collector finds it, which may be in a later test. Collecting here blames the test
    # that leaked it.
    yield
    gc.collect()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = tactical_world(tmp_path)
    try:
        yield w
    finally:
        w.stop()


@pytest.fixture
def taky(tmp_path: Path) -> Iterator[Taky]:
    t = Taky(tmp_path / "taky").start()
    try:
        yield t
    finally:
        t.stop()


def gateway_config(world: World, party: str, endpoint: TakEndpoint, **kw: Any) -> GatewayConfig:
    values: dict[str, Any] = {
        "rules": ShareRules(uids=frozenset({"ANDROID-viper11"})),
        "flush_interval_s": 0.05,
        "backoff_max_s": 1.0,
        "status_interval_s": 0.5,
    }
    values.update(kw)
    return GatewayConfig(server=world.url, token=world.tokens[party], tak=endpoint, **values)


@contextlib.asynccontextmanager
async def running(cfg: GatewayConfig) -> AsyncIterator[Gateway]:
    gw = Gateway(cfg)
    stop = asyncio.Event()
    task = asyncio.create_task(gw.run(stop))
    try:
        deadline = asyncio.get_running_loop().time() + 10
        while not (gw.tak_up and gw.hub_up and gw.party):
            if task.done():
                task.result()
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"gateway did not come up: {gw.status_line()}")
            await asyncio.sleep(0.05)
        yield gw
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


@pytest.fixture(autouse=True)
def _gateway_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="deconflict.tak")
