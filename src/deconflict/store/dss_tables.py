"""Tables of the ASTM F3548-21 DSS interface (`deconflict.interop.f3548`).

A USS's operational intent references and constraint references live here with
what F3548 says of them (version, OVN, state, base URL, subscription) and the hub
notice each one is mirrored to; their 4D extents are stored as the hub's
normalised Volume4D documents, re-parsed into the in-memory index at start-up.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, PrimaryKeyConstraint, String, Table, Text

from deconflict.store.schema import TS, metadata

__all__ = ["dss_references", "dss_subscriptions", "dss_usss"]

# A USS as the DSS knows it: the JWT `sub` and the hub party it was registered as.
dss_usss = Table(
    "dss_usss",
    metadata,
    Column("sub", String(255), primary_key=True),
    Column("party_id", String(64), nullable=False, unique=True),
    Column("availability", String(16), nullable=False),  # Unknown | Normal | Down
    Column("availability_version", String(40), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
)

# Operational intent references (kind "op") and constraint references (kind "constraint").
dss_references = Table(
    "dss_references",
    metadata,
    Column("kind", String(16), nullable=False),
    Column("id", String(64), nullable=False),
    Column("manager", String(255), nullable=False),  # the owning USS's `sub`
    Column("version", Integer, nullable=False),
    Column("ovn", String(128), nullable=False),
    Column("state", String(16), nullable=True),  # operational intents only
    Column("uss_base_url", Text, nullable=False),
    Column("subscription_id", String(64), nullable=True),  # operational intents only
    Column("time_start", TS, nullable=False),
    Column("time_end", TS, nullable=False),
    Column("volumes", Text, nullable=False),  # JSON list of the hub's normalised Volume4D
    Column("notice_id", String(40), nullable=False),  # the hub notice it is mirrored to
    Column("notice_version", Integer, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    PrimaryKeyConstraint("kind", "id"),
    Index("ix_dss_references_subscription", "subscription_id"),
)

dss_subscriptions = Table(
    "dss_subscriptions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("manager", String(255), nullable=False),
    Column("version", String(40), nullable=False),
    Column("notification_index", Integer, nullable=False),
    Column("uss_base_url", Text, nullable=False),
    Column("notify_for_operational_intents", Integer, nullable=False),
    Column("notify_for_constraints", Integer, nullable=False),
    Column("implicit", Integer, nullable=False),
    Column("time_start", TS, nullable=False),
    Column("time_end", TS, nullable=False),
    Column("volumes", Text, nullable=False),  # JSON list (one) of the hub's Volume4D
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Index("ix_dss_subscriptions_manager", "manager"),
)
