"""Alert latency of the running hub: from a report's arrival to the event on both streams.

A real server (uvicorn, SQLite file, the whole write path) receives N
background tracks from four parties, each party posting its batch once per
second (N reports per second in all: uniform traffic in a 10 x 15 degree box,
FL0-FL400, 120-250 m/s). Every ``--probe-every`` seconds a fresh head-on pair
of two parties is reported away from the background traffic; the latency of a
probe is the time from just before its second report is posted to the moment
the ``alert_raised`` event has arrived on *both* parties' SSE streams.

Between cycles the hub's quick screen (every ``--quick-interval-s``; 0 turns it
off, as before it existed) screens the tracks whose reports changed their
prediction, so a new conflict need not wait for the next cycle.

With ``--submit-rate R`` the same hub also takes R notice submits per second
over HTTP while it screens (``--submitters`` processes, each on one kept-alive
connection with the standard library's client, each paced to its share; the
notices are those of benchmarks/service.py: polygons over the Middle East,
active hours to weeks ahead, so they fill the strategic index the intrusion
screen reads but raise no alert here).

The feeders, submitters and SSE listeners run in processes of their own
(spawned), so that the hub's process pays only for the hub.

    python benchmarks/tactical_service.py --tracks 10000 --duration 60
    python benchmarks/tactical_service.py --tracks 10000 --duration 30 --submit-rate 300
    python benchmarks/tactical_service.py --tracks 10000 --quick-interval-s 0
    python benchmarks/tactical_service.py --tracks 10000 --rate-hz 4
    python benchmarks/tactical_service.py --tracks 10000 --runs 5 --submit-rate 300
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np

from deconflict.api.server import ServerThread
from deconflict.config import Settings
from deconflict.service.tactical import Tactical
from deconflict.tactical.settings import TacticalSettings
from deconflict.tactical.tracks import TrackLimits

ADMIN = "admin-token-for-benchmarks-0123456789"
PARTIES = ("blue", "red", "green", "white")


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def listener(url: str, token: str, stop: Any, out: Any, ready: Any) -> None:
    """Follows one party's SSE stream; reports when each probe's alert arrived."""
    seen: dict[str, float] = {}  # own track id -> arrival time
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    try:
        with (
            httpx.Client(base_url=url, timeout=httpx.Timeout(60.0, read=None)) as http,
            http.stream("GET", "/v1/events", headers=headers) as r,
        ):
            ready.set()
            kind = ""
            for line in r.iter_lines():
                if stop.is_set():
                    break
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind == "alert_raised":
                    data = json.loads(line[6:])["data"]  # the frame holds the whole event
                    track = data.get("track_id")
                    if isinstance(track, str) and track.startswith("PROBE"):
                        seen.setdefault(track, time.time())
    except httpx.HTTPError:  # the hub stopped mid-stream: what arrived still counts
        pass
    out.put(seen)


def submitter(
    url: str, token: str, rate: float, stop: Any, out: Any, seed: int, ready: Any
) -> None:
    """Notice submits at ``rate`` per second, each answered durably (201)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from service import doc  # benchmarks/service.py: the same notices

    # Starting (the imports above: numpy, the hub's modules) costs each process 2-3 s
    # of CPU; six at once took the 2-core machine for the first ~10 s of a 15 s run.
    ready.set()

    rng = random.Random(seed)
    t0 = datetime.now(UTC)
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    lat: list[float] = []
    start = time.perf_counter()
    k = 0
    while not stop.is_set():
        due = start + k / rate
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        body = json.dumps(doc(rng, t0, "white", title=f"load {k}"))
        s = time.perf_counter()
        conn.request("POST", "/v1/notices", body, headers)
        r = conn.getresponse()
        answer = r.read()
        lat.append(time.perf_counter() - s)
        assert r.status == 201, answer
        k += 1
    conn.close()
    out.put({"submit": lat, "seconds": time.perf_counter() - start})


def background(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    return {
        "lat": rng.uniform(40.0, 50.0, n),
        "lon": rng.uniform(-5.0, 10.0, n),
        "alt": rng.uniform(0.0, 12_192.0, n),
        "gs": rng.uniform(120.0, 250.0, n),
        "trk": rng.uniform(0.0, 360.0, n),
        "vs": np.where(rng.random(n) < 0.2, rng.uniform(-15.0, 15.0, n), 0.0),
    }


def feeder(
    url: str,
    party: str,
    token: str,
    idx: np.ndarray,
    bg: dict[str, np.ndarray],
    stop: Any,
    out: Any,
) -> None:
    posted: list[float] = []
    http = httpx.Client(base_url=url, timeout=60.0, headers={"Authorization": f"Bearer {token}"})
    t0 = time.time()
    while not stop.is_set():
        now = time.time()
        dt = now - t0
        rad = np.radians(bg["trk"][idx])
        lat = bg["lat"][idx] + np.degrees(bg["gs"][idx] * np.cos(rad) * dt / 6_371_000)
        lon = bg["lon"][idx] + np.degrees(
            bg["gs"][idx] * np.sin(rad) * dt / (6_371_000 * np.cos(np.radians(bg["lat"][idx])))
        )
        alt = np.clip(bg["alt"][idx] + bg["vs"][idx] * dt, 0, 12_192)
        stamp = _iso(now)
        reports = [
            {
                "track_id": f"{party}-{k}",
                "time": stamp,
                "lat": float(lat[m]),
                "lon": float(lon[m]),
                "alt_m": float(alt[m]),
                "gs_mps": float(bg["gs"][idx][m]),
                "trk_deg": float(bg["trk"][idx][m]),
                "vs_mps": float(bg["vs"][idx][m]),
            }
            for m, k in enumerate(idx.tolist())
        ]
        started = time.time()
        r = http.post("/v1/tracks", json={"reports": reports})
        posted.append(time.time() - started)
        assert r.status_code == 200, r.text
        stop.wait(max(0.0, 1.0 - (time.time() - now)))
    out.put(posted)


def run_once(args: argparse.Namespace) -> dict[str, Any]:
    load_start = round(os.getloadavg()[0], 2)
    rng = np.random.default_rng(7)
    ctx = mp.get_context("spawn")  # the hub already runs threads here
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            db_path=Path(tmp) / "hub.db",
            admin_token=ADMIN,
            port=0,
            rate_per_s=1e6,
            rate_burst=1_000_000,
            max_body_bytes=64 * 1024 * 1024,
            tactical=TacticalSettings(
                screen_interval_s=1.0 / args.rate_hz,
                quick_interval_s=args.quick_interval_s,
                max_batch=args.tracks,
                escalate_after_s=3600.0,
                # each party fields its quarter of the picture (the default cap of
                # 1,000 live tracks a party would leave 4,000 of 10,000)
                limits=TrackLimits(max_tracks_per_party=args.tracks),
                full_interval_s=args.full_interval_s,
            ),
        )
        server = ServerThread(settings).start()
        app: Any = server.server.config.app
        tactical: Tactical = app.state.tactical
        committed: dict[str, float] = {}  # probe -> when its alert_raised was committed

        def on_event(alert_id: str, parties: list[str], event: str, t: float) -> None:
            alert = tactical.book.by_id.get(alert_id)
            if event == "alert_raised" and alert is not None and "PROBE" in str(alert.key):
                committed.setdefault(str(alert.key[2]), t)

        tactical.on_event = on_event
        admin = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {ADMIN}"})
        loaders = [f"load{k}" for k in range(args.submitters if args.submit_rate else 0)]
        tokens = {
            p: admin.post("/v1/parties", json={"id": p, "name": p}).json()["token"]
            for p in (*PARTIES, *loaders)
        }
        stop = ctx.Event()
        seen_q: Any = ctx.Queue()
        listeners = []
        for p in ("blue", "red"):
            ready = ctx.Event()
            proc = ctx.Process(target=listener, args=(server.url, tokens[p], stop, seen_q, ready))
            proc.start()
            ready.wait(60)
            listeners.append(proc)
        bg = background(rng, args.tracks)
        posted_q: Any = ctx.Queue()
        feeders = [
            ctx.Process(
                target=feeder,
                args=(server.url, p, tokens[p], np.arange(k, args.tracks, 4), bg, stop, posted_q),
            )
            for k, p in enumerate(PARTIES)
        ]
        for f in feeders:
            f.start()
        time.sleep(args.warmup)  # let the picture fill up (and the first cycles pass)
        # ... and the first cycles' alerts (the background's ~2,600 standing
        # alerts, raised at once) be written, or the first probes measure that
        settle_until = time.time() + 120.0
        while time.time() < settle_until and (
            tactical.stats["cycles"] < 3 or tactical.stats["writes_pending"] > 0
        ):
            time.sleep(0.2)
        submit_q: Any = ctx.Queue()
        started = [ctx.Event() for _ in loaders]
        submitters = [
            ctx.Process(
                target=submitter,
                args=(
                    server.url,
                    tokens[p],
                    args.submit_rate / len(loaders),
                    stop,
                    submit_q,
                    k,
                    started[k],
                ),
            )
            for k, p in enumerate(loaders)
        ]
        for s in submitters:
            s.start()
        for ev in started:  # measured from when they all submit, not while they start
            ev.wait(300)
        cpu0 = os.times()
        blue = httpx.Client(
            base_url=server.url,
            headers={"Authorization": f"Bearer {tokens['blue']}"},
            timeout=60.0,
        )
        red = httpx.Client(
            base_url=server.url,
            headers={"Authorization": f"Bearer {tokens['red']}"},
            timeout=60.0,
        )
        sent: dict[str, float] = {}
        answered: dict[str, float] = {}  # probe -> its second POST answered
        time.sleep(1.0 if submitters else 0.0)  # the submit load is running
        end = time.time() + args.duration
        k = 0
        while time.time() < end:
            lat = -30.0 + 0.5 * (k % 40)
            name = f"PROBE{k}"
            now = time.time()
            common = {"time": _iso(now), "alt_m": 9000.0, "gs_mps": 220.0, "vs_mps": 0.0}
            r1 = blue.post(
                "/v1/tracks",
                json={
                    "reports": [
                        {"track_id": name, "lat": lat, "lon": 20.0, "trk_deg": 90.0, **common}
                    ]
                },
            )
            sent[name] = time.time()
            r2 = red.post(
                "/v1/tracks",
                json={
                    "reports": [
                        {"track_id": name, "lat": lat, "lon": 20.3, "trk_deg": 270.0, **common}
                    ]
                },
            )
            assert r1.status_code == r2.status_code == 200
            answered[name] = time.time()
            k += 1
            time.sleep(args.probe_every)
        time.sleep(3.0)
        cpu1 = os.times()
        stop.set()
        submits = [submit_q.get(timeout=300) for _ in submitters]
        posted = [x for _ in feeders for x in posted_q.get(timeout=300)]
        stats = dict(tactical.stats)
        active = len(tactical.book)
        live = len(tactical.tracks)
        server.stop()
        seen_by = [seen_q.get(timeout=300) for _ in listeners]
        for proc in [*listeners, *feeders, *submitters]:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
    latencies = []
    to_commit = []  # report -> alert committed
    to_answer = sorted(answered[name] - t for name, t in sent.items() if name in answered)
    missed = 0
    for name, t_sent in sent.items():
        arrivals = [seen.get(name) for seen in seen_by]
        if any(a is None for a in arrivals):
            missed += 1
            continue
        latencies.append(max(a for a in arrivals if a is not None) - t_sent)
        if name in committed:
            to_commit.append(committed[name] - t_sent)
    in_order = [round(x, 2) for x in latencies]
    latencies.sort()
    to_commit.sort()
    submit_lat = sorted(x for s in submits for x in s["submit"])
    submit_s = max((s["seconds"] for s in submits), default=0.0)
    wall = args.duration + 3.0 + (1.0 if submitters else 0.0)

    def pct(q: float, values: list[float] = latencies) -> float:
        return values[min(len(values) - 1, int(q * len(values)))] if values else 0.0

    return {
        "tracks": args.tracks,
        "reports_per_s": args.tracks,
        "screen_rate_hz": args.rate_hz,
        "quick_interval_s": args.quick_interval_s,
        "submit_rate_asked": args.submit_rate,
        "submits": len(submit_lat),
        "submits_per_s": round(len(submit_lat) / submit_s, 1) if submit_s else 0.0,
        "submit_p50_s": round(pct(0.50, submit_lat), 4),
        "submit_p99_s": round(pct(0.99, submit_lat), 4),
        "probes": len(sent),
        "missed": missed,
        "latency_p50_s": round(pct(0.50), 3),
        "latency_p99_s": round(pct(0.99), 3),
        "latency_max_s": round(latencies[-1], 3) if latencies else None,
        "latency_mean_s": round(statistics.fmean(latencies), 3) if latencies else None,
        "latencies_s": in_order,  # probe by probe, in the order sent
        "to_commit_p50_s": round(pct(0.50, to_commit), 3),
        "to_commit_max_s": round(to_commit[-1], 3) if to_commit else None,
        "probe_post_p50_s": round(pct(0.50, to_answer), 3),
        "probe_post_max_s": round(to_answer[-1], 3) if to_answer else None,
        "hub_cpu_cores": round((cpu1.user + cpu1.system - cpu0.user - cpu0.system) / wall, 2),
        "cycles": stats["cycles"],
        "last_cycle_s": round(stats["last_cycle_s"], 3),
        "max_cycle_s": round(stats["max_cycle_s"], 3),
        "quick_runs": stats["quick_runs"],
        "quick_tracks": stats["quick_tracks"],
        "last_quick_s": round(stats["last_quick_s"], 3),
        "max_quick_s": round(stats["max_quick_s"], 3),
        "post_p50_s": round(statistics.median(posted), 3) if posted else None,
        "active_alerts_at_end": active,
        "live_tracks_at_end": live,
        "full_passes": stats["full_passes"],
        "incremental_runs": stats["incremental_runs"],
        "writes_queued_max": stats["writes_queued_max"],
        "max_raise_write_s": round(stats["max_raise_write_s"], 3),
        "updates_superseded": stats["updates_superseded"],
        "load_avg_1m_at_start": load_start,
        "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tracks", type=int, default=10_000)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--rate-hz", type=float, default=1.0, help="screening cycles per second")
    ap.add_argument(
        "--quick-interval-s",
        type=float,
        default=0.05,
        help="quick screen between cycles at most this often (0: off)",
    )
    ap.add_argument("--probe-every", type=float, default=1.5)
    ap.add_argument(
        "--full-interval-s",
        type=float,
        default=10.0,
        help="incremental cycles: longest time between full passes (0: every cycle full)",
    )
    ap.add_argument("--submit-rate", type=float, default=0.0, help="notice submits per second")
    ap.add_argument("--submitters", type=int, default=6, help="processes sharing the submits")
    ap.add_argument("--warmup", type=float, default=3.0, help="seconds before the probes start")
    ap.add_argument("--runs", type=int, default=1, help="fresh hubs, one after the other")
    args = ap.parse_args()
    results = []
    for run in range(args.runs):
        result = run_once(args)
        results.append(result)
        print(json.dumps({"run": run + 1, **result}), flush=True)
    if args.runs > 1:
        p99 = [r["latency_p99_s"] for r in results]
        p50 = [r["latency_p50_s"] for r in results]
        rate = [r["submits_per_s"] for r in results]
        print(
            json.dumps(
                {
                    "runs": args.runs,
                    "latency_p99_s_median": statistics.median(p99),
                    "latency_p99_s_range": [min(p99), max(p99)],
                    "latency_p50_s_median": statistics.median(p50),
                    "latency_p50_s_range": [min(p50), max(p50)],
                    "pooled_p99_s": sorted(x for r in results for x in r["latencies_s"])[
                        int(0.99 * sum(len(r["latencies_s"]) for r in results))
                    ],
                    "submits_per_s_median": statistics.median(rate),
                    "missed": sum(r["missed"] for r in results),
                }
            )
        )


if __name__ == "__main__":
    main()
