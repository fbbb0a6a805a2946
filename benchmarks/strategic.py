"""Strategic engine benchmark: insert rate, query latency and all-pairs check time.

    python benchmarks/strategic.py                 # 1k, 10k, 100k, 1M
    python benchmarks/strategic.py --sizes 1000 10000
    python benchmarks/strategic.py --sizes 100000 --disclosure both   # issue 11

With ``--disclosure coarse`` every notice but the protected sites carries its coarse
volumes (the default grain: H3 resolution 5, 1,000 ft, 15 min) and is addressed to no
one, so every stored notice is judged against the query by its coarse volumes and the
query by its own (issue 11's worst case: nobody is an addressee of anybody).

Prints a Markdown table. Single process, single core. Buffers are a typical
deployment's: 1 NM lateral, 500 ft vertical, 10 minutes, with 5 km between
fires and protected sites.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time

import numpy as np

from deconflict.geo.coarse import Grain, coarse_volume
from deconflict.strategic import BufferPolicy, Buffers, NoticeShape, StrategicIndex
from scenes import notice_docs, shapes  # benchmarks/ is on sys.path when run as a script

POLICY = BufferPolicy(
    default=Buffers(lateral_m=1852.0, vertical_m=152.4, time_s=600.0),
    by_kinds={
        ("fires", "protected_site"): Buffers(lateral_m=5000.0, vertical_m=300.0, time_s=3600.0)
    },
)


def coarsened(found: list[NoticeShape]) -> list[NoticeShape]:
    """The notices as the hub holds them by default: coarse, addressed to no one."""
    grain = Grain()
    out = []
    for s in found:
        coarse = (
            None
            if s.kind == "protected_site"
            else tuple(coarse_volume(v, grain) for v in s.volumes)
        )
        out.append(dataclasses.replace(s, readers=frozenset(), coarse=coarse))
    return out


def _build(
    n: int, disclosure: str, scale: float
) -> tuple[StrategicIndex, dict[str, str], list[NoticeShape]]:
    t = time.perf_counter()
    stored = shapes(notice_docs(n, seed=1, scale=scale))
    parse_s = time.perf_counter() - t
    coarse_note = ""
    if disclosure == "coarse":
        t = time.perf_counter()
        stored = coarsened(stored)
        coarse_note = f" + coarse {n / (time.perf_counter() - t):,.0f}/s"
    index = StrategicIndex(POLICY)
    t = time.perf_counter()
    for s in stored:
        index.upsert(s)
    insert_s = time.perf_counter() - t
    row = {
        "notices": f"{n:,}",
        "disclosure": disclosure,
        "parse": f"{n / parse_s:,.0f}/s{coarse_note}",
        "insert": f"{n / insert_s:,.0f}/s",
    }
    return index, row, stored


def run(
    n: int, queries: int, check_limit: int, modes: list[str], clock: str
) -> list[dict[str, str]]:
    """One row per mode; with both modes the queries alternate between the two indexes
    (exact first on even queries, coarse first on odd ones), so that a change of load
    during the run weighs on both rows alike."""
    scale = max(1.0, (n / 10_000) ** 0.5)
    now = time.process_time if clock == "cpu" else time.perf_counter
    built = {mode: _build(n, mode, scale) for mode in modes}
    plain = shapes(notice_docs(queries, seed=2, prefix="q", scale=scale))
    probes = {m: coarsened(plain) if m == "coarse" else plain for m in modes}
    lat: dict[str, list[float]] = {m: [] for m in modes}
    found = dict.fromkeys(modes, 0)
    for i in range(queries):
        for mode in modes if i % 2 == 0 else modes[::-1]:
            index = built[mode][0]
            t = now()
            found[mode] += len(index.query(probes[mode][i]))
            lat[mode].append(now() - t)
    rows = []
    for mode in modes:
        index, row, _ = built[mode]
        lat_ms = np.array(lat[mode]) * 1000
        if n <= check_limit:
            t = time.perf_counter()
            pairs = len(index.all_conflicts(describe=False))
            check = f"{time.perf_counter() - t:.1f} s ({pairs:,} conflicts)"
        else:
            check = "not run (--check-limit)"
        row |= {
            "query p50": f"{np.percentile(lat_ms, 50):.2f} ms",
            "query p99": f"{np.percentile(lat_ms, 99):.2f} ms",
            "conflicts/query": f"{found[mode] / queries:.1f}",
            "check all": check,
        }
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--check-limit", type=int, default=1_000_000)
    parser.add_argument("--disclosure", choices=["exact", "coarse", "both"], default="exact")
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="time queries by the wall clock or by this process's CPU time "
        "(steadier on a machine shared with other work)",
    )
    args = parser.parse_args()
    modes = ["exact", "coarse"] if args.disclosure == "both" else [args.disclosure]
    rows = []
    for n in args.sizes:
        rows.extend(run(n, args.queries, args.check_limit, modes, args.clock))
        print(f"done {n}", file=sys.stderr, flush=True)
    headers = list(rows[0])
    print("| " + " | ".join(headers) + " |")
    print("|" + "---|" * len(headers))
    for r in rows:
        print("| " + " | ".join(r[h] for h in headers) + " |")


if __name__ == "__main__":
    main()
