"""The SQLite backend: one file, WAL, fsync on every commit, one writer.

`synchronous=FULL` makes each commit durable before `write()` returns, which is
what lets the service answer 2xx only for data that survives a power cut. WAL
lets readers run while the writer commits.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import QueuePool

from deconflict.store.base import Store
from deconflict.store.repo import Repo

__all__ = ["SqliteStore", "alembic_config"]


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "deconflict.store:migrations")
    return cfg


def _engine(path: Path, *, begin: str, pool_size: int, overflow: int, cache_mib: int) -> Engine:
    engine = create_engine(
        f"sqlite:///{path}",
        poolclass=QueuePool,
        pool_size=pool_size,
        max_overflow=overflow,
        # Connections move between the server's worker threads; the store's
        # locking, not sqlite3's thread check, keeps their use serial.
        connect_args={"check_same_thread": False, "timeout": 30.0},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide where transactions begin, so
        # that BEGIN IMMEDIATE takes the write lock up front (no upgrade deadlocks).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        # SQLite's default page cache is 2 MiB; with 100k notices the indexes the writer
        # touches on every change are far larger than that.
        cur.execute(f"PRAGMA cache_size=-{cache_mib * 1024}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)

    return engine


class SqliteStore(Store):
    def __init__(self, path: str | Path, *, readers: int = 8) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = _engine(
            self.path, begin="BEGIN IMMEDIATE", pool_size=1, overflow=1, cache_mib=128
        )
        # Reads run on the server's worker threads and, for event streams, on its event
        # loop, which must never wait for a free connection: the overflow covers them all.
        self._reader = _engine(
            self.path, begin="BEGIN", pool_size=readers, overflow=64, cache_mib=8
        )
        self._write_lock = threading.Lock()

    def migrate(self) -> None:
        with self._write_lock, self._writer.begin() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def current_revision(self) -> str | None:
        with self._reader.connect() as conn:
            rev: str | None = MigrationContext.configure(conn).get_current_revision()
            return rev

    @contextmanager
    def write(self) -> Iterator[Repo]:
        with self._write_lock, self._writer.begin() as conn:
            yield Repo(conn)

    @contextmanager
    def read(self) -> Iterator[Repo]:
        with self._reader.begin() as conn:
            yield Repo(conn)

    def close(self) -> None:
        self._writer.dispose()
        self._reader.dispose()

    def describe(self) -> str:
        return f"sqlite:{self.path}"
