"""The stored answers of idempotent writes (table in `deconflict.store.idempotency_tables`)."""

from __future__ import annotations

from sqlalchemy import Connection, and_, delete, insert, select

from deconflict.store.idempotency_tables import idempotency_keys as t
from deconflict.store.rows import Row, one

__all__ = ["IdempotencyRepo"]


class IdempotencyRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, scope: str, key: str) -> Row | None:
        """The row of `key` in `scope`, expired or not (the caller judges)."""
        q = select(t).where(and_(t.c.scope == scope, t.c.key == key))
        return one(self._conn.execute(q))

    def insert(self, row: Row) -> None:
        self._conn.execute(insert(t), [row])

    def delete(self, scope: str, key: str) -> None:
        self._conn.execute(delete(t).where(and_(t.c.scope == scope, t.c.key == key)))

    def prune(self, now: str) -> int:
        """Delete every row expired at `now`; how many."""
        return int(self._conn.execute(delete(t).where(t.c.expires_at <= now)).rowcount)
