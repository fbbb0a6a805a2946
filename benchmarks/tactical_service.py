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

    python benchmarks/tactical_service.py --tracks 10000 --duration 60
    python benchmarks/tactical_service.py --tracks 10000 --quick-interval-s 0
    python benchmarks/tactical_service.py --tracks 10000 --rate-hz 4
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from deconflict.api.server import ServerThread
from deconflict.config import Settings
from deconflict.service.tactical import Tactical
from deconflict.tactical.settings import TacticalSettings

ADMIN = "admin-token-for-benchmarks-0123456789"
PARTIES = ("blue", "red", "green", "white")


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Listener(threading.Thread):
    """Follows one party's SSE stream; records when each probe's alert arrived."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(daemon=True)
        self.url, self.token = url, token
        self.seen: dict[str, float] = {}  # own track id -> arrival time
        self.stop = threading.Event()

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "text/event-stream"}
        with (
            httpx.Client(base_url=self.url, timeout=httpx.Timeout(60.0, read=None)) as http,
            http.stream("GET", "/v1/events", headers=headers) as r,
        ):
            kind = ""
            for line in r.iter_lines():
                if self.stop.is_set():
                    return
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind == "alert_raised":
                    data = json.loads(line[6:])["data"]  # the frame holds the whole event
                    track = data.get("track_id")
                    if isinstance(track, str) and track.startswith("PROBE"):
                        self.seen.setdefault(track, time.time())


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
    stop: threading.Event,
    posted: list[float],
) -> None:
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
    args = ap.parse_args()
    rng = np.random.default_rng(7)
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
        tokens = {
            p: admin.post("/v1/parties", json={"id": p, "name": p}).json()["token"] for p in PARTIES
        }
        listeners = {p: Listener(server.url, tokens[p]) for p in ("blue", "red")}
        for listener in listeners.values():
            listener.start()
        bg = background(rng, args.tracks)
        stop = threading.Event()
        posted: list[float] = []
        feeders = [
            threading.Thread(
                target=feeder,
                args=(server.url, p, tokens[p], np.arange(k, args.tracks, 4), bg, stop, posted),
                daemon=True,
            )
            for k, p in enumerate(PARTIES)
        ]
        for f in feeders:
            f.start()
        time.sleep(3.0)  # let the picture fill up
        blue = httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {tokens['blue']}"}
        )
        red = httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {tokens['red']}"}
        )
        sent: dict[str, float] = {}
        answered: dict[str, float] = {}  # probe -> its second POST answered
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
        stop.set()
        stats = dict(tactical.stats)
        active = len(tactical.book)
        for listener in listeners.values():
            listener.stop.set()
        server.stop()
    latencies = []
    to_commit = []  # report -> alert committed
    to_answer = sorted(answered[name] - t for name, t in sent.items() if name in answered)
    missed = 0
    for name, t_sent in sent.items():
        arrivals = [listener.seen.get(name) for listener in listeners.values()]
        if any(a is None for a in arrivals):
            missed += 1
            continue
        latencies.append(max(a for a in arrivals if a is not None) - t_sent)
        if name in committed:
            to_commit.append(committed[name] - t_sent)
    in_order = [round(x, 2) for x in latencies]
    latencies.sort()
    to_commit.sort()

    def pct(q: float, values: list[float] = latencies) -> float:
        return values[min(len(values) - 1, int(q * len(values)))] if values else 0.0

    print(
        json.dumps(
            {
                "tracks": args.tracks,
                "reports_per_s": args.tracks,
                "screen_rate_hz": args.rate_hz,
                "quick_interval_s": args.quick_interval_s,
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
                "cycles": stats["cycles"],
                "last_cycle_s": round(stats["last_cycle_s"], 3),
                "max_cycle_s": round(stats["max_cycle_s"], 3),
                "quick_runs": stats["quick_runs"],
                "quick_tracks": stats["quick_tracks"],
                "last_quick_s": round(stats["last_quick_s"], 3),
                "max_quick_s": round(stats["max_quick_s"], 3),
                "post_p50_s": round(statistics.median(posted), 3) if posted else None,
                "active_alerts_at_end": active,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
