"""Benchmark of the running hub over HTTP: durable submits/s, latencies, event delay.

    python benchmarks/service.py --stored 10000 --clients 16 --submits 125

Pre-loads `--stored` notices **through the service layer** (`Hub.notify`: the same
validation, conflict checks, transactions and events as HTTP, without the HTTP),
`--preload-threads` submits in flight at once, so that group commit stores them in
large batches; they are spread over issuers of at most 5,000 notices each (under
the per-party quota), addressed to the watcher. Then starts `deconflict serve`
in a subprocess (reporting how long it takes to rebuild its index and answer),
and drives it from `--clients` processes (the standard library's HTTP client, one
kept-alive connection each), each submitting as its own party to one addressee
whose SSE stream measures the submit->event delay.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import math
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
from urllib.parse import urlsplit

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


PER_LOADER = 5000


def preload(
    db: Path, stored: int, clients: int, threads: int, *, ledger: bool = True
) -> dict[str, str]:
    return asyncio.run(_preload(db, stored, clients, threads, ledger=ledger))


async def _preload(
    db: Path, stored: int, clients: int, concurrency: int, *, ledger: bool
) -> dict[str, str]:
    settings = Settings(
        db_path=db, admin_token=ADMIN, ledger_enabled=ledger, volume_parser_processes=0
    )
    hub = Hub(settings)
    hub.start(sweep=False)
    admin = hub.authenticate(ADMIN)
    tokens = {}
    loaders = [f"loader{i}" for i in range(math.ceil(stored / PER_LOADER))]
    for name in ["watcher", *[f"client{i}" for i in range(clients)], *loaders]:
        tokens[name] = (await hub.register_party(admin, {"id": name, "name": name}))["token"]
    rng = random.Random(1)
    t0 = datetime.now(UTC)
    work = [
        (hub.authenticate(tokens[loaders[i // PER_LOADER]]), doc(rng, t0, "watcher"))
        for i in range(stored)
    ]
    start = time.perf_counter()
    done = 0

    async def load(part: list[tuple[Any, dict[str, Any]]]) -> None:
        # `concurrency` submits in flight at once, so that group commit stores them in
        # large batches, as many threads did before the service became awaitable
        nonlocal done
        for who, body in part:
            await hub.notify(who, body)
            done += 1
            if done % 20000 == 0:
                print(f"  preloaded {done} ({done / (time.perf_counter() - start):.0f}/s)")

    await asyncio.gather(*(load(work[i::concurrency]) for i in range(concurrency)))
    stats = hub.writer.stats
    print(
        f"  {stats['writes']} changes in {stats['batches']} commits "
        f"(largest batch {stats['largest_batch']})"
    )
    hub.close()
    return tokens


def submitter(url: str, token: str, n: int, seed: int, out: Any) -> None:
    # The standard library's HTTP/1.1 client on one kept-alive connection: it costs a
    # fraction of httpx's CPU per request, which on a 2-core machine is taken from the hub.
    rng = random.Random(seed)
    t0 = datetime.now(UTC)
    lat: list[float] = []
    conflicts = 0
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for _ in range(n):
        body = doc(rng, t0, "watcher", title=f"{time.time():.6f}")
        s = time.perf_counter()
        conn.request("POST", "/v1/notices", json.dumps(body), headers)
        r = conn.getresponse()
        answer = r.read()
        lat.append(time.perf_counter() - s)
        assert r.status == 201, answer
        conflicts += len(json.loads(answer)["conflicts"])
    conn.close()
    out.put({"submit": lat, "conflicts": conflicts})


def watcher(url: str, token: str, expect: int, out: Any, ready: Any) -> None:
    delays: list[float] = []
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    with httpx.Client(base_url=url, headers=headers, timeout=httpx.Timeout(30.0, read=None)) as c:
        admin = {"Authorization": f"Bearer {ADMIN}"}
        last = c.get("/healthz", headers=admin).json()["last_event_id"]
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


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux), to show how many cores the hub used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(xs: list[float], p: float) -> float:
    """The p-quantile in ms (NaN for none: a short run may see no event in time)."""
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stored", type=int, default=10_000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--submits", type=int, default=500, help="per client")
    ap.add_argument("--acks", type=int, default=500)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--preload-threads", type=int, default=32)
    ap.add_argument("--db", type=Path, help="keep the database here (and reuse it if present)")
    ap.add_argument(
        "--without-ledger",
        action="store_true",
        help="measure the hub without its ledger (DECONFLICT_LEDGER_ENABLED=0), to see its cost",
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "bench.db"
        saved = db.with_suffix(".tokens.json")
        if args.db and saved.exists():  # reuse a pre-loaded database (profiling, start-up)
            tokens = json.loads(saved.read_text())
            print(f"reusing {db} (not a fresh run: it holds earlier runs' notices too)")
        else:
            t = time.perf_counter()
            tokens = preload(
                db, args.stored, args.clients, args.preload_threads, ledger=not args.without_ledger
            )
            print(
                f"preloaded {args.stored} notices via the service layer in "
                f"{time.perf_counter() - t:.1f} s"
            )
            if args.db:
                saved.write_text(json.dumps(tokens))
        env = {
            **os.environ,
            "DECONFLICT_ADMIN_TOKEN": ADMIN,
            "DECONFLICT_RATE_PER_S": "1e6",
            "DECONFLICT_RATE_BURST": "1000000",
            "DECONFLICT_LEDGER_ENABLED": "0" if args.without_ledger else "1",
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
        launched = time.perf_counter()
        try:
            health: dict[str, Any] = {}
            for _ in range(6000):
                try:
                    r = httpx.get(f"{url}/healthz", headers={"Authorization": f"Bearer {ADMIN}"})
                    if r.status_code == 200:
                        health = r.json()
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            startup = time.perf_counter() - launched
            print(
                f"server answering {startup:.1f} s after launch "
                f"(index of {health.get('active_notices')} notices rebuilt in "
                f"{health.get('index_load_s')} s)"
            )
            # Until a parser process has imported (many seconds on a loaded machine) the hub
            # parses inline: measure the steady state, not the warm-up.
            for _ in range(1200):
                if health.get("volume_parsers", {}).get("ready", 1) >= 1:
                    break
                time.sleep(0.1)
                health = httpx.get(
                    f"{url}/healthz", headers={"Authorization": f"Bearer {ADMIN}"}
                ).json()
            batches_before = health.get("write_batches", {})
            for i in range(args.clients):  # a reused database may have fewer clients
                name = f"client{i}"
                if name not in tokens:
                    r = httpx.post(
                        f"{url}/v1/parties",
                        json={"id": name, "name": name},
                        headers={"Authorization": f"Bearer {ADMIN}"},
                    )
                    tokens[name] = r.json()["token"]
            out: Any = mp.Queue()
            seen: Any = mp.Queue()
            ready = mp.Event()
            total = args.clients * args.submits
            w = mp.Process(target=watcher, args=(url, tokens["watcher"], total, seen, ready))
            w.start()
            ready.wait(60)
            procs = [
                mp.Process(
                    target=submitter, args=(url, tokens[f"client{i}"], args.submits, 100 + i, out)
                )
                for i in range(args.clients)
            ]
            cpu_before = _cpu_seconds(server.pid)
            start = time.perf_counter()
            for p in procs:
                p.start()
            results = [out.get() for _ in range(args.clients)]
            elapsed = time.perf_counter() - start
            hub_cpu = _cpu_seconds(server.pid) - cpu_before
            for p in procs:
                p.join()
            delays = seen.get(timeout=120)["delay"]
            w.join()
            a = mp.Process(target=acker, args=(url, tokens["watcher"], args.acks, out))
            a.start()
            acks = out.get(timeout=300)["ack"]
            a.join()
            health_after = httpx.get(
                f"{url}/healthz", headers={"Authorization": f"Bearer {ADMIN}"}
            ).json()
            after = health_after.get("write_batches", {})
        finally:
            server.terminate()
            server.wait(30)
    submit = [x for r in results for x in r["submit"]]
    print(
        f"\nstored before run: {args.stored}; clients: {args.clients}; submits: {total}; "
        f"conflicts reported: {sum(r['conflicts'] for r in results)}"
    )
    print(f"durable submits/s with conflict checking: {total / elapsed:.0f}")
    print(
        f"hub process CPU while submitting: {hub_cpu / elapsed:.2f} cores "
        f"({hub_cpu / total * 1000:.2f} ms per submit; volume parsers: "
        f"{health_after.get('volume_parsers')})"
    )
    print(f"submit latency  p50 {pct(submit, 0.5):.1f} ms  p99 {pct(submit, 0.99):.1f} ms")
    print(
        f"ack latency     p50 {pct(acks, 0.5):.1f} ms  p99 {pct(acks, 0.99):.1f} ms "
        f"({len(acks)} acks, sequential)"
    )
    print(f"submit->SSE     p50 {pct(delays, 0.5):.1f} ms  p99 {pct(delays, 0.99):.1f} ms")
    writes = after.get("writes", 0) - batches_before.get("writes", 0)
    commits = after.get("batches", 0) - batches_before.get("batches", 0)
    if commits:
        print(
            f"group commit: {writes} changes in {commits} commits "
            f"({writes / commits:.1f} per commit, largest {after.get('largest_batch')})"
        )


if __name__ == "__main__":
    main()
