"""notice_versions.disclosure: how much a party the notice was not addressed to learns

A JSON object {"level": "exact" | "coarse" | "existence", "grain": {...}} per version
(issue 11). Versions stored before it have NULL, read as their kind's default.

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-01 22:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notice_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disclosure", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notice_versions", schema=None) as batch_op:
        batch_op.drop_column("disclosure")
