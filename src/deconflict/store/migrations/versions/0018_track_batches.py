"""track_batches: the track states several processes pass on to each other (issue 14)

See `deconflict.store.tactical_tables`.

Revision ID: 0018_track_batches
Revises: 0017_idempotency_keys
Create Date: 2026-12-02 19:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_track_batches"
down_revision = "0017_idempotency_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "track_batches",
        sa.Column("origin", sa.String(length=255), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("states", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("origin", "seq"),
    )
    op.create_index("ix_track_batches_at", "track_batches", ["at"])


def downgrade() -> None:
    op.drop_index("ix_track_batches_at", table_name="track_batches")
    op.drop_table("track_batches")
