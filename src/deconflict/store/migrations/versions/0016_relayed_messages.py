"""relay_legs.subject, relay_steps.subject: hotline messages to a relayed party (issue 15)

A relay leg and its steps are either a notice version's (`subject` "notice", as before)
or a hotline message's ("message": `notice_id` holds the message id, `version` is 0, as a
message has no versions). Existing rows are notices'.

Revision ID: 0016_relayed_messages
Revises: 0015_multi_process
Create Date: 2026-12-02 15:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_relayed_messages"
down_revision = "0015_multi_process"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("relay_legs", "relay_steps"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("subject", sa.String(length=8), nullable=False, server_default="notice")
            )


def downgrade() -> None:
    for table in ("relay_steps", "relay_legs"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("subject")
