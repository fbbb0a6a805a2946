"""The tactical link: a gateway between a party's TAK network and the hub.

`Gateway` talks to the party's TAK server with pytak (TCP or mutual TLS; CoT
XML or TAK protocol version 1 through takproto) and to the hub only through
its public HTTP API (`HubLink`). `run_gateway` is what ``deconflict
tak-gateway`` runs; `demo` starts one for ``deconflict demo --tak-gateway``.

Names are imported on first use, so that the command line (which registers
the demo's options) does not load pytak for every command.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deconflict.interop.tak.gateway import Gateway, GatewayConfig
    from deconflict.interop.tak.rules import ShareRules
    from deconflict.interop.tak.run import run_gateway
    from deconflict.interop.tak.transport import TakEndpoint

__all__ = ["Gateway", "GatewayConfig", "ShareRules", "TakEndpoint", "run_gateway"]

_WHERE = {
    "Gateway": "gateway",
    "GatewayConfig": "gateway",
    "ShareRules": "rules",
    "TakEndpoint": "transport",
    "run_gateway": "run",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
