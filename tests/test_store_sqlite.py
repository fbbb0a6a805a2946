"""The SQLite store's checkpoints: off the writer, and the file left whole at close."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from sqlalchemy import text

from deconflict.store import SqliteStore


def _fill(store: SqliteStore, rows: int) -> None:
    for i in range(rows):
        with store.write() as repo:
            repo.insert_party(
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
            assert len(repo.list_parties()) == 40
    finally:
        store.close()
    wal = tmp_path / "hub.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0
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
