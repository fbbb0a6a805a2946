"""Hotline messages and their per-recipient receipts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, exists, insert, or_, select, update

from deconflict.store.relay_tables import relay_legs
from deconflict.store.rows import Row, one, rows
from deconflict.store.schema import message_recipients, messages

__all__ = ["MessageRepo"]


class MessageRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def insert(self, row: Row, recipients: Sequence[str]) -> None:
        self._conn.execute(insert(messages).values(**row))
        self._conn.execute(
            insert(message_recipients),
            [{"message_id": row["id"], "party_id": p} for p in recipients],
        )

    def get(self, message_id: str) -> Row | None:
        return one(self._conn.execute(select(messages).where(messages.c.id == message_id)))

    def receipts(self, message_ids: Sequence[str]) -> list[Row]:
        if not message_ids:
            return []
        q = (
            select(message_recipients)
            .where(message_recipients.c.message_id.in_(message_ids))
            .order_by(message_recipients.c.party_id)
        )
        return rows(self._conn.execute(q))

    def find(self, party: str, *, inbound: bool, outbound: bool, limit: int) -> list[Row]:
        conds = []
        if outbound:
            conds.append(messages.c.sender == party)
        if inbound:
            conds.append(
                exists().where(
                    and_(
                        message_recipients.c.message_id == messages.c.id,
                        message_recipients.c.party_id == party,
                    )
                )
            )
            # issue 15: what `party` relays to a party that never connects is in its inbox
            conds.append(
                exists().where(
                    and_(
                        relay_legs.c.notice_id == messages.c.id,
                        relay_legs.c.subject == "message",
                        relay_legs.c.relay == party,
                    )
                )
            )
        if not conds:
            return []
        q = select(messages).where(or_(*conds)).order_by(messages.c.created_at.desc()).limit(limit)
        return rows(self._conn.execute(q))

    def update_receipt(self, message_id: str, party_id: str, **values: Any) -> None:
        self._conn.execute(
            update(message_recipients)
            .where(
                and_(
                    message_recipients.c.message_id == message_id,
                    message_recipients.c.party_id == party_id,
                )
            )
            .values(**values)
        )
