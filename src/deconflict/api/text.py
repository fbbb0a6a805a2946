"""Text a hub cannot store: lone UTF-16 surrogates in a JSON document.

JSON lets a client escape half of a surrogate pair (`"\\ud800"`); Python decodes it into
a string that has no UTF-8 encoding, so SQLite, the ledger's canonical JSON and the
response encoder would all fail on it later. It is refused at the door instead, with the
path of the field that holds it, before any route sees the document.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["MESSAGE", "body_surrogates", "lone_surrogates", "may_hold_surrogates"]

FieldProblem = tuple[str, str]  # (path, message), as in problem details' `errors`

MESSAGE = "holds a lone UTF-16 surrogate (half of a pair), which is not text: send valid Unicode"
_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_MAX_REPORTED = 20


def may_hold_surrogates(raw: bytes) -> bool:
    """Cheap test of a raw body: only an escape can carry a surrogate into valid UTF-8."""
    return _ESCAPE.search(raw) is not None


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def lone_surrogates(doc: Any, prefix: str = "body") -> list[FieldProblem]:
    """The path of every string (or key) of `doc` holding a lone surrogate (at most 20)."""
    found: list[FieldProblem] = []
    stack: list[tuple[str, Any]] = [(prefix, doc)]
    while stack and len(found) < _MAX_REPORTED:
        path, value = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                found.append((path, MESSAGE))
        elif isinstance(value, dict):
            for key, item in reversed(list(value.items())):
                if _SURROGATE.search(key):
                    found.append((path, "a key " + MESSAGE))
                    continue
                stack.append((_join(path, key), item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in reversed(list(enumerate(value))))
    return found


def body_surrogates(raw: bytes) -> list[FieldProblem]:
    """`lone_surrogates` of a raw JSON body; nothing when it is not JSON (the route says so)."""
    if not may_hold_surrogates(raw):
        return []
    try:
        doc = json.loads(raw)
    except ValueError:
        return []
    return lone_surrogates(doc)
