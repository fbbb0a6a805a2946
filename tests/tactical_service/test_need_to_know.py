"""Tracks as probes (issue 11): intrusion against the coarse volume, a bound on live tracks."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import h3

from tests.service.helpers import iso
from tests.tactical_service.conftest import tactical_world
from tests.tactical_service.helpers import alert_events, report, send, wait_event, wait_for

_CELL = h3.latlng_to_cell(35.30, 36.30, 5)
_CLAT, _CLON = h3.cell_to_latlng(_CELL)


def _plan() -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "kind": "air_activity",
        "title": "hidden",
        "addressees": ["un"],
        "volumes": [
            {
                "geometry": {"type": "Point", "coordinates": [_CLON, _CLAT]},
                "radius_m": 300.0,
                "altitude_lower": {"value": 0, "units": "FT", "reference": "W84"},
                "altitude_upper": {"value": 10_000, "units": "FT", "reference": "W84"},
                "time_start": iso(now - timedelta(minutes=10)),
                "time_end": iso(now + timedelta(hours=2)),
            }
        ],
    }


def test_a_fake_track_learns_only_the_coarse_cell(tmp_path: Path) -> None:
    w = tactical_world(tmp_path)
    try:
        co, ru, un = w.party("coalition"), w.party("russia"), w.party("un")
        co.ok("POST", "/v1/notices", _plan(), 201)
        # 2.7 km east of the plan, inside its H3 cell: "inside" for Russia (not addressed)
        send(ru, report("PROBE1", _CLAT, _CLON + 0.03, 1000, gs=0.0, trk=0))
        raised = wait_event(ru, "alert_raised")["data"]
        assert raised["kind"] == "intrusion" and raised["inside_now"] is True
        assert raised["notice"] == {"issuer": "coalition", "kind": "air_activity", "id": None}
        # the UN is an addressee: judged against the exact circle, nowhere near it
        send(un, report("UN1", _CLAT, _CLON - 0.03, 1000, gs=0.0, trk=0))
        wait_for(lambda: alert_events(co, "alert_raised"), what="the coalition told of the probe")
        time.sleep(2.0)  # a few screening cycles
        assert [
            e for e in alert_events(un, "alert_raised") if e["data"]["kind"] == "intrusion"
        ] == []
    finally:
        w.stop()


def test_live_tracks_per_party_are_bounded(tmp_path: Path) -> None:
    w = tactical_world(tmp_path, limits={"max_tracks_per_party": 2})
    try:
        co, ru = w.party("coalition"), w.party("russia")
        out = send(
            co,
            report("T1", 35.0, 36.0),
            report("T2", 35.1, 36.0),
            report("T3", 35.2, 36.0),
        )
        status = {a["track_id"]: a["status"] for a in out["accepted"]}
        assert [status.get("T1"), status.get("T2")] == ["applied", "applied"]
        rejected = [r for r in out.get("rejected", []) if r.get("track_id") == "T3"]
        assert rejected, out
        assert "2 live tracks" in str(rejected[0])
        # the live ones still update, and the bound is per party
        assert send(co, report("T1", 35.0, 36.001, dt_s=2))["accepted"][0]["status"] == "applied"
        assert send(ru, report("R1", 35.0, 36.0))["accepted"][0]["status"] == "applied"
    finally:
        w.stop()
