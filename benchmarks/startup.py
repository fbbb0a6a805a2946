"""Start-up time of `deconflict serve` on a pre-loaded database, SQLite and PostgreSQL.

    python benchmarks/startup.py --db /tmp/copy-of-p100k.db --rounds 3 [--postgres]

`--db` is a SQLite file pre-loaded by `benchmarks/service.py --db` (work on a copy: the
first start-up migrates it and stores the prepared forms of a database from before
them). Each round launches `deconflict serve`, times it until /healthz answers and
prints what the hub says it spent (`index_load_s`: parties, the strategic index, the
ledger's border and its cross-check) and how many notices it had to derive again
instead of loading; then again while a first process keeps serving the same file (a
process joining a running hub, which skips the start-up cross-check of the tables
against the log: the running hub made it when it started). With `--postgres` the same
data is then copied, table by table, into a throw-away PostgreSQL cluster
(tests/postgres.py: a Unix socket, fsync off) and both kinds of rounds are repeated
there. The 1-minute load average is printed with every round (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, insert, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ADMIN = "bench-admin-token-0123456789"


def one_start(
    db: list[str], port: int, key: Path | None, *, keep: list[subprocess.Popen[bytes]] | None = None
) -> dict[str, Any]:
    env = {**os.environ, "DECONFLICT_ADMIN_TOKEN": ADMIN}
    if key is not None:
        env["DECONFLICT_HUB_KEY_FILE"] = str(key)
    launched = time.perf_counter()
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [
            sys.executable,
            "-m",
            "deconflict",
            "serve",
            *db,
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    health: dict[str, Any] = {}
    try:
        while time.perf_counter() - launched < 900:
            try:
                r = httpx.get(
                    f"http://127.0.0.1:{port}/healthz",
                    headers={"Authorization": f"Bearer {ADMIN}"},
                )
                if r.status_code == 200:
                    health = r.json()
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None:
                raise RuntimeError(f"the server exited with {server.returncode}")
            time.sleep(0.05)
        health["answering_s"] = time.perf_counter() - launched
    finally:
        if keep is not None and health:
            keep.append(server)
        else:
            server.terminate()
            server.wait(600)
    return health


def rounds(label: str, db: list[str], n: int, port: int, key: Path | None, join: bool) -> None:
    """`n` start-ups; with `join`, each while a first process keeps serving."""
    running: list[subprocess.Popen[bytes]] = []
    try:
        if join:
            one_start(db, port - 1, key, keep=running)
        for i in range(n):
            h = one_start(db, port + i, key)
            up = h.get("startup", {})
            print(
                f"{label + (' join' if join else ''):15} round {i + 1}: answering "
                f"{h['answering_s']:5.1f} s after launch; index {up.get('index_s')} s, "
                f"{up.get('index_cpu_s')} s CPU "
                f"({h.get('active_notices')} active, {h.get('index_derived')} derived again), "
                f"cross-check {up.get('crosscheck_s')} s"
                f"{'' if up.get('crosschecked') else ' (skipped: joined a running hub)'}; "
                f"load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    finally:
        for server in running:
            server.terminate()
            server.wait(600)


def copy_to(sqlite_file: Path, dsn: str) -> None:
    """Every table of the SQLite file into a migrated PostgreSQL database."""
    from deconflict.store import PostgresStore
    from deconflict.store.schema import metadata

    store = PostgresStore(dsn)
    store.migrate()
    store.close()
    src = create_engine(f"sqlite:///{sqlite_file}")
    dst = create_engine(PostgresStore(dsn).url)
    started = time.perf_counter()
    with src.connect() as s, dst.begin() as d:
        for table in metadata.sorted_tables:
            if table.name == "alembic_version":
                continue
            if table.name in ("hub_write_token", "hub_leader"):  # seeded by the migration
                d.execute(table.delete())
            result = s.execution_options(stream_results=True).execute(select(table))
            count = 0
            while chunk := result.mappings().fetchmany(5000):
                d.execute(insert(table), [dict(r) for r in chunk])
                count += len(chunk)
            for col in table.columns:  # serial ids go on after the copied ones
                seq = d.execute(
                    text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": col.name}
                ).scalar()
                if seq is not None:
                    top = d.execute(select(func.max(col))).scalar() or 0
                    d.execute(text("SELECT setval(:s, :v)"), {"s": seq, "v": top + 1})
            print(f"  {table.name}: {count} rows", flush=True)
    print(f"copied into PostgreSQL in {time.perf_counter() - started:.0f} s", flush=True)


def index_cpu(db: Path, dsn: str | None) -> None:
    """`NoticeIndex.load` alone, in this process: wall and CPU time (robust to load).

    From the SQLite file, or from the PostgreSQL database `dsn` (one that `--postgres`
    made, kept running)."""
    import threading

    from deconflict.service.index import NoticeIndex
    from deconflict.store import PostgresStore, SqliteStore, Store
    from deconflict.strategic import BufferPolicy

    store: Store = PostgresStore(dsn) if dsn else SqliteStore(db)
    index = NoticeIndex(BufferPolicy(), threading.RLock())
    with store.read() as repo:
        wall, cpu = time.perf_counter(), time.process_time()
        index.load(repo, 1)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    store.close()
    print(
        f"index load in-process: {wall:.1f} s wall, {cpu:.2f} s CPU; {len(index)} notices, "
        f"{index.derived} derived again; load average {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, required=True, help="a pre-loaded SQLite file (a copy)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--port", type=int, default=8870)
    ap.add_argument("--postgres", action="store_true")
    ap.add_argument("--skip-sqlite", action="store_true", help="only the PostgreSQL rounds")
    ap.add_argument("--index-cpu", action="store_true", help="only time the index load here")
    ap.add_argument(
        "--dsn", help="use this PostgreSQL database, holding --db's data, instead of a copy"
    )
    args = ap.parse_args()
    if args.index_cpu:
        index_cpu(args.db, args.dsn)
        return
    if not args.skip_sqlite:
        rounds("sqlite", ["--db", str(args.db)], args.rounds, args.port, None, False)
        # several processes on one SQLite file join as on PostgreSQL (issue 14)
        rounds("sqlite", ["--db", str(args.db)], args.rounds, args.port + 50, None, True)
    if args.dsn:  # a PostgreSQL database made by an earlier --postgres, kept running
        key = args.db.with_name(args.db.name + ".hub-key.pem")
        rounds("postgresql", ["--db", args.dsn], args.rounds, args.port + 100, key, False)
        rounds("postgresql", ["--db", args.dsn], args.rounds, args.port + 200, key, True)
        return
    if not args.postgres:
        return
    from tests.postgres import PostgresServer

    with PostgresServer.start() as server, server.database() as dsn:
        copy_to(args.db, dsn)
        key = args.db.with_name(args.db.name + ".hub-key.pem")
        pg_key = Path(str(args.db) + ".pg-key.pem")
        shutil.copy(key, pg_key)
        rounds("postgresql", ["--db", dsn], args.rounds, args.port + 100, pg_key, False)
        rounds("postgresql", ["--db", dsn], args.rounds, args.port + 200, pg_key, True)


if __name__ == "__main__":
    main()
