"""`deconflict replay`: stream recorded ADS-B trajectories into a running hub as several parties.

The recording comes from the `traffic` package's real samples (``pip install
'deconflict[replay]'``; collections ``quickstart`` (Paris area, 2021-10-07) and
``switzerland``), or from a CSV file with the same columns (``timestamp``,
``callsign``, ``icao24``, ``latitude``, ``longitude``, ``altitude`` in feet,
``groundspeed`` in knots, ``track`` in degrees, ``vertical_rate`` in ft/min),
such as ``examples/replay-quickstart.csv`` cut from the quickstart sample.

Aircraft are split into parties by the airline prefix of their callsign (the
three-letter ICAO designator): the ``--parties`` busiest airlines become
parties ``<prefix>-<airline>``, every other aircraft reports as
``<prefix>-others``. The parties are registered with the hub operator's token
and their tokens printed (so the map UI can sign in as any of them).

Recorded time is mapped to wall-clock time at ``--speed`` (1 = real time), and
every report carries the wall-clock time it is sent, as a live feed would; so at
``--speed 4`` each aircraft covers four times the ground per second, and its
reported speeds are multiplied by 4 to match what the hub sees. The hub refuses
a report whose position is implausibly far from the last one (its speed limit),
which caps useful speed-ups at about 4; the reasons of refused reports are
printed at the end.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import math
import os
import secrets
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from deconflict.utc import format_epoch

__all__ = ["Sample", "load_csv", "load_traffic", "parties_by_airline", "register"]

FT = 0.3048
KT = 1852.0 / 3600.0
FPM = FT / 60.0


@dataclass(frozen=True, slots=True)
class Sample:
    t: float  # recorded POSIX time
    callsign: str
    icao24: str
    lat: float
    lon: float
    alt_m: float
    gs_mps: float | None
    trk_deg: float | None
    vs_mps: float | None


def _num(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _sample(row: dict[str, Any]) -> Sample | None:
    lat, lon, alt = _num(row.get("latitude")), _num(row.get("longitude")), _num(row.get("altitude"))
    callsign = str(row.get("callsign") or "").strip()
    stamp = row.get("timestamp")
    if lat is None or lon is None or alt is None or not callsign or stamp is None:
        return None
    if isinstance(stamp, str):
        t = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    else:
        t = float(stamp.timestamp())
    gs, trk, vr = (
        _num(row.get("groundspeed")),
        _num(row.get("track")),
        _num(row.get("vertical_rate")),
    )
    return Sample(
        t=t,
        callsign=callsign,
        icao24=str(row.get("icao24") or callsign),
        lat=lat,
        lon=lon,
        alt_m=alt * FT,
        gs_mps=None if gs is None else gs * KT,
        trk_deg=None if trk is None else trk % 360.0,
        vs_mps=None if vr is None else vr * FPM,
    )


def load_csv(path: Path) -> list[Sample]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = [_sample(r) for r in csv.DictReader(fh)]
    return sorted((s for s in rows if s is not None), key=lambda s: s.t)


def load_traffic(collection: str) -> list[Sample]:
    """Samples of one of the traffic package's collections (quickstart, switzerland)."""
    try:
        samples = importlib.import_module("traffic.data.samples")
    except ImportError as exc:  # pragma: no cover - depends on the optional extra
        raise SystemExit(
            f"the traffic package is not usable ({exc}); install the extra: "
            "pip install 'deconflict[replay]', or replay a CSV with --file"
        ) from exc
    data = getattr(samples, collection).data
    columns = [
        "timestamp",
        "callsign",
        "icao24",
        "latitude",
        "longitude",
        "altitude",
        "groundspeed",
        "track",
        "vertical_rate",
    ]
    records = data[[c for c in columns if c in data.columns]].to_dict("records")
    out = [s for s in (_sample(r) for r in records) if s is not None]
    return sorted(out, key=lambda s: s.t)


def parties_by_airline(samples: list[Sample], n: int, prefix: str) -> dict[str, str]:
    """callsign -> party id: the n busiest airline designators, the rest together."""
    per_airline = Counter(s.callsign[:3].lower() for s in {s.callsign: s for s in samples}.values())
    top = {a for a, _ in per_airline.most_common(n) if a.isalnum()}
    return {
        s.callsign: f"{prefix}-{s.callsign[:3].lower()}"
        if s.callsign[:3].lower() in top
        else f"{prefix}-others"
        for s in samples
    }


def _register_parties(http: httpx.Client, admin: str, parties: list[str]) -> dict[str, str]:
    tokens = {}
    for p in parties:
        r = http.post(
            "/v1/parties",
            json={"id": p, "name": f"Replay {p}"},
            headers={"Authorization": f"Bearer {admin}"},
        )
        if r.status_code != 201:
            raise SystemExit(f"cannot register party {p}: {r.status_code} {r.text}")
        tokens[p] = r.json()["token"]
    return tokens


def run(args: argparse.Namespace) -> int:
    samples = load_csv(args.file) if args.file else load_traffic(args.collection)
    if not samples:
        print("no samples to replay", file=sys.stderr)
        return 1
    t0 = samples[0].t + args.skip
    samples = [s for s in samples if s.t >= t0]
    if args.duration:
        samples = [s for s in samples if s.t <= t0 + args.duration]
    prefix = args.prefix or f"rp{secrets.token_hex(2)}"
    owner = parties_by_airline(samples, args.parties, prefix)
    with httpx.Client(base_url=args.server, timeout=30.0) as http:
        return _play(args, http, samples, t0, owner)


def _play(
    args: argparse.Namespace,
    http: httpx.Client,
    samples: list[Sample],
    t0: float,
    owner: dict[str, str],
) -> int:
    if args.tokens and args.tokens.exists():
        tokens: dict[str, str] = json.loads(args.tokens.read_text())
    else:
        if not args.admin_token:
            print("--admin-token (or DECONFLICT_ADMIN_TOKEN) is needed", file=sys.stderr)
            return 2
        tokens = _register_parties(http, args.admin_token, sorted(set(owner.values())))
        if args.tokens:
            args.tokens.write_text(json.dumps(tokens, indent=2))
    for p, tok in sorted(tokens.items()):
        print(f"party {p}: token {tok}")
    start_wall = time.time()
    k = 0
    sent = accepted = rejected = 0
    reasons: Counter[str] = Counter()  # why reports were refused, said at the end
    if args.speed != 1.0 and not args.quiet:
        print(
            f"--speed {args.speed:g}: recorded time runs {args.speed:g}x faster, so each "
            f"aircraft moves {args.speed:g}x faster on the hub's clock, and its reported "
            f"speeds are scaled to match (a 243 kt airliner shows {243 * args.speed:.0f} kt)."
        )
    while k < len(samples):
        rec_now = t0 + (time.time() - start_wall) * args.speed
        latest: dict[str, Sample] = {}
        while k < len(samples) and samples[k].t <= rec_now:
            latest[samples[k].icao24] = samples[k]
            k += 1
        batches: dict[str, list[dict[str, Any]]] = {}
        now = time.time()
        for s in latest.values():
            doc: dict[str, Any] = {
                "track_id": f"{s.callsign}-{s.icao24}"[:64],
                "time": format_epoch(now),
                "lat": s.lat,
                "lon": s.lon,
                "alt_m": s.alt_m,
                "category": "manned",
            }
            for name, value in (("gs_mps", s.gs_mps), ("trk_deg", s.trk_deg), ("vs_mps", s.vs_mps)):
                if value is not None:
                    doc[name] = value * (args.speed if name != "trk_deg" else 1.0)
            batches.setdefault(owner[s.callsign], []).append(doc)
        for party, docs in batches.items():
            r = http.post(
                "/v1/tracks",
                json={"reports": docs},
                headers={"Authorization": f"Bearer {tokens[party]}"},
            )
            sent += len(docs)
            if r.status_code == 200:
                body = r.json()
                accepted += body["accepted_count"]
                rejected += body["rejected_count"]
                for refusal in body.get("rejected", []):
                    reasons[str(refusal.get("reason"))] += 1
            else:
                rejected += len(docs)
                reasons[f"HTTP {r.status_code}: {r.text[:200]}"] += len(docs)
        if not args.quiet:
            print(
                f"{format_epoch(rec_now)} recorded; sent {sent} reports "
                f"({accepted} accepted, {rejected} rejected)",
                flush=True,
            )
        time.sleep(args.interval)
    for reason, count in reasons.most_common(5):
        print(f"rejected {count}: {reason}")
    alerts = set()
    for tok in tokens.values():
        r = http.get("/v1/alerts", headers={"Authorization": f"Bearer {tok}"})
        if r.status_code == 200:
            alerts |= {a["id"] for a in r.json()["alerts"]}
    print(
        json.dumps(
            {
                "reports": sent,
                "accepted": accepted,
                "rejected": rejected,
                "alerts": len(alerts),
                "parties": len(tokens),
            }
        )
    )
    return 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "replay",
        help="stream recorded ADS-B traffic into a running hub as several parties",
        description=(__doc__ or "").replace("``", ""),  # plain text, not reStructuredText
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--server",
        default=os.environ.get("DECONFLICT_URL", "http://127.0.0.1:8080"),
        help="the hub's URL (default: $DECONFLICT_URL or http://127.0.0.1:8080)",
    )
    p.add_argument(
        "--admin-token",
        default=os.environ.get("DECONFLICT_ADMIN_TOKEN"),
        help="hub operator token, to register the replay's parties",
    )
    p.add_argument(
        "--collection",
        default="quickstart",
        choices=("quickstart", "switzerland"),
        help="the traffic package's sample to play (default: quickstart)",
    )
    p.add_argument("--file", type=Path, help="a recorded CSV instead of the traffic package")
    p.add_argument("--parties", type=int, default=4, help="busiest airlines made parties")
    p.add_argument("--prefix", help="party id prefix (default: rp + 4 random hex digits)")
    p.add_argument("--tokens", type=Path, help="JSON file of party tokens (read or written)")
    p.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="recorded seconds per second; reported speeds are scaled by it (at most about 4)",
    )
    p.add_argument("--skip", type=float, default=0.0, help="recorded seconds to skip")
    p.add_argument("--duration", type=float, default=0.0, help="recorded seconds to play")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between batches")
    p.add_argument("--quiet", action="store_true", help="print only the final summary")
    p.set_defaults(handler=run)
