"""units and unit_deliveries: a party's units and per-unit delivery (issue 15)

Revision ID: 0010_units
Revises: 0009_relays
Create Date: 2026-12-02 01:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_units"
down_revision = "0009_relays"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "units",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("party_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("token_key_id", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("area", sa.Text(), nullable=False),
        sa.Column("kinds", sa.Text(), nullable=False),
        sa.Column("share_with_issuers", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("confirmed_through", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_key_id"),
    )
    op.create_index("ix_units_party", "units", ["party_id"])
    op.create_table(
        "unit_deliveries",
        sa.Column("notice_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("party_id", sa.String(length=64), nullable=False),
        sa.Column("issuer", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("routed_at", sa.String(length=32), nullable=False),
        sa.Column("starts_at", sa.String(length=32), nullable=True),
        sa.Column("delivered_at", sa.String(length=32), nullable=True),
        sa.Column("acknowledged_at", sa.String(length=32), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("missed_at", sa.String(length=32), nullable=True),
        sa.Column("superseded", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("notice_id", "version", "unit_id"),
    )
    op.create_index("ix_unit_deliveries_unit", "unit_deliveries", ["unit_id", "superseded"])
    op.create_index("ix_unit_deliveries_due", "unit_deliveries", ["state", "starts_at"])


def downgrade() -> None:
    op.drop_index("ix_unit_deliveries_due", table_name="unit_deliveries")
    op.drop_index("ix_unit_deliveries_unit", table_name="unit_deliveries")
    op.drop_table("unit_deliveries")
    op.drop_index("ix_units_party", table_name="units")
    op.drop_table("units")
