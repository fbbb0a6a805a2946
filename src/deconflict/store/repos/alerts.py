"""Tactical alerts and their per-party acknowledgements (tracks stay in memory).

An alert row is written when the alert is raised, updated, acknowledged,
escalated and cleared, always inside the hub's write path, in the same
transaction as the events that announce it. ``detail`` holds the hub's full
view (both sides); parties only ever get their own view of it.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update

from deconflict.store.prepared import UpdateMany
from deconflict.store.rows import Row
from deconflict.store.tactical_tables import alert_acks, alerts

__all__ = ["AlertRepo"]

# The columns an update of an alert's state sets (`AlertRepo.update_many`).
_UPDATED = (
    "state",
    "severity",
    "revision",
    "detail",
    "updated_at",
    "cleared_at",
    "clear_reason",
)
_UPDATE_MANY = UpdateMany(alerts, "id", _UPDATED)


def _rows(result: Any) -> list[Row]:
    return [dict(r) for r in result.mappings().all()]


class AlertRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def insert(self, row: Row, parties: list[str]) -> None:
        self._conn.execute(insert(alerts), [row])
        self._conn.execute(
            insert(alert_acks),
            [{"alert_id": row["id"], "party_id": p} for p in parties],
        )

    def update_many(self, changes: list[Row]) -> None:
        """Set the same columns on many alerts in one statement run for all of them:
        each change is the alert's ``id`` and the new values of `_UPDATED` (a cycle
        updates thousands of standing alerts, and one statement each was most of the
        writer's time, ahead of every notice waiting for it; issue 19)."""
        _UPDATE_MANY.run(self._conn, changes)

    def acks_of(self, ids: list[str]) -> dict[str, list[Row]]:
        """Each alert's acknowledgement rows, by party."""
        out: dict[str, list[Row]] = {i: [] for i in ids}
        for chunk in range(0, len(ids), 500):
            part = ids[chunk : chunk + 500]
            found = _rows(
                self._conn.execute(
                    select(alert_acks)
                    .where(alert_acks.c.alert_id.in_(part))
                    .order_by(alert_acks.c.party_id)
                )
            )
            for r in found:
                out[r["alert_id"]].append(r)
        return out

    def _with_acks(self, found: list[Row]) -> list[Row]:
        acks = self.acks_of([r["id"] for r in found])
        for r in found:
            r["acks"] = acks[r["id"]]
            r["detail"] = json.loads(r["detail"])
        return found

    def get(self, alert_id: str) -> Row | None:
        found = _rows(self._conn.execute(select(alerts).where(alerts.c.id == alert_id)))
        return self._with_acks(found)[0] if found else None

    def find(
        self,
        party: str | None,
        states: list[str] | None,
        limit: int,
        kind: str | None = None,
    ) -> list[Row]:
        q = select(alerts)
        if party is not None:
            q = q.where(or_(alerts.c.party_a == party, alerts.c.party_b == party))
        if states:
            q = q.where(alerts.c.state.in_(states))
        if kind:
            q = q.where(alerts.c.kind == kind)
        q = q.order_by(alerts.c.raised_at.desc(), alerts.c.id).limit(limit)
        return self._with_acks(_rows(self._conn.execute(q)))

    def active(self) -> list[Row]:
        return self._with_acks(
            _rows(self._conn.execute(select(alerts).where(alerts.c.state == "active")))
        )

    def record_ack(self, alert_id: str, party: str, **values: Any) -> None:
        self._conn.execute(
            update(alert_acks)
            .where(alert_acks.c.alert_id == alert_id, alert_acks.c.party_id == party)
            .values(**values)
        )
