"""Run a gateway in the foreground until SIGINT or SIGTERM (``deconflict tak-gateway``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from deconflict.interop.tak.gateway import Gateway, GatewayConfig

__all__ = ["run_gateway"]


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
