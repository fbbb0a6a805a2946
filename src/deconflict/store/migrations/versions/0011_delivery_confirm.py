"""event_receipts: what each party's client was sent and confirmed having (issue 13)

A delivery is recorded when the party's client confirms it has the events up to an
id (an explicit confirmation, or the cursor of its next request), never when an
event is merely written to a socket. `sent_up_to` bounds what a confirmation may
claim; `confirmed_up_to` is where the deliveries were recorded to.

Revision ID: 0011_delivery_confirm
Revises: 0010_units
Create Date: 2026-12-02 01:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_delivery_confirm"
down_revision = "0010_units"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_receipts",
        sa.Column("party_id", sa.String(length=64), nullable=False),
        sa.Column("sent_up_to", sa.Integer(), nullable=False),
        sa.Column("confirmed_up_to", sa.Integer(), nullable=False),
        sa.Column("confirmed_at", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("party_id"),
    )


def downgrade() -> None:
    op.drop_table("event_receipts")
