"""The event outbox: every party's ordered, resumable stream."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, insert, select, update

from deconflict.store.prepared import Prepared
from deconflict.store.rows import Row
from deconflict.store.schema import event_receipts, events

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

    # -- delivery confirmation (issue 13) --------------------------------------
    def receipt_marks(self, party_id: str) -> tuple[int, int]:
        """(the last event sent to the party's clients, the last one they confirmed)."""
        return self._marks(party_id) or (0, 0)

    def _marks(self, party_id: str) -> tuple[int, int] | None:
        q = select(event_receipts.c.sent_up_to, event_receipts.c.confirmed_up_to).where(
            event_receipts.c.party_id == party_id
        )
        row = self._conn.execute(q).first()
        return (int(row[0]), int(row[1])) if row is not None else None

    def note_sent(self, party_id: str, seq: int) -> None:
        """The party's clients were sent the events up to `seq` (never lowered)."""
        marks = self._marks(party_id)
        if marks is None or seq > marks[0]:
            self._set_marks(party_id, marks is not None, sent_up_to=seq)

    def note_confirmed(self, party_id: str, seq: int, at: str) -> None:
        """The party's client confirmed it has the events up to `seq` (never lowered)."""
        marks = self._marks(party_id)
        if marks is None or seq > marks[1]:
            self._set_marks(party_id, marks is not None, confirmed_up_to=seq, confirmed_at=at)

    def _set_marks(self, party_id: str, exists: bool, **values: Any) -> None:
        if exists:
            self._conn.execute(
                update(event_receipts).where(event_receipts.c.party_id == party_id).values(**values)
            )
            return
        row = {"sent_up_to": 0, "confirmed_up_to": 0, "confirmed_at": None, **values}
        self._conn.execute(insert(event_receipts).values(party_id=party_id, **row))
