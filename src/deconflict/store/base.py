"""The store interface the service layer is written against.

A backend provides durable transactions (`write`, one at a time, committed
before it returns) and consistent read snapshots (`read`); both hand out a
`Repo`, whose statements are plain SQLAlchemy Core and so run unchanged on
SQLite and PostgreSQL. A PostgreSQL backend implements this class (engine,
pool, locking) and nothing in ``deconflict.service`` changes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager

from deconflict.store.repo import Repo

__all__ = ["Store", "StoreUnavailable"]


class StoreUnavailable(RuntimeError):  # noqa: N818 - named after what happened
    """The database cannot be reached (a server restarting, a network gone).

    Whatever the transaction was, it is not committed (or its outcome is unknown, which
    the caller must treat as not acknowledged). The next transaction opens a fresh
    connection, so the hub recovers by itself when the server is back.
    """

    retry_after_s = 5


class Store(ABC):
    # Whether other processes may write to this database too (what a dry run must catch
    # up with before it answers). A SQLite file is served by one process.
    shared = False

    @abstractmethod
    def migrate(self) -> None:
        """Bring the schema to the newest revision (idempotent)."""

    @abstractmethod
    def write(self) -> AbstractContextManager[Repo]:
        """One write transaction; durable when the block exits without error.

        At most one write transaction runs at a time.
        """

    @abstractmethod
    def read(self) -> AbstractContextManager[Repo]:
        """A read-only snapshot of committed data."""

    def read_one(self) -> AbstractContextManager[Repo]:
        """For a single statement: a statement is its own snapshot, so no transaction
        is opened around it (what every live event stream pays on each wake-up)."""
        return self.read()

    @abstractmethod
    def close(self) -> None:
        """Release every connection."""

    @abstractmethod
    def describe(self) -> str:
        """Where the data lives, for logs and /healthz."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
