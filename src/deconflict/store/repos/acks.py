"""Acknowledgements: one row per (notice version, addressee)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, bindparam, insert, select, update

from deconflict.store.prepared import Prepared
from deconflict.store.rows import Row, one, rows
from deconflict.store.schema import ACK_OPEN, acks

__all__ = ["AckRepo"]

_INSERT_ACKS = Prepared(insert(acks))
_ACKS_OF_NOTICE = Prepared(select(acks).where(acks.c.notice_id == bindparam("notice_id")))
_ACK_DELIVERED = Prepared(
    update(acks)
    .where(
        and_(
            acks.c.notice_id == bindparam("b_notice_id"),
            acks.c.version == bindparam("b_version"),
            acks.c.addressee == bindparam("b_addressee"),
        )
    )
    .values(state="delivered", delivered_at=bindparam("b_delivered_at"))
)


class AckRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def insert(self, found: Sequence[Row]) -> None:
        if found:
            _INSERT_ACKS.executemany(self._conn, found)

    def by_key(self, keys: Sequence[tuple[str, int, str]]) -> list[Row]:
        """The acks with these (notice id, version, addressee) keys.

        Looked up by notice id (the primary key's prefix: a few rows per notice) and
        filtered here; SQLite would scan the whole table for a row-value IN, and every
        ack of the addressee through its index for `addressee = ? AND notice_id IN`.
        """
        if not keys:
            return []
        wanted = set(keys)
        return [
            a
            for notice_id in sorted({k[0] for k in wanted})
            for a in _ACKS_OF_NOTICE.rows(self._conn, {"notice_id": notice_id})
            if (a["notice_id"], a["version"], a["addressee"]) in wanted
        ]

    def mark_delivered(self, keys: Sequence[tuple[str, int, str]], at: str) -> None:
        """Set (notice id, version, addressee) acks to `delivered` at `at`."""
        if keys:
            _ACK_DELIVERED.executemany(
                self._conn,
                [
                    {"b_notice_id": n, "b_version": v, "b_addressee": a, "b_delivered_at": at}
                    for n, v, a in keys
                ],
            )

    def supersede(self, notice_id: str) -> None:
        self._conn.execute(
            update(acks)
            .where(and_(acks.c.notice_id == notice_id, acks.c.superseded == 0))
            .values(superseded=1)
        )

    def get(self, notice_id: str, version: int, addressee: str) -> Row | None:
        q = select(acks).where(
            and_(
                acks.c.notice_id == notice_id,
                acks.c.version == version,
                acks.c.addressee == addressee,
            )
        )
        return one(self._conn.execute(q))

    def update(self, notice_id: str, version: int, addressee: str, **values: Any) -> None:
        self._conn.execute(
            update(acks)
            .where(
                and_(
                    acks.c.notice_id == notice_id,
                    acks.c.version == version,
                    acks.c.addressee == addressee,
                )
            )
            .values(**values)
        )

    def of_version(self, notice_id: str, version: int) -> list[Row]:
        q = (
            select(acks)
            .where(and_(acks.c.notice_id == notice_id, acks.c.version == version))
            .order_by(acks.c.addressee)
        )
        return rows(self._conn.execute(q))

    def find(
        self,
        *,
        addressee: str | None = None,
        issuer: str | None = None,
        states: Sequence[str] | None = None,
        include_superseded: bool = False,
        limit: int = 500,
    ) -> list[Row]:
        q = select(acks)
        if addressee is not None:
            q = q.where(acks.c.addressee == addressee)
        if issuer is not None:
            q = q.where(acks.c.issuer == issuer)
        if states:
            q = q.where(acks.c.state.in_(states))
        if not include_superseded:
            q = q.where(acks.c.superseded == 0)
        q = q.order_by(acks.c.created_at.desc(), acks.c.notice_id, acks.c.addressee).limit(limit)
        return rows(self._conn.execute(q))

    def due(self, now: str, limit: int = 500) -> list[Row]:
        # The condition of the partial index `ix_acks_open_deadline`, word for word (so
        # that the planner may use it), and the deadline that has passed.
        q = select(acks).where(and_(ACK_OPEN, acks.c.deadline <= now)).limit(limit)
        return rows(self._conn.execute(q))
