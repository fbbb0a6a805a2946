"""The SQLite store's checkpoints: off the writer, and the file left whole at close."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import and_, select, text

from deconflict.store import (
    SqliteStore,
    coordination_tables,
    dss_tables,
    ledger_tables,
    tactical_tables,
)
from deconflict.store.schema import ACK_OPEN, acks, metadata


def _fill(store: SqliteStore, rows: int) -> None:
    for i in range(rows):
        with store.write() as repo:
            repo.parties.insert(
                {
                    "id": f"p{i}",
                    "name": "x" * 2000,  # a few pages per commit
                    "token_key_id": f"k{i}",
                    "token_hash": "h",
                    "created_at": "2030-01-01T00:00:00.000000Z",
                }
            )


def _autocheckpoint(store: SqliteStore) -> int:
    """The writer connection's own checkpoint threshold (pages; 0: never)."""
    with store.write() as repo:
        return int(repo.conn.execute(text("PRAGMA wal_autocheckpoint")).scalar_one())


def test_the_writer_never_checkpoints_and_a_store_thread_does(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "hub.db", checkpoint_interval_s=0.05)
    store.migrate()
    try:
        # a checkpoint inside a commit would stall every change queued behind it
        assert _autocheckpoint(store) == 0
        _fill(store, 40)
        deadline = time.monotonic() + 10
        while store.checkpoints["frames"] == 0:
            assert time.monotonic() < deadline, store.checkpoints
            time.sleep(0.02)
        assert store.checkpoints["runs"] >= 1
        # readers see every committed row whether or not it was checkpointed yet
        with store.read() as repo:
            assert len(repo.parties.all()) == 40
    finally:
        store.close()
    wal = tmp_path / "hub.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    # closed and used again (as a restarted hub does): the thread comes back
    runs = store.checkpoints["runs"]
    try:
        for _ in range(3):
            with store.write() as repo:
                repo.conn.execute(text("UPDATE parties SET name = name || 'x'"))
        deadline = time.monotonic() + 10
        while store.checkpoints["runs"] == runs:
            assert time.monotonic() < deadline, "no checkpoint after the store was reopened"
            time.sleep(0.02)
    finally:
        store.close()
    # the database file alone holds everything
    conn = sqlite3.connect(tmp_path / "hub.db")
    try:
        assert conn.execute("SELECT count(*) FROM parties").fetchone() == (40,)
    finally:
        conn.close()


def test_without_the_thread_sqlite_checkpoints_itself(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "hub.db", checkpoint_interval_s=0)
    store.migrate()
    try:
        assert _autocheckpoint(store) == 1000
        _fill(store, 5)
        assert store.checkpoints["runs"] == 0
    finally:
        store.close()


def test_migrations_build_the_schema_the_code_declares(tmp_path: Path) -> None:
    # What Alembic's migrations create and what the code declares must not drift.
    assert {"ledger_entries", "alerts", "dss_references"} <= set(metadata.tables), (
        coordination_tables,
        dss_tables,
        ledger_tables,
        tactical_tables,
    )
    store = SqliteStore(tmp_path / "hub.db", checkpoint_interval_s=0)
    store.migrate()
    try:
        with store.read() as repo:
            context = MigrationContext.configure(repo.conn)
            diff = compare_metadata(context, metadata)
        assert diff == []
    finally:
        store.close()


def test_the_sweep_reads_only_open_obligations(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "hub.db", checkpoint_interval_s=0)
    store.migrate()
    try:
        with store.read() as repo:
            q = select(acks).where(and_(ACK_OPEN, acks.c.deadline <= "2030")).limit(500)
            sql = str(q.compile(dialect=repo.conn.dialect, compile_kwargs={"literal_binds": True}))
            plan = " ".join(str(r) for r in repo.conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
        assert "ix_acks_open_deadline" in plan, plan
    finally:
        store.close()
