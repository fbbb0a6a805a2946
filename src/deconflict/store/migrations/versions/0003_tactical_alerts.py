"""tactical alerts and their per-party acknowledgements

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("party_a", sa.String(length=64), nullable=False),
        sa.Column("party_b", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("raised_at", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.Column("cleared_at", sa.String(length=32), nullable=True),
        sa.Column("clear_reason", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_party_a", ["party_a", "state"], unique=False)
        batch_op.create_index("ix_alerts_party_b", ["party_b", "state"], unique=False)
    op.create_table(
        "alert_acks",
        sa.Column("alert_id", sa.String(length=40), nullable=False),
        sa.Column("party_id", sa.String(length=64), nullable=False),
        sa.Column("acknowledged_at", sa.String(length=32), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("escalated_at", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("alert_id", "party_id"),
    )


def downgrade() -> None:
    op.drop_table("alert_acks")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_party_b")
        batch_op.drop_index("ix_alerts_party_a")
    op.drop_table("alerts")
