"""Persistence behind one interface (`Store`); SQLite now, PostgreSQL later."""

from deconflict.store.base import Store
from deconflict.store.repo import Repo, Row, format_ts, parse_ts
from deconflict.store.sqlite import SqliteStore

__all__ = ["Repo", "Row", "SqliteStore", "Store", "format_ts", "parse_ts"]
