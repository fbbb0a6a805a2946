"""Validation errors that name the offending field.

A planner who submits a 400-vertex polygon needs to know *which* vertex is
wrong, so every error carries a JSON path such as
``volumes[0].geometry.coordinates[0][12]``. Validation collects all errors of a
document rather than stopping at the first, so one round trip fixes them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

__all__ = ["ErrorCollector", "FieldError", "GeoValidationError", "join_path"]


class FieldError(NamedTuple):
    path: str
    message: str


class GeoValidationError(ValueError):
    """Raised with every problem found in a document; nothing was accepted."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.path or '<root>'}: {e.message}" for e in self.errors))


def join_path(base: str, part: str | int) -> str:
    if isinstance(part, int):
        return f"{base}[{part}]"
    return f"{base}.{part}" if base else part


@dataclass
class ErrorCollector:
    errors: list[FieldError] = field(default_factory=list)

    def add(self, path: str, message: str) -> None:
        self.errors.append(FieldError(path, message))

    def raise_if_any(self) -> None:
        if self.errors:
            raise GeoValidationError(self.errors)

    def __bool__(self) -> bool:
        return bool(self.errors)
