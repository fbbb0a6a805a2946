"""Relayed parties and printable notices (issue 15)

`parties.reachable_via`: the relay party through which a party that never connects is
reached. `relay_legs` and `relay_steps`: what each relay owes and recorded per notice
version and relayed addressee. `paper_codes`: verification codes of printed notices.

Revision ID: 0009_relays
Revises: 0008
Create Date: 2026-12-02 01:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_relays"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("parties", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reachable_via", sa.String(length=64), nullable=True))
    op.create_table(
        "relay_legs",
        sa.Column("notice_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("relay", sa.String(length=64), nullable=False),
        sa.Column("issuer", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("forward_deadline", sa.String(length=32), nullable=False),
        sa.Column("received_at", sa.String(length=32), nullable=True),
        sa.Column("forwarded_at", sa.String(length=32), nullable=True),
        sa.Column("answer", sa.String(length=16), nullable=True),
        sa.Column("answered_at", sa.String(length=32), nullable=True),
        sa.Column("forward_overdue_at", sa.String(length=32), nullable=True),
        sa.Column("superseded", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("notice_id", "version", "recipient"),
    )
    op.create_index("ix_relay_legs_relay", "relay_legs", ["relay", "superseded"])
    op.create_index("ix_relay_legs_deadline", "relay_legs", ["forward_deadline"])
    op.create_table(
        "relay_steps",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("notice_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("relay", sa.String(length=64), nullable=False),
        sa.Column("issuer", sa.String(length=64), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("recorded_at", sa.String(length=32), nullable=False),
        sa.Column("means", sa.String(length=32), nullable=True),
        sa.Column("counterpart", sa.Text(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("key_id", sa.String(length=64), nullable=True),
        sa.Column("ledger_index", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_relay_steps_notice", "relay_steps", ["notice_id", "id"])
    op.create_table(
        "paper_codes",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("notice_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=64), nullable=False),
        sa.Column("ledger_index", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )


def downgrade() -> None:
    op.drop_table("paper_codes")
    op.drop_index("ix_relay_steps_notice", table_name="relay_steps")
    op.drop_table("relay_steps")
    op.drop_index("ix_relay_legs_deadline", table_name="relay_legs")
    op.drop_index("ix_relay_legs_relay", table_name="relay_legs")
    op.drop_table("relay_legs")
    with op.batch_alter_table("parties", schema=None) as batch_op:
        batch_op.drop_column("reachable_via")
