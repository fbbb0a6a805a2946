"""Benchmark of the F3548 DSS interface over HTTP: intent writes/s and query latency.

    python benchmarks/dss.py --sizes 10000 100000 --clients 8

Starts `deconflict serve` in a subprocess (real socket, SQLite with synchronous=FULL,
ledger on) with an RS256 key of its own for the USSs' tokens, then grows the stored
operational intents to each size by creating them over HTTP from ``--clients`` USSs at
once (each USS a thread with one kept-alive connection; ``--usss`` USSs in all, under
the hub's per-party quota). Intents are 50 m circles, 0-120 m W84, 30-90 minutes in the
next 24 hours, on a grid of distinct cells over a region of 2 x 2 degrees, so that no
create needs a key (as in the InterUSS heavy-traffic tests: close, not intersecting).
At each size it reports the create rate on the way there, then ``--updates`` updates
(new extents, the current OVN) and ``--queries`` area queries (1 km circles, the next
3 hours) with their latencies. Every request is checked for its status code.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ADMIN = "bench-admin-token-0123456789"
SC = "utm.strategic_coordination"
OIR = "/dss/v1/operational_intent_references"
SPACING_DEG = 0.002  # ~220 m between centres: 50 m circles never intersect


def _time(t: datetime) -> dict[str, str]:
    return {"value": t.isoformat().replace("+00:00", "Z"), "format": "RFC3339"}


def _circle(lat: float, lng: float, radius: float, start: datetime, minutes: float) -> Any:
    return {
        "volume": {
            "outline_circle": {
                "center": {"lat": lat, "lng": lng},
                "radius": {"value": radius, "units": "M"},
            },
            "altitude_lower": {"value": 0, "reference": "W84", "units": "M"},
            "altitude_upper": {"value": 120, "reference": "W84", "units": "M"},
        },
        "time_start": _time(start),
        "time_end": _time(start + timedelta(minutes=minutes)),
    }


class Fleet:
    """The USSs, their tokens and the grid cells handed out to their intents."""

    def __init__(self, url: str, key: rsa.RSAPrivateKey, usss: int) -> None:
        self.url = url
        self.key = key
        self.subs = [f"bench-uss-{i}" for i in range(usss)]
        self.tokens = {s: self._token(s) for s in self.subs}
        self._next = 0
        self._lock = threading.Lock()
        self.rng = random.Random(7)
        self.t0 = datetime.now(UTC) + timedelta(minutes=5)
        self.side = 1000  # 1000 x 1000 cells: room for 1M intents

    def _token(self, sub: str) -> str:
        now = int(time.time())
        claims = {"sub": sub, "scope": SC, "aud": "localhost", "exp": now + 86_400}
        return jwt.encode(claims, self.key, algorithm="RS256")

    def cell(self) -> tuple[float, float]:
        with self._lock:
            n = self._next
            self._next += 1
        return 40.0 + (n // self.side) * SPACING_DEG, 10.0 + (n % self.side) * SPACING_DEG

    def extents(self, lat: float, lng: float) -> list[Any]:
        start = self.t0 + timedelta(minutes=self.rng.uniform(0, 24 * 60))
        return [_circle(lat, lng, 50, start, self.rng.uniform(30, 90))]

    def client(self, sub: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.tokens[sub]}"}, timeout=60
        )


def _create(fleet: Fleet, http: httpx.Client) -> tuple[str, str, str, float]:
    lat, lng = fleet.cell()
    op = str(uuid.uuid4())
    body = {
        "extents": fleet.extents(lat, lng),
        "state": "Accepted",
        "uss_base_url": "https://uss.example/bench",
        "new_subscription": {"uss_base_url": "https://uss.example/bench"},
    }
    t = time.perf_counter()
    r = http.put(f"{OIR}/{op}", json=body)
    took = time.perf_counter() - t
    if r.status_code != 201:
        raise RuntimeError(f"create: {r.status_code} {r.text[:300]}")
    ref = r.json()["operational_intent_reference"]
    return op, ref["ovn"], ref["subscription_id"], took


def _grow(fleet: Fleet, clients: int, count: int, owned: dict[str, list[Any]]) -> float:
    """Create ``count`` intents from ``clients`` threads at once; the rate per second.

    Thread i's j-th intent is USS (i + j * clients)'s, so that every USS gets its share."""
    lock = threading.Lock()
    per = [count // clients + (1 if i < count % clients else 0) for i in range(clients)]

    def run(i: int) -> None:
        https: dict[str, httpx.Client] = {}
        try:
            for j in range(per[i]):
                sub = fleet.subs[(i + j * clients) % len(fleet.subs)]
                http = https.get(sub) or https.setdefault(sub, fleet.client(sub))
                op, ovn, sub_id, _took = _create(fleet, http)
                with lock:
                    owned.setdefault(sub, []).append([op, ovn, sub_id])
        finally:
            for http in https.values():
                http.close()

    t = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(run, range(clients)))
    return count / (time.perf_counter() - t)


def _updates(
    fleet: Fleet, clients: int, n: int, owned: dict[str, list[Any]]
) -> tuple[float, list[float]]:
    subs = [s for s in fleet.subs if owned.get(s)]
    lat_ms: list[float] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        sub = subs[i % len(subs)]
        mine = owned[sub]
        with fleet.client(sub) as http:
            for k in range(n // clients):
                entry = mine[(k * 7919 + i) % len(mine)]
                op, ovn, sub_id = entry
                lat, lng = fleet.cell()
                body = {
                    "extents": fleet.extents(lat, lng),
                    "state": "Accepted",
                    "uss_base_url": "https://uss.example/bench",
                    "subscription_id": sub_id,
                }
                t = time.perf_counter()
                r = http.put(f"{OIR}/{op}/{ovn}", json=body)
                took = time.perf_counter() - t
                if r.status_code != 200:
                    raise RuntimeError(f"update: {r.status_code} {r.text[:300]}")
                entry[1] = r.json()["operational_intent_reference"]["ovn"]
                with lock:
                    lat_ms.append(took * 1000)

    t = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(run, range(clients)))
    return len(lat_ms) / (time.perf_counter() - t), lat_ms


def _queries(fleet: Fleet, n: int) -> tuple[list[float], float]:
    rng = random.Random(3)
    lat_ms: list[float] = []
    found = 0
    with fleet.client(fleet.subs[0]) as http:
        for _ in range(n):
            cells = max(1, fleet._next)
            k = rng.randrange(cells)
            lat = 40.0 + (k // fleet.side) * SPACING_DEG
            lng = 10.0 + (k % fleet.side) * SPACING_DEG
            area = _circle(lat, lng, 1000, datetime.now(UTC), 180)
            t = time.perf_counter()
            r = http.post(f"{OIR}/query", json={"area_of_interest": area})
            lat_ms.append((time.perf_counter() - t) * 1000)
            if r.status_code != 200:
                raise RuntimeError(f"query: {r.status_code} {r.text[:300]}")
            found += len(r.json()["operational_intent_references"])
    return lat_ms, found / n


def preload(db: Path, fleet: Fleet, count: int, owned: dict[str, list[Any]]) -> float:
    """``count`` intents stored before the server starts; the rate per second.

    Faster than over HTTP, and the same rows: each intent's hub notice through the DSS's
    own port into the hub (`hub_port.notify`, 64 at once, so that group commit shares
    the fsyncs), then its DSS rows (reference and implicit subscription, as `Dss` writes
    them) in one transaction. The server re-reads all of it at start-up."""
    import asyncio

    from deconflict.config import Settings
    from deconflict.interop.f3548 import hub_port
    from deconflict.interop.f3548.dss import notice_body, party_id_for
    from deconflict.interop.f3548.geometry import parse_extents
    from deconflict.service import Hub
    from deconflict.utc import format_ts

    hub = Hub(Settings(db_path=db, admin_token=ADMIN, volume_parser_processes=0))
    hub.start(sweep=False)
    rows: list[tuple[dict[str, Any], dict[str, Any]]] = []
    url = "https://uss.example/bench"

    async def run() -> None:
        await hub_port.ensure_party(hub, hub_port.DSS_PARTY, "ASTM F3548 DSS directory")
        for sub in fleet.subs:
            await hub_port.ensure_party(hub, party_id_for(sub), f"USS {sub}")
        gate = asyncio.Semaphore(64)

        async def one(i: int) -> None:
            sub = fleet.subs[i % len(fleet.subs)]
            op, sub_id = str(uuid.uuid4()), str(uuid.uuid4())
            vols = parse_extents(fleet.extents(*fleet.cell()), datetime.now(UTC), checked=True)
            async with gate:
                notice_id, version = await hub_port.notify(
                    hub,
                    party_id_for(sub),
                    notice_body("op", party_id_for(sub), op, "Accepted", url, vols),
                )
            ts = format_ts(datetime.now(UTC))
            window = {
                "time_start": format_ts(min(v.time_start for v in vols)),
                "time_end": format_ts(max(v.time_end for v in vols)),
            }
            volumes = json.dumps([v.to_json() for v in vols])
            ovn = uuid.uuid4().hex
            ref = {
                "kind": "op",
                "id": op,
                "manager": sub,
                "version": 1,
                "ovn": ovn,
                "state": "Accepted",
                "uss_base_url": url,
                "subscription_id": sub_id,
                **window,
                "volumes": volumes,
                "notice_id": notice_id,
                "notice_version": version,
                "created_at": ts,
                "updated_at": ts,
            }
            implicit = {
                "id": sub_id,
                "manager": sub,
                "version": uuid.uuid4().hex[:20],
                "notification_index": 0,
                "uss_base_url": url,
                "notify_for_operational_intents": 1,
                "notify_for_constraints": 0,
                "implicit": 1,
                **window,
                "volumes": volumes,
                "created_at": ts,
                "updated_at": ts,
            }
            rows.append((ref, implicit))
            owned.setdefault(sub, []).append([op, ovn, sub_id])

        await asyncio.gather(*(one(i) for i in range(count)))

    t = time.perf_counter()
    try:
        asyncio.run(run())
        with hub.store.write() as repo:
            for ref, implicit in rows:
                repo.dss.insert_subscription(implicit)
                repo.dss.insert_reference(ref)
    finally:
        hub.close()
    return count / (time.perf_counter() - t)


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--usss", type=int, default=40, help="USSs in all (quota: 10k intents each)")
    ap.add_argument("--updates", type=int, default=400)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--port", type=int, default=18088)
    ap.add_argument(
        "--preload", type=int, default=0, help="intents stored in-process before the server starts"
    )
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="dss-bench-") as tmp:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = Path(tmp) / "oauth.pem"
        pem.write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        env = {
            **os.environ,
            "DECONFLICT_ADMIN_TOKEN": ADMIN,
            "DECONFLICT_DSS_PUBLIC_KEYS": str(pem),
            "DECONFLICT_DSS_AUDIENCES": "localhost",
            "DECONFLICT_RATE_PER_S": "100000",
            "DECONFLICT_RATE_BURST": "100000",
        }
        fleet = Fleet(f"http://127.0.0.1:{args.port}", key, args.usss)
        owned: dict[str, list[Any]] = {}
        stored = 0
        if args.preload:
            rate = preload(Path(tmp) / "hub.db", fleet, args.preload, owned)
            stored = args.preload
            print(f"preloaded {stored:,} intents in-process at {rate:,.0f}/s")
        server = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [
                sys.executable,
                "-m",
                "deconflict",
                "serve",
                "--db",
                f"{tmp}/hub.db",
                "--port",
                str(args.port),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{args.port}"
        try:
            for _ in range(6000):  # a large preload takes a while to re-read
                try:
                    if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            # the first request waits for the DSS to re-read what is stored
            t = time.perf_counter()
            auth = {"Authorization": f"Bearer {fleet.tokens[fleet.subs[0]]}"}
            httpx.get(f"{url}{OIR}/{uuid.uuid4()}", headers=auth, timeout=1800)
            if stored:
                print(f"server ready in {time.perf_counter() - t:.1f} s")
            print(f"clients: {args.clients} USSs at once; {args.usss} USSs in all")
            print(
                "| stored intents | create rate on the way | update rate | update p50 | "
                "update p99 | query p50 | query p99 | found/query |"
            )
            print("|---|---|---|---|---|---|---|---|")
            for size in sorted(args.sizes):
                if size > stored:
                    rate = _grow(fleet, args.clients, size - stored, owned)
                    rate_text = f"{rate:,.0f}/s"
                else:
                    rate_text = "preloaded"
                stored = max(stored, size)
                up_rate, up_ms = _updates(fleet, args.clients, args.updates, owned)
                q_ms, found = _queries(fleet, args.queries)
                print(
                    f"| {stored:,} | {rate_text} | {up_rate:,.0f}/s | {_pct(up_ms, 50):.1f} ms | "
                    f"{_pct(up_ms, 99):.1f} ms | {_pct(q_ms, 50):.1f} ms | "
                    f"{_pct(q_ms, 99):.1f} ms | {found:.1f} |",
                    flush=True,
                )
        finally:
            server.terminate()
            server.wait(60)


if __name__ == "__main__":
    main()
