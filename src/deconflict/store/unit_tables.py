"""Units (issue 15): a party's sub-accounts, and the delivery of each notice version to each.

A unit's id is ``party/name`` (64 characters at most, so it fits every column that holds
a party id: its events are the outbox rows whose ``party_id`` is the unit's id). A unit
is never deleted, only disabled: its deliveries stay the party's evidence.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, PrimaryKeyConstraint, String, Table, Text

from deconflict.store.schema import metadata

__all__ = ["unit_deliveries", "units"]

TS = String(32)
PARTY = String(64)

units = Table(
    "units",
    metadata,
    Column("id", PARTY, primary_key=True),  # party/name
    Column("party_id", PARTY, nullable=False),
    Column("name", String(200), nullable=False),
    Column("token_key_id", String(32), nullable=False, unique=True),
    Column("token_hash", String(64), nullable=False),
    Column("area", Text, nullable=False),  # JSON: {"geometry": GeoJSON, "radius_m": r}
    Column("kinds", Text, nullable=False),  # JSON list of notice kinds
    Column("share_with_issuers", Integer, nullable=False),  # 1: issuers may see its name
    Column("state", String(16), nullable=False),  # active | disabled
    Column("confirmed_through", Integer, nullable=False),  # the last event id it confirmed
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Index("ix_units_party", "party_id"),
)

unit_deliveries = Table(
    "unit_deliveries",
    metadata,
    Column("notice_id", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("unit_id", PARTY, nullable=False),
    Column("party_id", PARTY, nullable=False),
    Column("issuer", PARTY, nullable=False),
    Column("state", String(16), nullable=False),  # pending | delivered | acknowledged
    Column("routed_at", TS, nullable=False),
    Column("starts_at", TS, nullable=True),  # the activity's start in the unit's area
    Column("delivered_at", TS, nullable=True),
    Column("acknowledged_at", TS, nullable=True),
    Column("comment", Text, nullable=True),
    Column("missed_at", TS, nullable=True),  # set once the escalation was sent
    Column("superseded", Integer, nullable=False),
    PrimaryKeyConstraint("notice_id", "version", "unit_id"),
    Index("ix_unit_deliveries_unit", "unit_id", "superseded"),
    Index("ix_unit_deliveries_due", "state", "starts_at"),
)
