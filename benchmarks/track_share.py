"""What the leader spends taking in the tracks another hub process accepted (issue 14).

    python benchmarks/track_share.py [--tracks 10000] [--seconds 10]

`--tracks` live tracks reported at 1 Hz to the other process arrive, every second,
as the rows `service/track_share.py` reads (one JSON body a pass-on interval, here
one a second): each second this times, in this process's CPU, what the leader does
with them: parsing the body, checking each state (`state_of`), merging it into its
picture (`TrackTable.merge`) and deciding whether its path changed enough to be
screened at once (`path_changed`). The database read itself is not in the figure
(one indexed range read a pass-on interval). Prints CPU per second of traffic and
per state.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from deconflict.service.tactical import QUICK_CHANGE_SHARE  # noqa: E402
from deconflict.tactical.changes import PathTolerance, path_changed  # noqa: E402
from deconflict.tactical.settings import TacticalSettings  # noqa: E402
from deconflict.tactical.tracks import (  # noqa: E402
    TrackLimits,
    TrackState,
    TrackTable,
    state_of,
    state_row,
)


def traffic(n: int, t: float, rng: random.Random, base: list[TrackState]) -> list[TrackState]:
    """Each track one second on; 1 % turn."""
    out = []
    for i, s in enumerate(base):
        trk = (s.trk_deg + (rng.uniform(20, 90) if rng.random() < 0.01 else 0.0)) % 360
        d = s.gs_mps / 111_320.0
        lat = s.lat + d * math.cos(math.radians(trk))
        lon = s.lon + d * math.sin(math.radians(trk)) / max(0.1, math.cos(math.radians(lat)))
        out.append(
            TrackState(
                s.party,
                s.track_id,
                t,
                lat,
                lon,
                s.alt_m,
                s.gs_mps,
                trk,
                0.0,
                s.category,
                s.velocity,
                s.callsign,
                t,
            )
        )
        base[i] = out[-1]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tracks", type=int, default=10_000)
    ap.add_argument("--seconds", type=int, default=10)
    args = ap.parse_args()
    rng = random.Random(20150930)
    t0 = time.time()
    base = [
        TrackState(
            f"p{i % 20}",
            f"T{i}",
            t0,
            rng.uniform(43, 51),
            rng.uniform(-4, 8),
            rng.uniform(50, 120),
            rng.uniform(10, 40),
            rng.uniform(0, 360),
            0.0,
            "uas",
            "reported",
            None,
            t0,
        )
        for i in range(args.tracks)
    ]
    table = TrackTable(TrackLimits(max_tracks_per_party=10**9))
    cfg = TacticalSettings()  # the hub's defaults, as `service.tactical.Tactical` builds it
    profiles = [*cfg.profiles.values(), *cfg.pair_profiles.values()]
    tol = PathTolerance(
        QUICK_CHANGE_SHARE * min(p.h_sep_m for p in profiles),
        QUICK_CHANGE_SHARE * min(p.v_sep_m for p in profiles),
        max(p.lookahead_s for p in profiles),
    )
    per_second = []
    changed_total = 0
    for k in range(1, args.seconds + 1):
        now = t0 + k
        body = json.dumps([state_row(s) for s in traffic(args.tracks, now, rng, base)])
        began = time.process_time()
        states = [state_of(r) for r in json.loads(body)]
        before = {(s.party, s.track_id): table.get(s.party, s.track_id) for s in states}
        taken = table.merge(states, now)
        changed = sum(1 for s in taken if path_changed(before.get((s.party, s.track_id)), s, tol))
        per_second.append(time.process_time() - began)
        if k > 1:  # the first second brings every track new
            changed_total += changed
    steady = per_second[1:]
    med = statistics.median(steady)
    print(
        f"load average {os.getloadavg()[0]:.1f}; {args.tracks:,} tracks at 1 Hz, {args.seconds} s"
    )
    print(
        "| tracks | leader CPU per second of traffic, median (min-max) | per state "
        "| paths changed per second |"
    )
    print("|--:|--:|--:|--:|")
    print(
        f"| {args.tracks:,} | {med * 1000:.0f} ms ({min(steady) * 1000:.0f}-"
        f"{max(steady) * 1000:.0f}) | {med / args.tracks * 1e6:.1f} us "
        f"| {changed_total / max(1, len(steady)):,.0f} |"
    )


if __name__ == "__main__":
    main()
