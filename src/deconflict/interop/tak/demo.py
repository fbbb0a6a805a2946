"""`deconflict demo --tak-gateway PARTY`: a gateway for one party of the demo, in a thread."""

from __future__ import annotations

import argparse
import asyncio
import logging
import threading
from typing import Any

__all__ = ["add_demo_options", "start_for_demo"]


def add_demo_options(p: Any) -> None:
    p.add_argument(
        "--tak-gateway",
        metavar="PARTY",
        help="also run a TAK gateway for PARTY against the TAK server at --cot-url "
        "(e.g. a local taky: pip install taky && python -m taky.cot)",
    )
    p.add_argument("--cot-url", default="tcp://127.0.0.1:8087", help="the TAK server (tcp://)")


def start_for_demo(args: argparse.Namespace, url: str, tokens: dict[str, str]) -> None:
    """Start the gateway if asked; it shares the party's friendly air tracks (a-f-A)."""
    # Imported here: every `deconflict` command registers the demo's options.
    from deconflict.interop.tak.gateway import Gateway, GatewayConfig  # noqa: PLC0415
    from deconflict.interop.tak.rules import ShareRules  # noqa: PLC0415
    from deconflict.interop.tak.transport import TakEndpoint  # noqa: PLC0415

    party = getattr(args, "tak_gateway", None)
    if not party:
        return
    if party not in tokens:
        print(f"deconflict demo: --tak-gateway {party}: no such party in the scenario", flush=True)
        return
    cfg = GatewayConfig(
        server=url,
        token=tokens[party],
        tak=TakEndpoint(args.cot_url),
        rules=ShareRules(types=("a-f-A",)),
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    thread = threading.Thread(
        target=lambda: asyncio.run(Gateway(cfg).run()), name="tak-gateway", daemon=True
    )
    thread.start()
    print(f"TAK gateway for {party}: {args.cot_url} <-> {url} (sharing a-f-A tracks)", flush=True)
