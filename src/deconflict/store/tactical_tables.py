"""Tactical tables: alerts and their acknowledgements (tracks stay in memory).

An alert row is written when the alert is raised, updated, acknowledged,
escalated and cleared, always inside the hub's write path, in the same
transaction as the events that announce it. ``detail`` holds the hub's full
view (both sides); parties only ever get their own view of it.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, PrimaryKeyConstraint, String, Table, Text

from deconflict.store.schema import metadata

__all__ = ["alert_acks", "alerts"]

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
