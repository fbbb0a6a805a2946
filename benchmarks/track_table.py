"""What the hub's live picture costs per report and per snapshot (issue 19).

The hub's interpreter takes in every report (`TrackTable.ingest`: parse,
plausibility, store) and the quick pass snapshots the whole picture twenty
times a second; both run on the one core the hub's Python has. This prints,
for pictures of N tracks fed in batches of 2,500 as the alert-latency
benchmark does, the median (min-max) over rounds of

* ingest: microseconds per report of a batch in which every track moves on;
* parse: microseconds per report of `parse_report` alone (well-formed reports);
* snapshot: milliseconds for one `TrackTable.snapshot` of the whole picture.

    python benchmarks/track_table.py                 # 10k and 100k tracks
    python benchmarks/track_table.py --tracks 20000 --rounds 9
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from deconflict.tactical.tracks import TrackLimits, TrackTable, parse_report
from deconflict.utc import format_epoch

BATCH = 2_500


def reports(n: int, t: float, k0: int) -> list[dict[str, Any]]:
    stamp = format_epoch(t)
    return [
        {
            "track_id": f"t-{k}",
            "time": stamp,
            "lat": 45.0 + (k % 1000) * 1e-3 + (t % 100) * 1e-5,
            "lon": 5.0 + (k // 1000) * 1e-3,
            "alt_m": 9000.0,
            "gs_mps": 200.0,
            "trk_deg": 0.0,
            "vs_mps": 0.0,
        }
        for k in range(k0, k0 + n)
    ]


def spread(xs: list[float]) -> str:
    return f"{statistics.median(xs):.2f} ({min(xs):.2f}-{max(xs):.2f})"


def measure(n: int, rounds: int) -> dict[str, str]:
    limits = TrackLimits(max_tracks_per_party=n)
    table = TrackTable(limits)
    t0 = time.time()
    parties = [f"p{k}" for k in range(4)]
    for k0 in range(0, n, BATCH):
        party = parties[(k0 // BATCH) % 4]
        table.ingest(party, reports(min(BATCH, n - k0), t0, k0), t0, BATCH)
    ingest, parse, snap = [], [], []
    for r in range(1, rounds + 1):
        t = t0 + r
        batch = reports(BATCH, t, 0)
        started = time.perf_counter()
        table.ingest(parties[0], batch, t, BATCH)
        ingest.append((time.perf_counter() - started) / BATCH * 1e6)
        started = time.perf_counter()
        for doc in batch:
            parse_report(doc, parties[0], t, limits)
        parse.append((time.perf_counter() - started) / BATCH * 1e6)
        started = time.perf_counter()
        table.snapshot(t + 0.5)
        snap.append((time.perf_counter() - started) * 1e3)
    return {
        "tracks": f"{n:,}",
        "ingest us/report": spread(ingest),
        "parse us/report": spread(parse),
        "snapshot ms": spread(snap),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tracks", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    rows = [measure(n, args.rounds) for n in args.tracks]
    cols = list(rows[0])
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for row in rows:
        print("| " + " | ".join(row[c] for c in cols) + " |")


if __name__ == "__main__":
    main()
