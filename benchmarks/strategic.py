"""Strategic engine benchmark: insert rate, query latency and all-pairs check time.

    python benchmarks/strategic.py                 # 1k, 10k, 100k, 1M
    python benchmarks/strategic.py --sizes 1000 10000

Prints a Markdown table. Single process, single core. Buffers are a typical
deployment's: 1 NM lateral, 500 ft vertical, 10 minutes, with 5 km between
fires and protected sites.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from deconflict.strategic import BufferPolicy, Buffers, StrategicIndex
from scenes import notice_docs, shapes  # benchmarks/ is on sys.path when run as a script

POLICY = BufferPolicy(
    default=Buffers(lateral_m=1852.0, vertical_m=152.4, time_s=600.0),
    by_kinds={
        ("fires", "protected_site"): Buffers(lateral_m=5000.0, vertical_m=300.0, time_s=3600.0)
    },
)


def run(n: int, queries: int, check_limit: int) -> dict[str, str]:
    scale = max(1.0, (n / 10_000) ** 0.5)
    t = time.perf_counter()
    stored = shapes(notice_docs(n, seed=1, scale=scale))
    parse_s = time.perf_counter() - t

    index = StrategicIndex(POLICY)
    t = time.perf_counter()
    for s in stored:
        index.upsert(s)
    insert_s = time.perf_counter() - t

    probes = shapes(notice_docs(queries, seed=2, prefix="q", scale=scale))
    lat = []
    found = 0
    for p in probes:
        t = time.perf_counter()
        found += len(index.query(p))
        lat.append(time.perf_counter() - t)
    lat_ms = np.array(lat) * 1000

    if n <= check_limit:
        t = time.perf_counter()
        pairs = len(index.all_conflicts(describe=False))
        check = f"{time.perf_counter() - t:.1f} s ({pairs:,} conflicts)"
    else:
        check = "not run (--check-limit)"
    return {
        "notices": f"{n:,}",
        "parse": f"{n / parse_s:,.0f}/s",
        "insert": f"{n / insert_s:,.0f}/s",
        "query p50": f"{np.percentile(lat_ms, 50):.2f} ms",
        "query p99": f"{np.percentile(lat_ms, 99):.2f} ms",
        "conflicts/query": f"{found / queries:.1f}",
        "check all": check,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--check-limit", type=int, default=1_000_000)
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        rows.append(run(n, args.queries, args.check_limit))
        print(f"done {n}", file=sys.stderr, flush=True)
    headers = list(rows[0])
    print("| " + " | ".join(headers) + " |")
    print("|" + "---|" * len(headers))
    for r in rows:
        print("| " + " | ".join(r[h] for h in headers) + " |")


if __name__ == "__main__":
    main()
