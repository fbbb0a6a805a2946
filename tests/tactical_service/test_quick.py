"""The quick screen: a report that creates a conflict is alerted between cycles.

The screening loop is set to a long interval here, so that an alert that
arrives within a fraction of a second can only have come from the quick path.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

from deconflict.service.tactical import Tactical
from deconflict.tactical.changes import path_changed
from deconflict.tactical.tracks import TrackState
from tests.service.helpers import Api, World, notice, volume
from tests.tactical_service.conftest import tactical_world
from tests.tactical_service.helpers import (
    alert_events,
    report,
    send,
    tactical_of,
    wait_event,
    wait_for,
)

SLOW_LOOP: dict[str, Any] = {"screen_interval_s": 60.0, "quick_interval_s": 0.05}
METRE = 1 / 111_195  # degrees of latitude


# Well inside SLOW_LOOP's 60 s between cycles: what proves the quick path raised an alert is
# that no cycle ran meanwhile (`stats["cycles"]`), not a stopwatch on a loaded CI machine; its
# latency is measured in benchmarks/.
WITHIN_S = 20.0


def _raised_on_both(co: Api, ru: Api, since: float, within: float = WITHIN_S) -> float:
    """Seconds from ``since`` until alert_raised is on both streams; fails after ``within``."""
    wait_for(
        lambda: alert_events(co, "alert_raised") and alert_events(ru, "alert_raised"),
        timeout=within,
        what="alert_raised on both streams",
    )
    return time.monotonic() - since


def _settle(t: Tactical) -> None:
    """Wait for the loop's first cycle (run at start) to be over."""
    wait_for(lambda: t.stats["cycles"] >= 1, what="the first cycle")


def test_a_new_conflict_is_raised_well_before_the_next_cycle(tmp_path: Path) -> None:
    w = tactical_world(tmp_path, **SLOW_LOOP)
    try:
        co, ru = w.party("coalition"), w.party("russia")
        t = tactical_of(w)
        _settle(t)
        send(co, report("VIPER11", 35.0, 36.0, gs=200, trk=90))
        time.sleep(0.2)
        assert alert_events(co) == []  # alone: nothing to alert
        started = time.monotonic()
        send(ru, report("FALCON1", 35.0, 36.5, gs=200, trk=270))
        _raised_on_both(co, ru, started)
        assert t.stats["cycles"] == 1  # no cycle ran in between: the quick path raised it
        assert t.stats["quick_runs"] >= 1
        raised = alert_events(co, "alert_raised")[0]["data"]
        assert raised["kind"] == "separation" and raised["severity"] == "predicted"
        assert raised["own_track"]["track_id"] == "VIPER11"
        assert "FALCON1" not in json.dumps(co.events())  # the same disclosure rules
        # Persisted like any alert.
        assert co.ok("GET", f"/v1/alerts/{raised['id']}")["state"] == "active"
    finally:
        w.stop()


def test_a_websocket_report_takes_the_quick_path_too(tmp_path: Path) -> None:
    w = tactical_world(tmp_path, **SLOW_LOOP)
    try:
        co, ru = w.party("coalition"), w.party("russia")
        _settle(tactical_of(w))
        send(co, report("D1", 35.0, 36.0, 100, category="uas"))
        url = w.url.replace("http://", "ws://") + "/v1/tracks/ws"
        auth = {"Authorization": f"Bearer {w.tokens['russia']}"}
        with connect(url, additional_headers=auth) as ws:
            assert json.loads(ws.recv(timeout=5))["type"] == "ready"
            started = time.monotonic()
            ws.send(json.dumps(report("D2", 35.0 + 30 * METRE, 36.0, 100, category="uas")))
            assert json.loads(ws.recv(timeout=5))["accepted"][0]["status"] == "applied"
            _raised_on_both(co, ru, started)
        assert tactical_of(w).stats["cycles"] == 1
    finally:
        w.stop()


def test_a_manoeuvre_into_conflict_is_raised_quickly(tmp_path: Path) -> None:
    w = tactical_world(tmp_path, **SLOW_LOOP)
    try:
        co, ru = w.party("coalition"), w.party("russia")
        _settle(tactical_of(w))
        # A eastbound, B 45 km east of it northbound: they miss by 32 km.
        send(co, report("A", 35.0, 36.0, gs=200, trk=90))
        send(ru, report("B", 35.0, 36.5, gs=200, trk=0))
        time.sleep(0.3)
        assert alert_events(co) == []
        # B turns west, head-on at A: conflict within the lookahead.
        started = time.monotonic()
        send(ru, report("B", 35.0 + 200 * METRE, 36.5, gs=200, trk=270, dt_s=1.0))
        _raised_on_both(co, ru, started)
        assert tactical_of(w).stats["cycles"] == 1  # the quick path, not a cycle
    finally:
        w.stop()


def test_an_intrusion_is_raised_quickly(tmp_path: Path) -> None:
    w = tactical_world(tmp_path, **SLOW_LOOP)
    try:
        co, ru = w.party("coalition"), w.party("russia")
        site = notice(["un"], kind="protected_site", title="hospital")
        site["volumes"] = [volume(36.30, 35.00, 0.1, start_h=-0.5, hours=2)]
        ru.ok("POST", "/v1/notices", site, 201)
        _settle(tactical_of(w))
        started = time.monotonic()
        send(co, report("VIPER11", 35.05, 36.0, 3000, gs=200, trk=90))
        _raised_on_both(co, ru, started)
        assert tactical_of(w).stats["cycles"] == 1  # the quick path, not a cycle
        assert alert_events(co, "alert_raised")[0]["data"]["kind"] == "intrusion"
    finally:
        w.stop()


def test_confirming_reports_are_not_screened_again(tmp_path: Path) -> None:
    w = tactical_world(tmp_path, **SLOW_LOOP)
    try:
        co = w.party("coalition")
        t = tactical_of(w)
        _settle(t)
        # Stamped together, so that however long the first screen takes to come round,
        # the second report is exactly where the first one's path says it should be.
        first = report("A", 35.0, 36.0, gs=200, trk=0)
        # One second later, 200 m further north, same velocity: nothing new to screen.
        confirming = report("A", 35.0 + 200 * METRE, 36.0, gs=200, trk=0, dt_s=1.0)
        # A turn is.
        turn = report("A", 35.0 + 400 * METRE, 36.0, gs=200, trk=20, dt_s=2.0)
        send(co, first)
        wait_for(lambda: t.stats["quick_tracks"] == 1, what="the new track's quick screen")
        send(co, confirming)
        send(co, turn)
        wait_for(lambda: t.stats["quick_tracks"] == 2, what="the turn's quick screen")
        time.sleep(0.2)
        assert t.stats["quick_tracks"] == 2
    finally:
        w.stop()


def _state(**kw: Any) -> TrackState:
    base: dict[str, Any] = {
        "party": "p",
        "track_id": "T",
        "t": 1000.0,
        "lat": 89.99,
        "lon": 179.99,
        "alt_m": 9000.0,
        "gs_mps": 250.0,
        "trk_deg": 90.0,
        "vs_mps": 0.0,
        "category": "manned",
        "velocity": "reported",
        "callsign": None,
        "received": 1000.0,
    }
    return TrackState(**{**base, **kw})


def test_what_counts_as_a_changed_path(tworld: World) -> None:
    tol = tactical_of(tworld).path_tolerance
    prev = _state(lat=10.0, lon=179.999, trk_deg=90.0)
    # 1 s later, flown on across the antimeridian: the same path.
    moved_on = _state(t=1001.0, lat=10.0, lon=-179.999 + 250.0 / 109_600 - 0.002)
    assert not path_changed(prev, moved_on, tol)
    assert path_changed(None, moved_on, tol)  # new track
    assert path_changed(prev, _state(t=1001.0, lat=10.0, lon=-179.9988, trk_deg=95.0), tol)
    assert path_changed(prev, _state(t=1001.0, lat=10.0, lon=-179.9988, vs_mps=2.0), tol)
    assert path_changed(prev, _state(t=1001.0, lat=10.01, lon=-179.9988), tol)  # a jump
    assert path_changed(prev, _state(t=1001.0, lat=10.0, lon=-179.9988, category="uas"), tol)


def test_quick_screens_never_clear_nor_flap(tmp_path: Path) -> None:
    # A real loop (10 Hz, clearing after 3 cycles clear of the widened minima)
    # with the quick path on: a pair wobbling across the threshold, reported
    # every 40 ms, is one alert; moving away clears it once, by the cycle.
    w = tactical_world(tmp_path, screen_interval_s=0.1, quick_interval_s=0.02)
    try:
        co, ru = w.party("coalition"), w.party("russia")
        t = tactical_of(w)
        send(co, report("D1", 35.0, 36.0, 100, category="uas"))
        send(ru, report("D2", 35.0 + 48 * METRE, 36.0, 100, category="uas"))
        wait_event(co, "alert_raised")
        for k in range(50):
            gap = 58 if k % 2 == 0 else 45  # outside / inside the 50 m minimum
            send(ru, report("D2", 35.0 + gap * METRE, 36.0, 100, category="uas", dt_s=0.01 * k))
            time.sleep(0.04)
        assert t.stats["quick_runs"] >= 10
        assert len(alert_events(co, "alert_raised")) == 1
        assert alert_events(co, "alert_cleared") == []
        cleared_before = t.stats["cycles"]
        send(ru, report("D2", 35.0 + 200 * METRE, 36.0, 100, category="uas", dt_s=0.6))
        wait_event(co, "alert_cleared")
        assert t.stats["cycles"] >= cleared_before + 3  # after the hysteresis, by the loop
        time.sleep(0.5)
        assert len(alert_events(co, "alert_cleared")) == 1
        assert len(alert_events(ru, "alert_cleared")) == 1
        assert len(alert_events(co, "alert_raised")) == 1
    finally:
        w.stop()


def test_quick_pass_keeps_the_clearing_count_of_alerts_it_did_not_see(tworld: World) -> None:
    t = tactical_of(tworld)
    co, ru = tworld.party("coalition"), tworld.party("russia")
    send(co, report("D1", 35.0, 36.0, 100, category="uas"))
    send(ru, report("D2", 35.0 + 40 * METRE, 36.0, 100, category="uas"))
    wait_event(co, "alert_raised")
    with t.book_lock:  # keep the loop off the book while we look
        (alert,) = t.book.active.values()
        alert.misses = 2
        assert t.book.raise_only(t.now(), []) == []
        assert alert.misses == 2 and alert.key in t.book.active
        alert.misses = 0


def test_a_quick_pass_older_than_the_last_cycle_yields(tmp_path: Path) -> None:
    w = tactical_world(tmp_path, **SLOW_LOOP)
    try:
        t = tactical_of(w)
        co, ru = w.party("coalition"), w.party("russia")
        _settle(t)
        with t.book_lock:
            t.book_time = t.now() + 3600.0  # as if a cycle had screened a newer picture
        send(co, report("D1", 35.0, 36.0, 100, category="uas"))
        send(ru, report("D2", 35.0 + 40 * METRE, 36.0, 100, category="uas"))
        wait_for(lambda: t.stats["quick_tracks"] >= 2, what="the quick passes")
        time.sleep(0.2)
        assert alert_events(co) == []  # superseded: left to the cycle
        t.cycle()
        wait_event(co, "alert_raised")
        wait_event(ru, "alert_raised")
    finally:
        w.stop()
