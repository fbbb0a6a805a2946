"""acks: a partial index of the obligations still open, by deadline

The sweep looks for overdue acknowledgements every second. Through the plain deadline
index it read every ack whose deadline had ever passed, acknowledged or escalated long
ago; this index holds only the open ones, so that work stays proportional to what is
actually owed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 02:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_OPEN = "deadline IS NOT NULL AND overdue_at IS NULL AND superseded = 0 AND state != 'acknowledged'"


def upgrade() -> None:
    op.create_index(
        "ix_acks_open_deadline",
        "acks",
        ["deadline"],
        sqlite_where=sa.text(_OPEN),
        postgresql_where=sa.text(_OPEN),
    )


def downgrade() -> None:
    op.drop_index("ix_acks_open_deadline", table_name="acks")
