"""Incremental cycles in the service (issue 19): what a full screen finds, every cycle.

The hub's cycle screens separation incrementally (`TacticalSettings.full_interval_s`):
between full passes only the tracks that strayed from their path are screened
outright. Here cycles are run by hand at one-second steps over a dense drone
scene with manoeuvres, and each is checked against a full screen of the same
picture: every conflict the full screen finds is an active alert after that very
cycle (so certainly within one full-pass interval), and reaches both streams.
"""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

from deconflict.tactical.cycle import CycleFindings, find_separations
from tests.tactical_service.conftest import tactical_world
from tests.tactical_service.helpers import alert_events, report, send, tactical_of, wait_for

METRE = 1 / 111_195  # degrees of latitude


def _drone(rng: random.Random, name: str, dt_s: float = 0.0) -> dict[str, Any]:
    x, y = rng.uniform(-800, 800), rng.uniform(-800, 800)
    return report(
        name,
        35.0 + y * METRE,
        36.0 + x * METRE / math.cos(math.radians(35.0)),
        rng.uniform(80, 120),
        gs=rng.uniform(3, 20),
        trk=rng.uniform(0, 360),
        vs=rng.choice([0.0, 0.0, rng.uniform(-2, 2)]),
        dt_s=dt_s,
        category="uas",
    )


def test_every_incremental_cycle_raises_what_a_full_screen_finds(tmp_path: Path) -> None:
    w = tactical_world(
        tmp_path, screen_interval_s=3600.0, quick_interval_s=0.0, full_interval_s=4.0
    )
    try:
        parties = {p: w.party(p) for p in ("coalition", "russia", "un")}
        t = tactical_of(w)
        wait_for(lambda: t.stats["cycles"] >= 1, what="the first cycle")
        rng = random.Random(19)
        names = {p: [f"{p[:2]}{i}" for i in range(150)] for p in parties}
        for p, api in parties.items():
            send(api, *[_drone(rng, n) for n in names[p]])
        t0 = t.now()
        found_total = 0
        for k in range(13):
            if k in (3, 6, 9):  # some drones manoeuvre or jump: changed tracks
                for p, api in parties.items():
                    movers = rng.sample(names[p], 10)
                    send(api, *[_drone(rng, n, dt_s=k - 0.5) for n in movers])
            now = t0 + k
            full = CycleFindings()
            find_separations(t.tracks.snapshot(now), t.cfg, full)  # no memory: a full screen
            t.cycle(now)
            missing = {f.key for f in full.strict} - set(t.book.active)
            assert not missing, f"cycle {k}: {len(missing)} conflicts not alerted"
            found_total += len(full.strict)
        assert found_total > 1000  # the scene has conflicts to find
        assert t.stats["incremental_runs"] >= 8 and t.stats["full_passes"] >= 3
        assert t.memory is not None and t.memory.stats["changed"] < 450 * 8  # screened less
        t.flush()
        alert = next(iter(t.book.active.values()))

        def on_both() -> bool:
            return all(
                alert.id in {e["data"]["id"] for e in alert_events(parties[p])}
                for p in alert.parties
            )

        wait_for(on_both, 10, "the alert on both parties' streams")
    finally:
        w.stop()
