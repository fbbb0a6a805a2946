"""The SQLite backend: one file, WAL, fsync on every commit, one writer.

`synchronous=FULL` makes each commit durable before `write()` returns, which is
what lets the service answer 2xx only for data that survives a power cut. WAL
lets readers run while the writer commits.

Checkpoints (copying the WAL back into the database file, with an fsync of its own)
are not left to the writer: by default SQLite runs one inside whichever commit takes
the WAL past 1,000 pages, and every change queued behind that commit waits for it
(tens of milliseconds once the file is large). A thread of the store runs them
instead, on a connection of its own, in PASSIVE mode, which never blocks the writer
or a reader; the writer only appends. Durability is unchanged: a commit is in the
WAL, fsynced, before `write()` returns, checkpointed or not.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import QueuePool

from deconflict.store.base import Store
from deconflict.store.repo import Repo

__all__ = ["SqliteStore", "StoreDamaged", "alembic_config"]

log = logging.getLogger(__name__)


class StoreDamaged(RuntimeError):  # noqa: N818 - named after what happened, as service errors
    """The database file is damaged: the hub must not run on it, nor migrate it."""

    def __init__(self, path: Path, what: str) -> None:
        self.path = path
        super().__init__(
            f"the database file {path} is damaged ({what}). The hub will not start on it: "
            "migrating or writing a damaged file could lose what the parties notified. "
            f"Stop the hub, keep {path} aside for investigation (do not delete it), restore "
            "the last backup in its place (README: Backups), then start the hub again; "
            "`deconflict ledger verify` of each party then shows whether anything notified "
            "after the backup is missing."
        )


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "deconflict.store:migrations")
    return cfg


def _engine(
    path: Path,
    *,
    begin: str,
    pool_size: int,
    overflow: int,
    cache_mib: int,
    autocheckpoint: bool = True,
) -> Engine:
    engine = create_engine(
        f"sqlite:///{path}",
        poolclass=QueuePool,
        pool_size=pool_size,
        max_overflow=overflow,
        # Connections move between the server's worker threads; the store's
        # locking, not sqlite3's thread check, keeps their use serial.
        # Many-row writes come in a few sizes of statement each (store/prepared.py):
        # room for those beside every other statement, so none is prepared again.
        connect_args={"check_same_thread": False, "timeout": 30.0, "cached_statements": 512},
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
        cur.execute("PRAGMA temp_store=MEMORY")  # statement journals: no temp files
        # SQLite's default page cache is 2 MiB; with 100k notices the indexes the writer
        # touches on every change are far larger than that.
        cur.execute(f"PRAGMA cache_size=-{cache_mib * 1024}")
        if not autocheckpoint:
            cur.execute("PRAGMA wal_autocheckpoint=0")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)

    return engine


class SqliteStore(Store):
    def __init__(
        self, path: str | Path, *, readers: int = 8, checkpoint_interval_s: float = 0.5
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # 0: SQLite's own checkpoints, inside the writer's commits (see the module)
        self.checkpoint_interval_s = checkpoint_interval_s
        self._writer = _engine(
            self.path,
            begin="BEGIN IMMEDIATE",
            pool_size=1,
            overflow=1,
            cache_mib=128,
            autocheckpoint=checkpoint_interval_s <= 0,
        )
        # Reads run on the server's worker threads and, for event streams, on its event
        # loop, which must never wait for a free connection: the overflow covers them all.
        self._reader = _engine(
            self.path, begin="BEGIN", pool_size=readers, overflow=64, cache_mib=8
        )
        self._write_lock = threading.Lock()
        self._closing = threading.Event()
        self._checkpointer: threading.Thread | None = None
        self.checkpoints = {"runs": 0, "frames": 0, "last_wal_frames": 0}

    def migrate(self) -> None:
        """Check the file is whole, then bring its schema to the current revision.

        A damaged file raises `StoreDamaged` before anything is written: its pages are
        checked (`PRAGMA quick_check`), and a file that holds the hub's tables but no
        migration revision (a damaged `alembic_version`) is never migrated again from
        the start (which would fail with "table ... already exists").
        """
        try:
            self._check_whole()
            with self._write_lock, self._writer.begin() as conn:
                cfg = alembic_config()
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except StoreDamaged:
            raise
        except DBAPIError as exc:
            if isinstance(exc.orig, sqlite3.DatabaseError) and not isinstance(
                exc.orig, sqlite3.OperationalError
            ):
                raise StoreDamaged(self.path, str(exc.orig)) from exc
            raise

    def _check_whole(self) -> None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return  # a new hub: nothing to check
        conn = sqlite3.connect(str(self.path), isolation_level=None)
        try:
            try:
                problems = [r[0] for r in conn.execute("PRAGMA quick_check(5)").fetchall()]
                tables = {
                    r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
                }
                revision = None
                if "alembic_version" in tables:
                    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
                    revision = row[0] if row else None
            except sqlite3.DatabaseError as exc:
                raise StoreDamaged(self.path, str(exc)) from exc
        finally:
            conn.close()
        if problems != ["ok"]:
            raise StoreDamaged(self.path, "; ".join(problems))
        if revision is None and tables - {"alembic_version", "sqlite_sequence"}:
            raise StoreDamaged(self.path, "it holds the hub's tables but no migration revision")

    def current_revision(self) -> str | None:
        with self._reader.connect() as conn:
            rev: str | None = MigrationContext.configure(conn).get_current_revision()
            return rev

    @contextmanager
    def write(self) -> Iterator[Repo]:
        if self._checkpointer is None and self.checkpoint_interval_s > 0:
            self._start_checkpointer()
        with self._write_lock, self._writer.begin() as conn:
            yield Repo(conn)

    def _start_checkpointer(self) -> None:
        with self._write_lock:
            if self._checkpointer is not None:
                return
            self._closing.clear()  # a store closed and written to again checkpoints again
            self._checkpointer = threading.Thread(
                target=self._checkpoint_loop, name="sqlite-checkpointer", daemon=True
            )
            self._checkpointer.start()

    def _checkpoint_loop(self) -> None:
        conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        try:
            while not self._closing.wait(self.checkpoint_interval_s):
                self.checkpoint(conn)
        finally:
            conn.close()

    def checkpoint(self, conn: sqlite3.Connection, mode: str = "PASSIVE") -> None:
        """Copy what the WAL holds into the database file, as far as readers allow."""
        try:
            _busy, wal_frames, done = conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
        except sqlite3.Error as exc:  # e.g. the file went away under a test: try again later
            log.warning("checkpoint of %s failed: %s", self.path, exc)
            return
        self.checkpoints["runs"] += 1
        self.checkpoints["frames"] += max(0, done)
        self.checkpoints["last_wal_frames"] = wal_frames

    @contextmanager
    def read(self) -> Iterator[Repo]:
        with self._reader.begin() as conn:
            yield Repo(conn)

    @contextmanager
    def read_one(self) -> Iterator[Repo]:
        # `Prepared` statements go to the driver's cursor, which (isolation_level=None)
        # runs each in its own implicit transaction; anything through SQLAlchemy would
        # still begin one first, so this is never less consistent than `read`.
        with self._reader.connect() as conn:
            yield Repo(conn)

    def close(self) -> None:
        self._closing.set()
        checkpointer, self._checkpointer = self._checkpointer, None
        if checkpointer is not None:
            checkpointer.join(timeout=30)
        self._writer.dispose()
        self._reader.dispose()
        if checkpointer is not None:
            # leave the file whole and the WAL empty, as SQLite's own last close would
            conn = sqlite3.connect(str(self.path), isolation_level=None)
            try:
                self.checkpoint(conn, "TRUNCATE")
            finally:
                conn.close()

    def describe(self) -> str:
        return f"sqlite:{self.path}"
