"""Tactical tables: alerts and their acknowledgements, and the tracks processes share.

An alert row is written when the alert is raised, updated, acknowledged,
escalated and cleared, always inside the hub's write path, in the same
transaction as the events that announce it. ``detail`` holds the hub's full
view (both sides); parties only ever get their own view of it.

Tracks live in memory. With several processes on one database (issue 14) each
process also writes the reports it accepted, as batches of track states
(`track_batches`), so that every process holds the whole picture and the leader
screens it; the batches are kept only as long as a track stays live.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from deconflict.store.schema import metadata

__all__ = ["alert_acks", "alerts", "track_batches"]

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

# One row per batch of accepted reports a process passes on (issue 14): `origin` is the
# process (its leader-lease holder name, new at each start), `seq` counts its batches
# (written one after another by one thread, so a reader's "seq above the last I read"
# per origin never skips one), `at` the POSIX time it was written (for pruning and for a
# reader's first look at an origin), `states` a JSON array of track states.
track_batches = Table(
    "track_batches",
    metadata,
    Column("origin", String(255), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("at", Float, nullable=False),
    Column("states", Text, nullable=False),
    PrimaryKeyConstraint("origin", "seq"),
    Index("ix_track_batches_at", "at"),
)
