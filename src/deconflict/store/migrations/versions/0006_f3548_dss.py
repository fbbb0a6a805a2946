"""the ASTM F3548-21 DSS interface: USSs, references, subscriptions

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 22:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TS = sa.String(length=32)


def upgrade() -> None:
    op.create_table(
        "dss_usss",
        sa.Column("sub", sa.String(length=255), nullable=False),
        sa.Column("party_id", sa.String(length=64), nullable=False),
        sa.Column("availability", sa.String(length=16), nullable=False),
        sa.Column("availability_version", sa.String(length=40), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("sub"),
        sa.UniqueConstraint("party_id"),
    )
    op.create_table(
        "dss_references",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("manager", sa.String(length=255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("ovn", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=True),
        sa.Column("uss_base_url", sa.Text(), nullable=False),
        sa.Column("subscription_id", sa.String(length=64), nullable=True),
        sa.Column("time_start", _TS, nullable=False),
        sa.Column("time_end", _TS, nullable=False),
        sa.Column("volumes", sa.Text(), nullable=False),
        sa.Column("notice_id", sa.String(length=40), nullable=False),
        sa.Column("notice_version", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("kind", "id"),
    )
    with op.batch_alter_table("dss_references", schema=None) as batch_op:
        batch_op.create_index("ix_dss_references_subscription", ["subscription_id"])
    op.create_table(
        "dss_subscriptions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("manager", sa.String(length=255), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("notification_index", sa.Integer(), nullable=False),
        sa.Column("uss_base_url", sa.Text(), nullable=False),
        sa.Column("notify_for_operational_intents", sa.Integer(), nullable=False),
        sa.Column("notify_for_constraints", sa.Integer(), nullable=False),
        sa.Column("implicit", sa.Integer(), nullable=False),
        sa.Column("time_start", _TS, nullable=False),
        sa.Column("time_end", _TS, nullable=False),
        sa.Column("volumes", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("dss_subscriptions", schema=None) as batch_op:
        batch_op.create_index("ix_dss_subscriptions_manager", ["manager"])


def downgrade() -> None:
    with op.batch_alter_table("dss_subscriptions", schema=None) as batch_op:
        batch_op.drop_index("ix_dss_subscriptions_manager")
    op.drop_table("dss_subscriptions")
    with op.batch_alter_table("dss_references", schema=None) as batch_op:
        batch_op.drop_index("ix_dss_references_subscription")
    op.drop_table("dss_references")
    op.drop_table("dss_usss")
