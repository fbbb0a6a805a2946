"""Units and their deliveries: one row per unit, one per (notice version, unit)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, insert, select, update

from deconflict.store.rows import Row, one, rows
from deconflict.store.schema import events, notices
from deconflict.store.unit_tables import unit_deliveries, units

__all__ = ["UnitRepo"]

d = unit_deliveries


class UnitRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    # -- units -----------------------------------------------------------------
    def insert(self, row: Row) -> None:
        self._conn.execute(insert(units).values(**row))

    def get(self, unit_id: str) -> Row | None:
        return one(self._conn.execute(select(units).where(units.c.id == unit_id)))

    def all(self) -> list[Row]:
        return rows(self._conn.execute(select(units).order_by(units.c.id)))

    def of_party(self, party_id: str) -> list[Row]:
        q = select(units).where(units.c.party_id == party_id).order_by(units.c.id)
        return rows(self._conn.execute(q))

    def update(self, unit_id: str, **values: Any) -> None:
        self._conn.execute(update(units).where(units.c.id == unit_id).values(**values))

    # -- deliveries ------------------------------------------------------------
    def insert_deliveries(self, found: Sequence[Row]) -> None:
        if found:
            self._conn.execute(insert(d), list(found))

    def delivery(self, notice_id: str, version: int, unit_id: str) -> Row | None:
        q = select(d).where(
            and_(d.c.notice_id == notice_id, d.c.version == version, d.c.unit_id == unit_id)
        )
        return one(self._conn.execute(q))

    def update_delivery(self, notice_id: str, version: int, unit_id: str, **values: Any) -> None:
        self._conn.execute(
            update(d)
            .where(and_(d.c.notice_id == notice_id, d.c.version == version, d.c.unit_id == unit_id))
            .values(**values)
        )

    def current_of_notice(self, notice_id: str, party_id: str | None = None) -> list[Row]:
        """The current (not superseded) deliveries of a notice, to one party's units."""
        q = select(d).where(and_(d.c.notice_id == notice_id, d.c.superseded == 0))
        if party_id is not None:
            q = q.where(d.c.party_id == party_id)
        return rows(self._conn.execute(q.order_by(d.c.unit_id)))

    def of_notice(self, notice_id: str, party_id: str) -> list[Row]:
        """Every delivery of a notice to a party's units, every version."""
        q = (
            select(d)
            .where(and_(d.c.notice_id == notice_id, d.c.party_id == party_id))
            .order_by(d.c.version, d.c.unit_id)
        )
        return rows(self._conn.execute(q))

    def current_of_unit(self, unit_id: str) -> list[Row]:
        q = (
            select(d)
            .where(and_(d.c.unit_id == unit_id, d.c.superseded == 0))
            .order_by(d.c.routed_at, d.c.notice_id)
        )
        return rows(self._conn.execute(q))

    def find(
        self, party_id: str, *, states: Sequence[str] | None = None, limit: int = 500
    ) -> list[Row]:
        q = select(d).where(and_(d.c.party_id == party_id, d.c.superseded == 0))
        if states:
            q = q.where(d.c.state.in_(states))
        q = q.order_by(d.c.routed_at.desc(), d.c.notice_id, d.c.unit_id).limit(limit)
        return rows(self._conn.execute(q))

    def supersede(self, notice_id: str, party_id: str | None = None) -> None:
        cond = and_(d.c.notice_id == notice_id, d.c.superseded == 0)
        if party_id is not None:
            cond = and_(cond, d.c.party_id == party_id)
        self._conn.execute(update(d).where(cond).values(superseded=1))

    def supersede_unit(self, unit_id: str) -> None:
        self._conn.execute(
            update(d).where(and_(d.c.unit_id == unit_id, d.c.superseded == 0)).values(superseded=1)
        )

    def due(self, now: str, limit: int = 500) -> list[Row]:
        """Pending current deliveries of active notices whose activity has started."""
        q = (
            select(d)
            .join(notices, notices.c.id == d.c.notice_id)
            .where(
                and_(
                    d.c.state == "pending",
                    d.c.superseded == 0,
                    d.c.missed_at.is_(None),
                    d.c.starts_at <= now,
                    notices.c.state == "active",
                    notices.c.current_version == d.c.version,
                )
            )
            .order_by(d.c.notice_id, d.c.unit_id)
            .limit(limit)
        )
        return rows(self._conn.execute(q))

    def routed_events(self, unit_id: str, after: int, through: int) -> list[Row]:
        """The unit's outbox rows in (after, through]: what a confirmation covers."""
        q = (
            select(events.c.seq, events.c.type, events.c.data)
            .where(
                and_(events.c.party_id == unit_id, events.c.seq > after, events.c.seq <= through)
            )
            .order_by(events.c.seq)
        )
        return rows(self._conn.execute(q))
