"""Tables by which several hub processes share one database (issue 14).

- `hub_write_token`: one row. Every write transaction of every process takes it first
  (``SELECT ... FOR UPDATE``) and counts it up, so writes are serialized by the database
  itself, and its `generation` names each committed write batch in commit order.
- `hub_changes`: what each generation changed that processes hold in memory (a notice of
  the strategic index, the party directory); a process that finds the generation moved
  past the one it last saw reads what changed since and catches up.
- `hub_leader`: one row, a lease. The process holding it runs the periodic work that must
  run once (acknowledgement escalation, expiry, head signing); it renews it, and another
  process takes it over once it has expired.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table

from deconflict.store.schema import TS, metadata

__all__ = ["hub_changes", "hub_leader", "hub_write_token"]

hub_write_token = Table(
    "hub_write_token",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("generation", Integer, nullable=False),
)

hub_changes = Table(
    "hub_changes",
    metadata,
    Column("generation", Integer, nullable=False),
    Column("kind", String(16), nullable=False),  # notice | party | unit
    Column("key", String(64), nullable=False),
    Index("ix_hub_changes_generation", "generation"),
)

hub_leader = Table(
    "hub_leader",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("holder", String(128), nullable=False),
    Column("expires_at", TS, nullable=False),
)
