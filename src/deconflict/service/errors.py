"""Errors of the service layer: what went wrong, in words a party can act on.

They carry a title and a stable slug (RFC 9457 problem details need both), and for
invalid input the path of each bad field; which HTTP status each one is belongs to the
API (`deconflict.api.problems.STATUS`).
"""

# The classes are named after what happened, not "...Error".
# ruff: noqa: N818

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "FieldProblem",
    "Forbidden",
    "IdempotencyKeyInvalid",
    "IdempotencyKeyReused",
    "Invalid",
    "NotFound",
    "QuotaExceeded",
    "RateLimited",
    "ServiceError",
    "StaleVersion",
    "StateConflict",
    "Unauthorized",
]

FieldProblem = tuple[str, str]  # (JSON path in the request document, message)


class ServiceError(Exception):
    title = "Bad request"
    slug = "bad-request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    @property
    def type_uri(self) -> str:
        return f"urn:deconflict:problem:{self.slug}"


class Unauthorized(ServiceError):
    title = "Unauthorized"
    slug = "unauthorized"


class Forbidden(ServiceError):
    title = "Forbidden"
    slug = "forbidden"


class NotFound(ServiceError):
    title = "Not found"
    slug = "not-found"


class StateConflict(ServiceError):
    title = "Conflict with the current state"
    slug = "state-conflict"


class StaleVersion(StateConflict):
    title = "Stale version"
    slug = "stale-version"

    def __init__(self, detail: str, *, current_version: int) -> None:
        super().__init__(detail, current_version=current_version)
        self.current_version = current_version


class QuotaExceeded(StateConflict):
    title = "Quota exceeded"
    slug = "quota-exceeded"


class Invalid(ServiceError):
    title = "Invalid document"
    slug = "invalid"

    def __init__(
        self, errors: Sequence[FieldProblem], detail: str | None = None, *, location: str = "body"
    ) -> None:
        self.errors = list(errors)
        self.location = location  # where the paths point: the body, a header, the query
        super().__init__(detail or f"{len(self.errors)} invalid field(s); nothing was stored")


class IdempotencyKeyInvalid(Invalid):
    """A malformed ``Idempotency-Key`` header (answered 400, as the IETF draft has it)."""

    title = "Invalid Idempotency-Key"
    slug = "invalid-idempotency-key"

    def __init__(self, errors: Sequence[FieldProblem], detail: str | None = None) -> None:
        super().__init__(errors, detail, location="header")


class IdempotencyKeyReused(ServiceError):
    """An ``Idempotency-Key`` already used for another request (422, as in the draft)."""

    title = "Idempotency-Key reused"
    slug = "idempotency-key-reused"


class RateLimited(ServiceError):
    title = "Too many requests"
    slug = "rate-limited"

    def __init__(self, detail: str, *, retry_after_s: float) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s
