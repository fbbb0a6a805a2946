"""`idempotency_keys`: the answers of writes sent under an ``Idempotency-Key`` header.

One row per (scope, key): the party or unit that sent it, the key it chose, a hash of
the request (operation, target and body), and the answer the hub gave. It is written in
the same transaction as the write it answers, so a retry, on any process of the hub,
finds either both or neither. Rows expire (`expires_at`) and the leader's sweep deletes
them (`deconflict.service.idempotency`).
"""

from __future__ import annotations

from sqlalchemy import Column, Index, PrimaryKeyConstraint, String, Table, Text

from deconflict.store.schema import TS, metadata

__all__ = ["idempotency_keys"]

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(64), nullable=False),  # a party id, or a unit's `party/name`
    Column("key", String(255), nullable=False),
    Column("operation", String(32), nullable=False),
    Column("fingerprint", String(64), nullable=False),  # SHA-256 (hex) of the request
    Column("response", Text, nullable=False),  # the answer's JSON document
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
    PrimaryKeyConstraint("scope", "key"),
    Index("ix_idempotency_keys_expires_at", "expires_at"),
)
