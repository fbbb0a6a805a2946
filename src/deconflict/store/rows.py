"""Rows as the store hands them out: plain dicts, keyed by column name."""

from __future__ import annotations

from typing import Any

__all__ = ["Row", "one", "rows"]

Row = dict[str, Any]


def rows(result: Any) -> list[Row]:
    keys = list(result.keys())
    return [dict(zip(keys, r, strict=True)) for r in result]


def one(result: Any) -> Row | None:
    keys = list(result.keys())
    r = result.first()
    return None if r is None else dict(zip(keys, r, strict=True))
