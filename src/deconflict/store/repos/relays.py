"""Relay legs and steps (issue 15), and the verification codes of printed notices.

A leg's `subject` says whether it relays a notice version or a hotline message; notice
and message ids never collide, so the look-ups by id need no filter on it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, insert, select, update

from deconflict.store.relay_tables import paper_codes, relay_legs, relay_steps
from deconflict.store.rows import Row, one, rows
from deconflict.store.schema import parties

__all__ = ["RelayRepo"]


class RelayRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    # -- the directory ---------------------------------------------------------
    def relayed(self) -> list[Row]:
        """Every relayed party (id, reachable_via)."""
        q = select(parties.c.id, parties.c.reachable_via).where(
            parties.c.reachable_via.is_not(None)
        )
        return rows(self._conn.execute(q))

    # -- legs --------------------------------------------------------------------
    def insert_legs(self, found: Sequence[Row]) -> None:
        if found:
            self._conn.execute(insert(relay_legs), list(found))

    def supersede(self, notice_id: str) -> None:
        self._conn.execute(
            update(relay_legs)
            .where(and_(relay_legs.c.notice_id == notice_id, relay_legs.c.superseded == 0))
            .values(superseded=1)
        )

    def update_leg(self, notice_id: str, version: int, recipient: str, **values: Any) -> None:
        self._conn.execute(
            update(relay_legs)
            .where(
                and_(
                    relay_legs.c.notice_id == notice_id,
                    relay_legs.c.version == version,
                    relay_legs.c.recipient == recipient,
                )
            )
            .values(**values)
        )

    def legs_of(self, notice_id: str, version: int | None = None) -> list[Row]:
        q = select(relay_legs).where(relay_legs.c.notice_id == notice_id)
        if version is not None:
            q = q.where(relay_legs.c.version == version)
        return rows(self._conn.execute(q.order_by(relay_legs.c.version, relay_legs.c.recipient)))

    def legs_by_relay(
        self, relay: str, versions: Sequence[tuple[str, int]] | None = None
    ) -> list[Row]:
        """The relay's legs: of these notice versions, or every current one."""
        q = select(relay_legs).where(relay_legs.c.relay == relay)
        if versions is None:
            q = q.where(relay_legs.c.superseded == 0)
            return rows(self._conn.execute(q.order_by(relay_legs.c.created_at)))
        out: list[Row] = []
        for notice_id, version in sorted(set(versions)):
            sub = q.where(
                and_(relay_legs.c.notice_id == notice_id, relay_legs.c.version == version)
            )
            out += rows(self._conn.execute(sub))
        return out

    def message_legs_by_relay(self, relay: str, message_ids: Sequence[str]) -> list[Row]:
        """The relay's legs of these messages (a message has one leg per relayed recipient)."""
        if not message_ids:
            return []
        q = select(relay_legs).where(
            and_(
                relay_legs.c.relay == relay,
                relay_legs.c.subject == "message",
                relay_legs.c.notice_id.in_(sorted(set(message_ids))),
            )
        )
        return rows(self._conn.execute(q.order_by(relay_legs.c.notice_id, relay_legs.c.recipient)))

    def message_legs(self, message_ids: Sequence[str]) -> list[Row]:
        if not message_ids:
            return []
        q = select(relay_legs).where(
            and_(
                relay_legs.c.subject == "message",
                relay_legs.c.notice_id.in_(sorted(set(message_ids))),
            )
        )
        return rows(self._conn.execute(q.order_by(relay_legs.c.notice_id, relay_legs.c.recipient)))

    def forward_due(self, now: str, limit: int = 500) -> list[Row]:
        """Current legs not forwarded by their deadline, not yet escalated."""
        q = (
            select(relay_legs)
            .where(
                and_(
                    relay_legs.c.forward_deadline <= now,
                    relay_legs.c.forwarded_at.is_(None),
                    relay_legs.c.answer.is_(None),
                    relay_legs.c.forward_overdue_at.is_(None),
                    relay_legs.c.superseded == 0,
                )
            )
            .limit(limit)
        )
        return rows(self._conn.execute(q))

    # -- steps -------------------------------------------------------------------
    def insert_step(self, row: Row) -> None:
        self._conn.execute(insert(relay_steps).values(**row))

    def steps_of(self, notice_id: str) -> list[Row]:
        """The steps of a notice's legs, or of a message's (by its id)."""
        q = select(relay_steps).where(relay_steps.c.notice_id == notice_id)
        return rows(self._conn.execute(q.order_by(relay_steps.c.id)))

    def steps_of_many(self, ids: Sequence[str]) -> list[Row]:
        if not ids:
            return []
        q = select(relay_steps).where(relay_steps.c.notice_id.in_(sorted(set(ids))))
        return rows(self._conn.execute(q.order_by(relay_steps.c.id)))

    # -- paper codes -------------------------------------------------------------
    def paper_code(self, code: str) -> Row | None:
        return one(self._conn.execute(select(paper_codes).where(paper_codes.c.code == code)))

    def insert_paper_code(self, row: Row) -> None:
        if self.paper_code(row["code"]) is None:
            self._conn.execute(insert(paper_codes).values(**row))
