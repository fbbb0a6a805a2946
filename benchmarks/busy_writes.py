"""What the writer's many-row writes cost beside busy threads (issue 19).

The sqlite3 driver lets go of the GIL around every step of a statement, and a thread
that lets go of it beside a busy one waits up to the interpreter's switch interval
(5 ms) to get it back. The hub's writer shares the interpreter with report ingestion
and screening, so what matters is how many statements a write takes, not only how
much work it is. This times one write transaction of what a screening pass hands the
writer for N standing alerts (each alert's row updated, one event to each of its two
parties: `AlertRepo.update_many`, `EventRepo.append_many`) on a real SQLite file,
with 0, 1 and 3 threads running pure Python beside it; median (min-max) of rounds.

    python benchmarks/busy_writes.py                       # 256 and 2,400 alerts
    python benchmarks/busy_writes.py --alerts 2400 --rounds 7 --busy 0 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from deconflict.store.sqlite import SqliteStore

PARTIES = ("blue", "red")


def _alert(k: int, revision: int) -> dict[str, Any]:
    detail = {"a": {"party": "blue", "track": {"lat": 45.0 + k * 1e-4, "lon": 5.0}}, "k": k}
    return {
        "id": f"a-{k:06d}",
        "kind": "separation",
        "key": json.dumps(["separation", "blue", f"b{k}", "red", f"r{k}"]),
        "party_a": "blue",
        "party_b": "red",
        "state": "active",
        "severity": "predicted",
        "revision": revision,
        "detail": json.dumps(detail),
        "raised_at": "2026-12-03T12:00:00.000Z",
        "updated_at": f"2026-12-03T12:00:{revision % 60:02d}.000Z",
        "cleared_at": None,
        "clear_reason": None,
    }


def _busy(stop: threading.Event) -> None:
    x = 0
    while not stop.is_set():
        for _ in range(1000):
            x += 1


def measure(store: SqliteStore, n: int, busy: int, rounds: int) -> list[float]:
    stop = threading.Event()
    threads = [threading.Thread(target=_busy, args=(stop,), daemon=True) for _ in range(busy)]
    for t in threads:
        t.start()
    took = []
    try:
        for r in range(rounds):
            changes = [_alert(k, r + 2) for k in range(n)]
            events = [
                {
                    "party_id": p,
                    "type": "alert_updated",
                    "created_at": "2026-12-03T12:00:00.000Z",
                    "data": json.dumps({"id": c["id"], "revision": c["revision"]}),
                }
                for c in changes
                for p in PARTIES
            ]
            began = time.perf_counter()
            with store.write() as repo:
                repo.alerts.update_many(changes)
                repo.events.append_many(events)
            took.append(time.perf_counter() - began)
    finally:
        stop.set()
        for t in threads:
            t.join()
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--alerts", type=int, nargs="+", default=[256, 2400])
    ap.add_argument("--busy", type=int, nargs="+", default=[0, 1, 3])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    print("| alerts | busy threads | one write: update rows + 2 events each, ms |")
    print("|--:|--:|--:|")
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "w.db")
        store.migrate()
        with store.write() as repo:
            for p in PARTIES:
                repo.parties.insert(
                    {
                        "id": p,
                        "name": p,
                        "token_key_id": f"k-{p}",
                        "token_hash": "0" * 64,
                        "created_at": "2026-12-03T12:00:00.000Z",
                    }
                )
            for k in range(max(args.alerts)):
                repo.alerts.insert(_alert(k, 1), list(PARTIES))
        for n in args.alerts:
            for busy in args.busy:
                ms = [1000 * t for t in measure(store, n, busy, args.rounds)]
                print(
                    f"| {n:,} | {busy} | {statistics.median(ms):.1f} "
                    f"({min(ms):.1f}-{max(ms):.1f}) |",
                    flush=True,
                )
        store.close()


if __name__ == "__main__":
    main()
