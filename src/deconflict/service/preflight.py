"""What `deconflict serve` checks before it starts a hub: the database file is whole."""

from __future__ import annotations

from deconflict.config import Settings
from deconflict.store import SqliteStore

__all__ = ["check_store"]


def check_store(settings: Settings) -> None:
    """Open the store, check its pages and migrate it; `StoreDamaged` if it is damaged."""
    store = SqliteStore(settings.db_path, checkpoint_interval_s=0)
    try:
        store.migrate()
    finally:
        store.close()
