"""The PostgreSQL backend: the same statements, on a server that other processes share.

`deconflict serve --db postgresql://user@host/dbname`. A commit is durable when the
server says so (PostgreSQL's default `synchronous_commit=on`), so the hub answers 2xx
only for what survives a crash of the server. Writes of one process go through its one
writer (as with SQLite); reads are REPEATABLE READ, read-only transactions, so a
snapshot is consistent across the few statements of a read. The SQL is SQLAlchemy Core
compiled for the dialect; nothing of the hub's semantics depends on advisory locks or
LISTEN/NOTIFY. Several hub processes may share the database: every write batch takes the
one-row write token (`hub_write_token`, ``SELECT ... FOR UPDATE``) first, so the
database serializes them (see `deconflict.service.writer` and `store.coordination_tables`).

Create the database with the C collation, so that text orders byte by byte as in SQLite
(the hub's identifiers and stamps sort by time as text):
``createdb --template=template0 --locale=C deconflict``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from alembic import command
from sqlalchemy import Engine, create_engine, make_url
from sqlalchemy.exc import DBAPIError, PendingRollbackError

from deconflict.store.base import Store, StoreUnavailable
from deconflict.store.repo import Repo
from deconflict.store.sqlite import alembic_config

__all__ = ["PostgresStore"]

log = logging.getLogger(__name__)


_MIGRATION_KEY = 0x6463_665F_6D69_67  # "dcf_mig"


@contextmanager
def _unavailable() -> Iterator[None]:
    """A lost or refused connection is one error, `StoreUnavailable`, whatever statement
    met it (connecting, a query, the COMMIT).

    SQLAlchemy has already dropped the broken connection (and, on a disconnect, every
    pooled one), and `pool_pre_ping` tests each one handed out: the next transaction
    connects afresh, so nothing is restarted by hand when the server comes back. A COMMIT
    whose answer was lost may or may not have committed; the caller is told it failed,
    never 2xx, and a client's retry is answered from what the database holds.
    """
    try:
        yield
    except (DBAPIError, PendingRollbackError, psycopg.Error) as exc:
        # the driver's own error where a statement went past SQLAlchemy (store/prepared.py)
        orig = exc.orig if isinstance(exc, DBAPIError) else exc
        lost = (
            # the connection was invalidated under a transaction, which SQLAlchemy then
            # refuses to go on with (PendingRollbackError)
            isinstance(exc, PendingRollbackError)
            or (isinstance(exc, DBAPIError) and exc.connection_invalidated)
            or isinstance(orig, psycopg.OperationalError | psycopg.InterfaceError)
        )
        # a serialization failure or deadlock is an OperationalError too, from a server
        # that is there: not "unreachable"
        if lost and not isinstance(orig, psycopg.errors.TransactionRollback):
            raise StoreUnavailable(
                "the database is unreachable; nothing of this request was acknowledged"
            ) from exc
        raise


class PostgresStore(Store):
    shared = True  # other processes may write the same database

    def __init__(self, url: str, *, readers: int = 8) -> None:
        parsed = make_url(url.replace("postgres://", "postgresql://", 1))
        self.url = parsed.set(drivername="postgresql+psycopg")
        self._engine: Engine = create_engine(
            self.url,
            pool_size=readers,
            max_overflow=64,
            # a connection the server dropped (a restart) is replaced, not handed out
            pool_pre_ping=True,
        )
        self._write_lock = threading.Lock()

    def migrate(self) -> None:
        with self._write_lock, self._engine.begin() as conn:
            # Processes starting together migrate one after the other (a lock held to the
            # end of this transaction; it only orders the schema's creation).
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_KEY})")
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    @contextmanager
    def write(self) -> Iterator[Repo]:
        with _unavailable(), self._write_lock, self._engine.begin() as conn:
            yield Repo(conn)

    @contextmanager
    def read(self) -> Iterator[Repo]:
        with (
            _unavailable(),
            self._engine.connect().execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            ) as conn,
            conn.begin(),
        ):
            yield Repo(conn)

    def close(self) -> None:
        self._engine.dispose()

    def describe(self) -> str:
        return "postgresql:" + self.url.render_as_string(hide_password=True).split("://", 1)[1]
