"""Alembic environment: always run programmatically with a live connection.

The hub passes its own connection in ``config.attributes["connection"]`` so that
migrations use the same pragmas and the same single writer as the service.
"""

from __future__ import annotations

from alembic import context

from deconflict.store.schema import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable from the alembic CLI
    raise RuntimeError("run migrations through deconflict.store (Store.migrate)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies tables
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
