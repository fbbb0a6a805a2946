"""Canonical JSON (RFC 8785, JCS): the exact bytes that are hashed and signed.

Two implementations that agree on RFC 8785 produce the same bytes for the same
JSON value, so a party can re-derive what it signed, and a third party what
the hub logged, without our code.

Every state change of the hub is logged, so this runs several times per submitted
notice. The `rfc8785` package is the reference, written in pure Python; for the values
the hub logs (text, integers, floats in everyday ranges) the standard library's C
encoder produces the very same bytes once integral floats are written as integers,
so that is tried first, and anything it could render differently goes to `rfc8785`.
``tests/test_ledger_canonical.py`` holds the two to the same bytes.
"""

from __future__ import annotations

import json
import math
from typing import Any

import rfc8785

__all__ = ["canonical_json"]

# Integral floats below this print their exact integer digits in both ECMAScript and
# Python; above it ECMAScript pads its shortest digits with zeros.
_EXACT_INT = 2.0**53
# Within this range both print a non-integral float positionally with its shortest
# round-trip digits (Python switches to exponents outside [1e-4, 1e16), ECMAScript
# outside (1e-7, 1e21)).
_FIXED_LOW, _FIXED_HIGH = 1e-4, 1e16
# UTF-16 code-unit order (RFC 8785's key order) equals code-point order (Python's)
# unless a key holds a character from U+D800 up.
_SURROGATE_START = "\ud800"

_ENCODER = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
)


class _NeedsReferenceError(Exception):
    """The value holds something only the reference implementation may render."""


def canonical_json(value: Any) -> bytes:
    """RFC 8785 bytes of ``value``; refuses what JSON cannot hold (NaN, Infinity)."""
    try:
        return _ENCODER.encode(_plain(value)).encode("utf-8")
    except (_NeedsReferenceError, UnicodeEncodeError):
        _refuse_non_finite(value)
        return rfc8785.dumps(value)


def _plain(value: Any) -> Any:
    """``value`` with integral floats as ints; raises if the fast path may differ."""
    if isinstance(value, str) or value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if -_EXACT_INT < value < _EXACT_INT:
            return value
        raise _NeedsReferenceError
    if isinstance(value, float):
        magnitude = abs(value)
        if value.is_integer():
            if magnitude < _EXACT_INT:
                return int(value)
            raise _NeedsReferenceError
        if _FIXED_LOW <= magnitude < _FIXED_HIGH:
            return value
        raise _NeedsReferenceError
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str) or (k and max(k) >= _SURROGATE_START):
                raise _NeedsReferenceError
            out[k] = _plain(v)
        return out
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    raise _NeedsReferenceError


def _refuse_non_finite(value: Any) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value} has no JSON representation")
    if isinstance(value, dict):
        for v in value.values():
            _refuse_non_finite(v)
    elif isinstance(value, list | tuple):
        for v in value:
            _refuse_non_finite(v)
