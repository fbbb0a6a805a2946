"""The event outbox: every party's ordered, resumable stream."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, insert, select

from deconflict.store.prepared import Prepared
from deconflict.store.rows import Row
from deconflict.store.schema import events

__all__ = ["EventRepo"]

_INSERT_EVENTS = Prepared(insert(events))
_EVENTS_AFTER = Prepared(
    select(events)
    .where(and_(events.c.party_id == bindparam("party_id"), events.c.seq > bindparam("after")))
    .order_by(events.c.seq)
    .limit(bindparam("limit"))
)


class EventRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def append_many(self, found: Sequence[Row]) -> None:
        """Outbox rows (`party_id`, `type`, `created_at`, `data` as JSON text), in order."""
        if found:
            _INSERT_EVENTS.executemany(self._conn, found)

    def append(self, party_id: str, type_: str, data: Any, now: str) -> int:
        result = self._conn.execute(
            insert(events).values(
                party_id=party_id, type=type_, created_at=now, data=json.dumps(data)
            )
        )
        pk = result.inserted_primary_key
        if pk is None:  # pragma: no cover - every backend returns the generated key
            raise RuntimeError("the store returned no event sequence number")
        return int(pk[0])

    def after(self, party_id: str, after: int, limit: int = 200) -> list[Row]:
        # every live stream runs this on each wake-up
        return _EVENTS_AFTER.rows(
            self._conn, {"party_id": party_id, "after": after, "limit": limit}
        )

    def last_seq_of(self, party_id: str) -> int:
        """The id of the party's last event (0: none)."""
        q = select(func.coalesce(func.max(events.c.seq), 0)).where(events.c.party_id == party_id)
        return int(self._conn.execute(q).scalar_one())

    def last_seq(self) -> int:
        return int(
            self._conn.execute(select(func.coalesce(func.max(events.c.seq), 0))).scalar_one()
        )
