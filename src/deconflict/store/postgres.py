"""The PostgreSQL backend: the same statements, on a server that other processes share.

`deconflict serve --db postgresql://user@host/dbname`. A commit is durable when the
server says so (PostgreSQL's default `synchronous_commit=on`), so the hub answers 2xx
only for what survives a crash of the server. Writes of one process go through its one
writer (as with SQLite); reads are REPEATABLE READ, read-only transactions, so a
snapshot is consistent across the few statements of a read. The SQL is SQLAlchemy Core
compiled for the dialect; nothing of the hub's semantics depends on advisory locks or
LISTEN/NOTIFY (one session lock only refuses a second process, see `_take_guard`).

Create the database with the C collation, so that text orders byte by byte as in SQLite
(the hub's identifiers and stamps sort by time as text):
``createdb --template=template0 --locale=C deconflict``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from sqlalchemy import Connection, Engine, create_engine, make_url

from deconflict.store.base import Store
from deconflict.store.repo import Repo
from deconflict.store.sqlite import alembic_config

__all__ = ["PostgresStore", "StoreBusyError"]

log = logging.getLogger(__name__)
_GUARD_KEY = 0x6463_665F_6875_62  # "dcf_hub": the session lock of the serving process


class StoreBusyError(RuntimeError):
    """The database is served by another hub process."""


class PostgresStore(Store):
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
        self._guard: Connection | None = None

    def _take_guard(self) -> None:
        """Refuse to be the second hub process on this database (not supported yet).

        Each process keeps the strategic index and the ledger's frontier in memory, so a
        second writer would fork the log. The session lock is only this guard, released
        by the server when the holding connection dies (a killed process frees it).
        """
        if self._guard is not None:
            return
        conn = self._engine.connect()
        got = conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({_GUARD_KEY})").scalar()
        conn.commit()
        if not got:
            conn.close()
            raise StoreBusyError(
                "another deconflict process is already serving this database; running "
                "several hub processes on one PostgreSQL database is not supported yet"
            )
        self._guard = conn

    def migrate(self) -> None:
        self._take_guard()
        with self._write_lock, self._engine.begin() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    @contextmanager
    def write(self) -> Iterator[Repo]:
        with self._write_lock, self._engine.begin() as conn:
            yield Repo(conn)

    @contextmanager
    def read(self) -> Iterator[Repo]:
        with (
            self._engine.connect().execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            ) as conn,
            conn.begin(),
        ):
            yield Repo(conn)

    def close(self) -> None:
        if self._guard is not None:
            self._guard.close()  # the session lock goes with it
            self._guard = None
        self._engine.dispose()

    def describe(self) -> str:
        return "postgresql:" + self.url.render_as_string(hide_password=True).split("://", 1)[1]
