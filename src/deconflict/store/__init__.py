"""Persistence behind one interface (`Store`): a SQLite file, or a PostgreSQL server.

Tables (`schema`, `ledger_tables`, `tactical_tables`) are apart from the queries, which
live in one repository per aggregate (`repos/`), reached through a `Repo`.
"""

from deconflict.store.base import Store, StoreUnavailable
from deconflict.store.postgres import PostgresStore
from deconflict.store.repo import Repo, Savepoint
from deconflict.store.repos import CHANGES_PRUNED, EntryRow
from deconflict.store.rows import Row
from deconflict.store.sqlite import SqliteStore, StoreDamaged

__all__ = [
    "CHANGES_PRUNED",
    "EntryRow",
    "PostgresStore",
    "Repo",
    "Row",
    "Savepoint",
    "SqliteStore",
    "Store",
    "StoreDamaged",
    "StoreUnavailable",
]
