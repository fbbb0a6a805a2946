"""notice_versions.disclosure and probes: need-to-know against a probing party (issue 11)

`notice_versions.disclosure`: a JSON object {"level": "exact" | "coarse" | "existence",
"grain": {...}} per version; versions stored before it have NULL, read as their kind's
default. `probes`: dry runs (and short-lived notices) that touched a notice, listed to
its issuer and counted against the prober's daily budget.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 22:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notice_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disclosure", sa.Text(), nullable=True))
    op.create_table(
        "probes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("notice_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=64), nullable=False),
        sa.Column("prober", sa.String(length=64), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("run", sa.String(length=32), nullable=False),
        sa.Column("over_budget", sa.Integer(), nullable=False),
        sa.Column("overlap", sa.Text(), nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_probes_issuer", "probes", ["issuer", "id"])
    op.create_index("ix_probes_pair_at", "probes", ["prober", "issuer", "at"])


def downgrade() -> None:
    op.drop_index("ix_probes_pair_at", table_name="probes")
    op.drop_index("ix_probes_issuer", table_name="probes")
    op.drop_table("probes")
    with op.batch_alter_table("notice_versions", schema=None) as batch_op:
        batch_op.drop_column("disclosure")
