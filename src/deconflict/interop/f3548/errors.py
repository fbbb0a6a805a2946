"""What the DSS interface answers when it refuses a request (F3548 `ErrorResponse`)."""

from __future__ import annotations

from typing import Any

__all__ = ["DssError"]


class DssError(Exception):
    """A refusal with its HTTP status; ``body`` adds fields to the `ErrorResponse`."""

    def __init__(self, status: int, message: str, **body: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.body = body
