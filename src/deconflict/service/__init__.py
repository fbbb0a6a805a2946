"""Use cases of the hub: notify, amend, cancel, acknowledge, deliver, escalate, message.

This package owns every business rule and every transaction; the HTTP API and
the command line only translate to and from it, through `Hub` and these names.
"""

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
