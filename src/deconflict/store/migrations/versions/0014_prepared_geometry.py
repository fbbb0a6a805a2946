"""notice_prepared: the prepared geometry of each notice version (issue 14)

The volumes of a version as the strategic index holds them (geo.packed: vertex arrays,
index covers, coarse volumes), written with the version so that start-up loads them
instead of parsing every active volume again. Versions stored before this revision have
no row: the first start-up derives theirs once and stores them.

Revision ID: 0014_prepared_geometry
Revises: 0011_delivery_confirm
Create Date: 2026-12-02 01:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_prepared_geometry"
down_revision = "0011_delivery_confirm"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notice_prepared",
        sa.Column("notice_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["notice_id", "version"], ["notice_versions.notice_id", "notice_versions.version"]
        ),
        sa.PrimaryKeyConstraint("notice_id", "version"),
    )


def downgrade() -> None:
    op.drop_table("notice_prepared")
