"""Use cases of the hub: notify, amend, cancel, acknowledge, deliver, escalate, message.

This package owns every business rule and every transaction; the HTTP API and
the command line only translate to and from it.
"""

from deconflict.service.auth import Principal
from deconflict.service.errors import (
    Forbidden,
    Invalid,
    NotFound,
    QuotaExceeded,
    RateLimited,
    ServiceError,
    StaleVersion,
    StateConflict,
    Unauthorized,
)
from deconflict.service.hub import Hub

__all__ = [
    "Forbidden",
    "Hub",
    "Invalid",
    "NotFound",
    "Principal",
    "QuotaExceeded",
    "RateLimited",
    "ServiceError",
    "StaleVersion",
    "StateConflict",
    "Unauthorized",
]
