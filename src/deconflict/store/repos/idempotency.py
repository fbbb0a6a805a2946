"""The stored answers of idempotent writes (table in `deconflict.store.idempotency_tables`)."""

from __future__ import annotations

from sqlalchemy import Connection, and_, delete, insert, select, tuple_

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

    def prune(self, now: str, limit: int) -> int:
        """Delete the rows expired at `now`, oldest first, at most `limit` of them; how
        many. Bounded: the sweep runs holding the write token, and after a burst of writes
        one unbounded DELETE could hold it for long; the rest goes at the next sweeps."""
        oldest = (
            select(t.c.scope, t.c.key)
            .where(t.c.expires_at <= now)
            .order_by(t.c.expires_at)  # the expiry index gives them in this order
            .limit(limit)
        )
        # a row value IN a subquery: SQLite (3.15+), PostgreSQL and its distributed kin
        # all take it, where DELETE ... LIMIT is SQLite's and MySQL's own
        q = delete(t).where(tuple_(t.c.scope, t.c.key).in_(oldest))
        return int(self._conn.execute(q).rowcount)
