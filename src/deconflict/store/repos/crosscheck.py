"""Whole-table reads for the start-up cross-check of the tables against the log."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, func, select

from deconflict.store.ledger_tables import ledger_entries
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

    def count_conflicts(self) -> int:
        return int(self._conn.execute(select(func.count()).select_from(conflicts)).scalar_one())

    def entries(
        self, end: int, types: Sequence[str], *, of: bool, batch: int = 5000
    ) -> Iterable[list[tuple[int, str, bytes]]]:
        """(index, type column, entry) of every log entry below `end` whose `type` column
        is (`of`) or is not one of `types`, by index, in batches. The column is the
        operator's to change: the caller holds it to the entry's own type."""
        t = ledger_entries.c.type
        wanted = t.in_(list(types)) if of else t.not_in(list(types))
        after = -1
        while True:
            q = (
                select(ledger_entries.c.idx, t, ledger_entries.c.entry)
                .where(ledger_entries.c.idx > after, ledger_entries.c.idx < end, wanted)
                .order_by(ledger_entries.c.idx)
                .limit(batch)
            )
            found = [(int(i), str(k), bytes(e)) for i, k, e in self._conn.execute(q)]
            if not found:
                return
            yield found
            after = found[-1][0]
