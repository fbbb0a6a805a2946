"""What `deconflict serve` checks before it starts a hub: its database is whole."""

from __future__ import annotations

from deconflict.config import Settings
from deconflict.store.factory import open_store

__all__ = ["check_store"]


def check_store(settings: Settings) -> None:
    """Open the store, check it (a SQLite file's pages) and migrate it; `StoreDamaged` if
    it is damaged."""
    store = open_store(settings.replace(wal_checkpoint_s=0))
    try:
        store.migrate()
    finally:
        store.close()
