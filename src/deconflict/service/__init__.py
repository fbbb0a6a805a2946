"""Use cases of the hub: notify, amend, cancel, acknowledge, deliver, escalate, message.

This package owns every business rule and every transaction; the HTTP API and
the command line only translate to and from it, through `Hub` and these names.

The names are loaded when first used (PEP 562): a process that needs one part only,
such as a volume parser worker (`service.parsers`, spawned: it imports its module
afresh), does not import the whole hub with it (FastAPI's models, the tactical kernels,
the PDF library): 0.3 s and 60 MB instead of ~2 s and 220 MB, which on a VM where each
fresh page of memory costs tens of microseconds is most of a worker's start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deconflict.service.auth import Principal
    from deconflict.service.errors import (
        Forbidden,
        IdempotencyKeyInvalid,
        IdempotencyKeyReused,
        Invalid,
        NotFound,
        QuotaExceeded,
        RateLimited,
        ServiceError,
        StaleVersion,
        StateConflict,
        Unauthorized,
    )
    from deconflict.service.event_types import EVENT_TYPES, EventType
    from deconflict.service.hub import Hub
    from deconflict.service.idempotency import HEADER as IDEMPOTENCY_KEY
    from deconflict.service.idempotency import Once
    from deconflict.service.preflight import check_store
    from deconflict.service.stream import Page
    from deconflict.service.tactical import Tactical
    from deconflict.store import StoreDamaged, StoreUnavailable

# name -> (module, name there): what `__getattr__` imports on first use
_WHERE = {
    "EVENT_TYPES": ("deconflict.service.event_types", "EVENT_TYPES"),
    "EventType": ("deconflict.service.event_types", "EventType"),
    "Forbidden": ("deconflict.service.errors", "Forbidden"),
    "Hub": ("deconflict.service.hub", "Hub"),
    "IDEMPOTENCY_KEY": ("deconflict.service.idempotency", "HEADER"),
    "IdempotencyKeyInvalid": ("deconflict.service.errors", "IdempotencyKeyInvalid"),
    "IdempotencyKeyReused": ("deconflict.service.errors", "IdempotencyKeyReused"),
    "Invalid": ("deconflict.service.errors", "Invalid"),
    "NotFound": ("deconflict.service.errors", "NotFound"),
    "Once": ("deconflict.service.idempotency", "Once"),
    "Page": ("deconflict.service.stream", "Page"),
    "Principal": ("deconflict.service.auth", "Principal"),
    "QuotaExceeded": ("deconflict.service.errors", "QuotaExceeded"),
    "RateLimited": ("deconflict.service.errors", "RateLimited"),
    "ServiceError": ("deconflict.service.errors", "ServiceError"),
    "StaleVersion": ("deconflict.service.errors", "StaleVersion"),
    "StateConflict": ("deconflict.service.errors", "StateConflict"),
    "StoreDamaged": ("deconflict.store", "StoreDamaged"),
    "StoreUnavailable": ("deconflict.store", "StoreUnavailable"),
    "Tactical": ("deconflict.service.tactical", "Tactical"),
    "Unauthorized": ("deconflict.service.errors", "Unauthorized"),
    "check_store": ("deconflict.service.preflight", "check_store"),
}


__all__ = [
    "EVENT_TYPES",
    "IDEMPOTENCY_KEY",
    "EventType",
    "Forbidden",
    "Hub",
    "IdempotencyKeyInvalid",
    "IdempotencyKeyReused",
    "Invalid",
    "NotFound",
    "Once",
    "Page",
    "Principal",
    "QuotaExceeded",
    "RateLimited",
    "ServiceError",
    "StaleVersion",
    "StateConflict",
    "StoreDamaged",
    "StoreUnavailable",
    "Tactical",
    "Unauthorized",
    "check_store",
]


def __getattr__(name: str) -> Any:
    try:
        module, attr = _WHERE[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value  # later lookups do not come here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
