"""The coordinate-read audit: who saw which version of a notice, when, and how."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, insert, select

from deconflict.store.prepared import Prepared
from deconflict.store.rows import Row, rows
from deconflict.store.schema import coordinate_reads

__all__ = ["ReadRepo"]

_INSERT_READS = Prepared(insert(coordinate_reads))


class ReadRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def record(self, found: Sequence[Row]) -> None:
        if found:
            _INSERT_READS.executemany(self._conn, found)

    def of_notice(self, notice_id: str, limit: int = 1000) -> list[Row]:
        q = (
            select(coordinate_reads)
            .where(coordinate_reads.c.notice_id == notice_id)
            .order_by(coordinate_reads.c.id)
            .limit(limit)
        )
        return rows(self._conn.execute(q))
