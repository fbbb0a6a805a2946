"""Whole-table reads for the start-up cross-check of the tables against the log."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select

from deconflict.store.rows import Row, rows
from deconflict.store.schema import conflicts, messages

__all__ = ["CrossCheckRepo"]


class CrossCheckRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def messages(self, batch: int = 5000) -> Iterable[list[Row]]:
        """Every hotline message, by id, in batches."""
        after = ""
        while True:
            q = select(messages).where(messages.c.id > after).order_by(messages.c.id).limit(batch)
            found = rows(self._conn.execute(q))
            if not found:
                return
            yield found
            after = str(found[-1]["id"])

    def conflicts(self, batch: int = 5000) -> Iterable[list[Row]]:
        """Every conflict, by id, in batches."""
        after = ""
        while True:
            q = select(conflicts).where(conflicts.c.id > after).order_by(conflicts.c.id)
            found = rows(self._conn.execute(q.limit(batch)))
            if not found:
                return
            yield found
            after = str(found[-1]["id"])
