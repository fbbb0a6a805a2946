"""Benchmark of routing to units (issue 15): what units cost a notify, and the sweep.

    python benchmarks/units.py --notices 400 --units 0,20,200

For each number of units, a fresh hub (SQLite file, through the service layer: the same
validation, transactions, events and ledger entries as over HTTP, without the HTTP): the
receiving party creates that many units, each a 1 x 1 degree square on a grid over the
notices' region (so each notice touches a few of them), then `--notices` notices are
submitted to it one at a time (latency per durable submit) and `--concurrent` at a time
(durable submits/s under group commit). The notices start in the past, so one sweep
then escalates every delivery still pending: its time is reported too.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from deconflict.config import Settings
from deconflict.service import Hub

ADMIN = "bench-admin-token-0123456789"
REGION = (30.0, 30.0, 40.0, 40.0)  # lon0, lat0, lon1, lat1: the notices and the units


def notice_doc(rng: random.Random, t0: datetime) -> dict[str, Any]:
    lon = rng.uniform(REGION[0], REGION[2] - 0.5)
    lat = rng.uniform(REGION[1], REGION[3] - 0.5)
    size = rng.uniform(0.05, 0.5)
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    start = t0 - timedelta(minutes=5)  # already begun: the sweep escalates what is pending
    return {
        "kind": "air_activity",
        "title": "bench",
        "addressees": ["receiver"],
        "volumes": [
            {
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "altitude_lower": {"value": 0, "units": "FT", "reference": "W84"},
                "altitude_upper": {"value": 10000, "units": "FT", "reference": "W84"},
                "time_start": start.isoformat(),
                "time_end": (start + timedelta(hours=6)).isoformat(),
            }
        ],
    }


def unit_doc(i: int, n: int) -> dict[str, Any]:
    side = max(1, round(n**0.5))
    lon = REGION[0] + (i % side) * (REGION[2] - REGION[0]) / side
    lat = REGION[1] + (i // side) * (REGION[3] - REGION[1]) / side
    ring = [[lon, lat], [lon + 1, lat], [lon + 1, lat + 1], [lon, lat + 1], [lon, lat]]
    return {
        "id": f"receiver/u{i}",
        "area": {"geometry": {"type": "Polygon", "coordinates": [ring]}},
    }


async def run(db: Path, notices: int, units: int, concurrent: int) -> dict[str, float]:
    settings = Settings(db_path=db, admin_token=ADMIN, volume_parser_processes=0)
    hub = Hub(settings)
    hub.start(sweep=False)
    try:
        admin = hub.authenticate(ADMIN)
        tokens = {}
        for name in ("issuer", "receiver"):
            tokens[name] = (await hub.register_party(admin, {"id": name, "name": name}))["token"]
        issuer, receiver = hub.authenticate(tokens["issuer"]), hub.authenticate(tokens["receiver"])
        for i in range(units):
            await hub.create_unit(receiver, unit_doc(i, units))
        rng = random.Random(7)
        t0 = datetime.now(UTC)
        lat = []
        for _ in range(notices):
            body = notice_doc(rng, t0)
            started = time.perf_counter()
            await hub.notify(issuer, body)
            lat.append(time.perf_counter() - started)
        work = [notice_doc(rng, t0) for _ in range(notices)]
        started = time.perf_counter()

        async def load(part: list[dict[str, Any]]) -> None:
            for body in part:
                await hub.notify(issuer, body)

        await asyncio.gather(*(load(work[i::concurrent]) for i in range(concurrent)))
        rate = notices / (time.perf_counter() - started)
        pending = len((await hub.list_unit_deliveries(receiver, states=["pending"]))["deliveries"])
        started = time.perf_counter()
        swept = hub.sweep()["units_missed"]
        sweep_s = time.perf_counter() - started
    finally:
        hub.close()
    lat.sort()
    return {
        "units": units,
        "mean_ms": statistics.fmean(lat) * 1000,
        "p99_ms": lat[int(0.99 * (len(lat) - 1))] * 1000,
        "rate": rate,
        "pending": pending,
        "swept": swept,
        "sweep_ms": sweep_s * 1000,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--notices", type=int, default=400)
    ap.add_argument("--units", default="0,20,200", help="comma-separated numbers of units")
    ap.add_argument("--concurrent", type=int, default=16)
    args = ap.parse_args()
    print(
        "| units | notify mean (ms) | notify p99 (ms) | durable submits/s "
        f"({args.concurrent} in flight) | deliveries pending (first 500) "
        "| escalated by one sweep | sweep (ms) |"
    )
    print("|---|---|---|---|---|---|---|")
    for n in [int(x) for x in args.units.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            r = asyncio.run(run(Path(tmp) / "hub.db", args.notices, n, args.concurrent))
        print(
            f"| {n} | {r['mean_ms']:.2f} | {r['p99_ms']:.2f} | {r['rate']:.0f} | "
            f"{r['pending']:.0f} | {r['swept']:.0f} | {r['sweep_ms']:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
