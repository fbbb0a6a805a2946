"""Identifiers of what the hub stores: time-ordered, unguessable, never reused.

``n-0194b5c3a1f2`` + 16 random hex digits: the first 12 digits are the milliseconds
since 1970, so identifiers made one after the other sort one after the other (as
UUIDv7 and ULID do). SQLite keeps tables and indexes as B-trees keyed by them: with
random identifiers every insert lands on a random page of each, and a commit of a few
changes rewrites dozens of scattered pages; with time-ordered ones the changes of a
batch share the right-most pages. The 64 random bits keep them unguessable and unique.
"""

from __future__ import annotations

import secrets
import time

__all__ = ["new_id"]


def new_id(prefix: str) -> str:
    """A fresh identifier: ``prefix``, a dash, 12 hex digits of time, 16 random."""
    return f"{prefix}-{time.time_ns() // 1_000_000:012x}{secrets.token_hex(8)}"
