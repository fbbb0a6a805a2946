"""hub_write_token, hub_changes, hub_leader: several hub processes on one database (issue 14)

See `deconflict.store.coordination_tables`. The token starts at generation 0 and the
lease unheld.

Revision ID: 0015_multi_process
Revises: 0014_prepared_geometry
Create Date: 2026-12-02 01:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_multi_process"
down_revision = "0014_prepared_geometry"
branch_labels = None
depends_on = None


def upgrade() -> None:
    token = op.create_table(
        "hub_write_token",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "hub_changes",
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
    )
    op.create_index("ix_hub_changes_generation", "hub_changes", ["generation"])
    leader = op.create_table(
        "hub_leader",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(token, [{"id": 1, "generation": 0}])
    op.bulk_insert(leader, [{"id": 1, "holder": "", "expires_at": ""}])


def downgrade() -> None:
    op.drop_table("hub_leader")
    op.drop_index("ix_hub_changes_generation", table_name="hub_changes")
    op.drop_table("hub_changes")
    op.drop_table("hub_write_token")
