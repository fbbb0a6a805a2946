"""Canonical JSON (RFC 8785, JCS): the exact bytes that are hashed and signed.

Two implementations that agree on RFC 8785 produce the same bytes for the same
JSON value, so a party can re-derive what it signed, and a third party what
the hub logged, without our code.
"""

from __future__ import annotations

import math
from typing import Any

import rfc8785

__all__ = ["canonical_json"]


def canonical_json(value: Any) -> bytes:
    """RFC 8785 bytes of ``value``; refuses what JSON cannot hold (NaN, Infinity)."""
    _refuse_non_finite(value)
    return rfc8785.dumps(value)


def _refuse_non_finite(value: Any) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value} has no JSON representation")
    if isinstance(value, dict):
        for v in value.values():
            _refuse_non_finite(v)
    elif isinstance(value, list | tuple):
        for v in value:
            _refuse_non_finite(v)
