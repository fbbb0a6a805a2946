"""Benchmark of the running hub over HTTP: durable submits/s, latencies, event delay.

    python benchmarks/service.py --stored 10000 --clients 4 --submits 500

Pre-loads `--stored` notices through the service layer (the same code path as
HTTP, minus the HTTP: much faster to set up), then starts `deconflict serve`
in a subprocess and drives it from `--clients` processes, each submitting as
its own party to one addressee whose SSE stream measures submit->event delay.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from deconflict.config import Settings
from deconflict.service import Hub

ADMIN = "bench-admin-token-0123456789"


def vol(rng: random.Random, t0: datetime) -> dict[str, Any]:
    lon, lat = rng.uniform(20, 60), rng.uniform(10, 50)
    size = rng.uniform(0.05, 0.5)
    start = t0 + timedelta(hours=rng.uniform(1, 24 * 20))
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    lower = rng.choice([0, 5000, 15000])
    return {
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "altitude_lower": {"value": lower, "units": "FT", "reference": "W84"},
        "altitude_upper": {"value": lower + 10000, "units": "FT", "reference": "W84"},
        "time_start": start.isoformat(),
        "time_end": (start + timedelta(hours=rng.uniform(1, 6))).isoformat(),
    }


def doc(rng: random.Random, t0: datetime, to: str, title: str = "bench") -> dict[str, Any]:
    return {"kind": "air_activity", "title": title, "addressees": [to], "volumes": [vol(rng, t0)]}


def preload(db: Path, stored: int, clients: int) -> dict[str, str]:
    settings = Settings(db_path=db, admin_token=ADMIN)
    hub = Hub(settings)
    hub.start(sweep=False)
    admin = hub.authenticate(ADMIN)
    tokens = {}
    for name in ["loader", "watcher", *[f"client{i}" for i in range(clients)]]:
        tokens[name] = hub.register_party(admin, {"id": name, "name": name})["token"]
    loader = hub.authenticate(tokens["loader"])
    rng = random.Random(1)
    t0 = datetime.now(UTC)
    start = time.perf_counter()
    for i in range(stored):
        hub.notify(loader, doc(rng, t0, "watcher"))
        if (i + 1) % 10000 == 0:
            print(
                f"  preloaded {i + 1} ({(i + 1) / (time.perf_counter() - start):.0f}/s)", flush=True
            )
    hub.close()
    return tokens


def submitter(url: str, token: str, n: int, seed: int, out: Any) -> None:
    rng = random.Random(seed)
    t0 = datetime.now(UTC)
    lat: list[float] = []
    conflicts = 0
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as c:
        for _ in range(n):
            body = doc(rng, t0, "watcher", title=f"{time.time():.6f}")
            s = time.perf_counter()
            r = c.post("/v1/notices", json=body)
            lat.append(time.perf_counter() - s)
            assert r.status_code == 201, r.text
            conflicts += len(r.json()["conflicts"])
    out.put({"submit": lat, "conflicts": conflicts})


def watcher(url: str, token: str, expect: int, out: Any, ready: Any) -> None:
    delays: list[float] = []
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    with httpx.Client(base_url=url, headers=headers, timeout=httpx.Timeout(30.0, read=None)) as c:
        last = c.get("/healthz").json()["last_event_id"]
        with c.stream("GET", "/v1/events", headers={"Last-Event-ID": str(last)}) as r:
            ready.set()
            for line in r.iter_lines():
                if not line.startswith("data:"):
                    continue
                e = json.loads(line[5:])
                if e["type"] != "notice_received":
                    continue
                delays.append(time.time() - float(e["data"]["title"]))
                if len(delays) >= expect:
                    break
    out.put({"delay": delays})


def acker(url: str, token: str, n: int, out: Any) -> None:
    lat: list[float] = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as c:
        acks = c.get("/v1/acks", params={"state": "pending,delivered"}).json()["acks"][:n]
        for a in acks:
            s = time.perf_counter()
            r = c.post(f"/v1/notices/{a['notice_id']}/ack", json={"version": a["version"]})
            lat.append(time.perf_counter() - s)
            assert r.status_code == 200, r.text
    out.put({"ack": lat})


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stored", type=int, default=10_000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--submits", type=int, default=500, help="per client")
    ap.add_argument("--acks", type=int, default=500)
    ap.add_argument("--port", type=int, default=8765)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        t = time.perf_counter()
        tokens = preload(db, args.stored, args.clients)
        print(
            f"preloaded {args.stored} notices via the service layer in "
            f"{time.perf_counter() - t:.1f} s"
        )
        env = {
            **os.environ,
            "DECONFLICT_ADMIN_TOKEN": ADMIN,
            "DECONFLICT_RATE_PER_S": "1e6",
            "DECONFLICT_RATE_BURST": "1000000",
        }
        server = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [
                sys.executable,
                "-m",
                "deconflict",
                "serve",
                "--db",
                str(db),
                "--port",
                str(args.port),
                "--log-level",
                "warning",
            ],
            env=env,
        )
        url = f"http://127.0.0.1:{args.port}"
        try:
            for _ in range(600):
                try:
                    if httpx.get(f"{url}/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            out: Any = mp.Queue()
            ready = mp.Event()
            total = args.clients * args.submits
            w = mp.Process(target=watcher, args=(url, tokens["watcher"], total, out, ready))
            w.start()
            ready.wait(60)
            procs = [
                mp.Process(
                    target=submitter, args=(url, tokens[f"client{i}"], args.submits, 100 + i, out)
                )
                for i in range(args.clients)
            ]
            start = time.perf_counter()
            for p in procs:
                p.start()
            results = [out.get() for _ in range(args.clients)]
            elapsed = time.perf_counter() - start
            for p in procs:
                p.join()
            delays = out.get(timeout=120)["delay"]
            w.join()
            a = mp.Process(target=acker, args=(url, tokens["watcher"], args.acks, out))
            a.start()
            acks = out.get(timeout=300)["ack"]
            a.join()
        finally:
            server.terminate()
            server.wait(30)
    submit = [x for r in results for x in r["submit"]]
    print(
        f"\nstored before run: {args.stored}; clients: {args.clients}; submits: {total}; "
        f"conflicts reported: {sum(r['conflicts'] for r in results)}"
    )
    print(f"durable submits/s with conflict checking: {total / elapsed:.0f}")
    print(f"submit latency  p50 {pct(submit, 0.5):.1f} ms  p99 {pct(submit, 0.99):.1f} ms")
    print(
        f"ack latency     p50 {pct(acks, 0.5):.1f} ms  p99 {pct(acks, 0.99):.1f} ms "
        f"({len(acks)} acks, sequential)"
    )
    print(f"submit->SSE     p50 {pct(delays, 0.5):.1f} ms  p99 {pct(delays, 0.99):.1f} ms")


if __name__ == "__main__":
    main()
