"""Which store a deployment uses: a SQLite file (the embedded default) or PostgreSQL."""

from __future__ import annotations

from deconflict.config import Settings
from deconflict.store.base import Store
from deconflict.store.postgres import PostgresStore
from deconflict.store.sqlite import SqliteStore

__all__ = ["open_store"]


def open_store(settings: Settings) -> Store:
    if settings.db_url:
        return PostgresStore(settings.db_url)
    return SqliteStore(settings.db_path, checkpoint_interval_s=settings.wal_checkpoint_s)
