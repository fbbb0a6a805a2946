"""Conflicts between notices of different issuers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, bindparam, insert, or_, select, update

from deconflict.store.prepared import Prepared
from deconflict.store.rows import Row, one, rows
from deconflict.store.schema import conflicts

__all__ = ["ConflictRepo"]

_INSERT_CONFLICT = Prepared(insert(conflicts))
# the columns to set are the parameters given besides ``b_id`` (compiled once per set)
_UPDATE_CONFLICT = Prepared(update(conflicts).where(conflicts.c.id == bindparam("b_id")))


class ConflictRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def insert(self, row: Row) -> None:
        _INSERT_CONFLICT.execute(self._conn, row)

    def update(self, conflict_id: str, **values: Any) -> None:
        _UPDATE_CONFLICT.execute(self._conn, {"b_id": conflict_id, **values})

    def get(self, conflict_id: str) -> Row | None:
        return one(self._conn.execute(select(conflicts).where(conflicts.c.id == conflict_id)))

    def open_of(self, notice_id: str) -> list[Row]:
        q = select(conflicts).where(
            and_(
                conflicts.c.state == "open",
                or_(conflicts.c.notice_a == notice_id, conflicts.c.notice_b == notice_id),
            )
        )
        return rows(self._conn.execute(q))

    def find(
        self,
        *,
        party: str | None,
        states: Sequence[str] | None,
        notice_id: str | None = None,
        limit: int = 500,
    ) -> list[Row]:
        q = select(conflicts)
        if party is not None:
            q = q.where(or_(conflicts.c.issuer_a == party, conflicts.c.issuer_b == party))
        if states:
            q = q.where(conflicts.c.state.in_(states))
        if notice_id is not None:
            q = q.where(or_(conflicts.c.notice_a == notice_id, conflicts.c.notice_b == notice_id))
        q = q.order_by(conflicts.c.opened_at.desc(), conflicts.c.id).limit(limit)
        return rows(self._conn.execute(q))
