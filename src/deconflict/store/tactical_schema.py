"""Tactical persistence: alerts and their acknowledgements (tracks stay in memory).

An alert row is written when the alert is raised, updated, acknowledged,
escalated and cleared, always inside the hub's write path, in the same
transaction as the events that announce it. ``detail`` holds the hub's full
view (both sides); parties only ever get their own view of it.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    insert,
    or_,
    select,
    update,
)

from deconflict.store.repo import Row
from deconflict.store.schema import metadata

__all__ = [
    "alert_acks",
    "alerts",
    "get_alert",
    "insert_alert",
    "list_alerts",
    "load_active_alerts",
    "record_alert_ack",
    "update_alert",
]

TS = String(32)
PARTY = String(64)

alerts = Table(
    "alerts",
    metadata,
    Column("id", String(40), nullable=False),
    Column("kind", String(16), nullable=False),  # separation | intrusion | nonconformance
    Column("key", Text, nullable=False),  # JSON: what the alert is about (pair, track+notice)
    Column("party_a", PARTY, nullable=False),
    Column("party_b", PARTY, nullable=True),  # null: only one party is involved
    Column("state", String(16), nullable=False),  # active | cleared
    Column("severity", String(16), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("detail", Text, nullable=False),  # JSON, both sides (never sent as such)
    Column("raised_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("cleared_at", TS, nullable=True),
    Column("clear_reason", String(32), nullable=True),
    PrimaryKeyConstraint("id"),
    Index("ix_alerts_party_a", "party_a", "state"),
    Index("ix_alerts_party_b", "party_b", "state"),
)

alert_acks = Table(
    "alert_acks",
    metadata,
    Column("alert_id", String(40), nullable=False),
    Column("party_id", PARTY, nullable=False),
    Column("acknowledged_at", TS, nullable=True),
    Column("comment", Text, nullable=True),
    Column("escalated_at", TS, nullable=True),
    PrimaryKeyConstraint("alert_id", "party_id"),
)


def _rows(result: Any) -> list[Row]:
    return [dict(r) for r in result.mappings().all()]


def insert_alert(conn: Connection, row: Row, parties: list[str]) -> None:
    conn.execute(insert(alerts), [row])
    conn.execute(
        insert(alert_acks),
        [{"alert_id": row["id"], "party_id": p} for p in parties],
    )


def update_alert(conn: Connection, alert_id: str, **values: Any) -> None:
    conn.execute(update(alerts).where(alerts.c.id == alert_id).values(**values))


def _acks_of(conn: Connection, ids: list[str]) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = {i: [] for i in ids}
    for chunk in range(0, len(ids), 500):
        part = ids[chunk : chunk + 500]
        rows = _rows(
            conn.execute(
                select(alert_acks)
                .where(alert_acks.c.alert_id.in_(part))
                .order_by(alert_acks.c.party_id)
            )
        )
        for r in rows:
            out[r["alert_id"]].append(r)
    return out


def _with_acks(conn: Connection, rows: list[Row]) -> list[Row]:
    acks = _acks_of(conn, [r["id"] for r in rows])
    for r in rows:
        r["acks"] = acks[r["id"]]
        r["detail"] = json.loads(r["detail"])
    return rows


def get_alert(conn: Connection, alert_id: str) -> Row | None:
    rows = _rows(conn.execute(select(alerts).where(alerts.c.id == alert_id)))
    return _with_acks(conn, rows)[0] if rows else None


def list_alerts(
    conn: Connection,
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
    return _with_acks(conn, _rows(conn.execute(q)))


def load_active_alerts(conn: Connection) -> list[Row]:
    return _with_acks(conn, _rows(conn.execute(select(alerts).where(alerts.c.state == "active"))))


def record_alert_ack(conn: Connection, alert_id: str, party: str, **values: Any) -> None:
    conn.execute(
        update(alert_acks)
        .where(alert_acks.c.alert_id == alert_id, alert_acks.c.party_id == party)
        .values(**values)
    )
