"""The tactical link: a gateway between a party's TAK network and the hub.

`Gateway` talks to the party's TAK server with pytak (TCP or mutual TLS; CoT
XML or TAK protocol version 1 through takproto) and to the hub only through
its public HTTP API (`HubLink`). `run_gateway` is what ``deconflict
tak-gateway`` and ``deconflict demo --tak-gateway`` run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from deconflict.interop.tak.gateway import Gateway, GatewayConfig
from deconflict.interop.tak.rules import ShareRules
from deconflict.interop.tak.transport import TakEndpoint

__all__ = ["Gateway", "GatewayConfig", "ShareRules", "TakEndpoint", "run_gateway"]


async def _serve(cfg: GatewayConfig, stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    await Gateway(cfg).run(stop)


def run_gateway(cfg: GatewayConfig) -> None:
    """Run until SIGINT / SIGTERM (blocking)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    stop = asyncio.Event()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(cfg, stop))
