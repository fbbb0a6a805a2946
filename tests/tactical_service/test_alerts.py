"""Alerts end to end through HTTP against a real server: raise, update, clear, ack, disclose."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.service.helpers import World, notice, volume
from tests.tactical_service.conftest import tactical_world
from tests.tactical_service.helpers import (
    alert_events,
    report,
    send,
    wait_event,
    wait_for,
)

# Two airliners head-on at the same level, 0.5 degrees of longitude apart (~45 km):
# loss of 5 NM separation predicted in about 90 s.
CO_POS = (35.0, 36.0)
RU_POS = (35.0, 36.5)


def head_on(world: World) -> None:
    send(world.party("coalition"), report("VIPER11", *CO_POS, gs=200, trk=90))
    send(world.party("russia"), report("FALCON1", *RU_POS, gs=200, trk=270))


def test_separation_alert_on_both_streams_acknowledged_then_cleared(tworld: World) -> None:
    co, ru = tworld.party("coalition"), tworld.party("russia")
    head_on(tworld)
    raised_co = wait_event(co, "alert_raised")["data"]
    raised_ru = wait_event(ru, "alert_raised")["data"]
    assert raised_co["id"] == raised_ru["id"]
    assert raised_co["kind"] == "separation" and raised_co["state"] == "active"
    assert raised_co["parties"] == ["coalition", "russia"]
    assert raised_co["severity"] == "predicted"
    assert 60 < raised_co["t_los_s"] < 120 and raised_co["dcpa_nm"] <= 0.1
    assert raised_co["own_track"]["track_id"] == "VIPER11"
    assert raised_ru["own_track"]["track_id"] == "FALCON1"
    # An advisory only: head on, each sees the other at 12 o'clock, range to 0.1 NM.
    assert raised_co["other"]["clock"] == 12 and raised_ru["other"]["clock"] == 12
    assert 40_000 / 1852 < raised_co["other"]["range_nm"] < 50_000 / 1852
    assert raised_co["other"]["range_nm"] == round(raised_co["other"]["range_nm"], 1)
    assert raised_co["other"]["rel_alt_ft"] % 100 == 0
    assert "bearing_deg" not in raised_co["other"] and "distance_m" not in raised_co["other"]
    assert "track" not in raised_co["other"] and "track" not in raised_ru["other"]
    assert "FALCON1" not in json.dumps(co.events()) and "VIPER11" not in json.dumps(ru.events())

    alert_id = raised_co["id"]
    listed = co.ok("GET", "/v1/alerts")["alerts"]
    assert [a["id"] for a in listed] == [alert_id]
    assert "FALCON1" not in json.dumps(listed)
    one = ru.ok("GET", f"/v1/alerts/{alert_id}")
    assert one["acks"] == {"coalition": None, "russia": None}

    acked = co.ok("POST", f"/v1/alerts/{alert_id}/ack", {"comment": "visual, turning"})
    assert acked["acknowledged_by"] == ["coalition"]
    again = co.ok("POST", f"/v1/alerts/{alert_id}/ack", {})  # idempotent
    assert again["acks"]["coalition"] == acked["acks"]["coalition"]
    ack_event = wait_event(ru, "alert_acknowledged")["data"]
    assert ack_event["acknowledged"] == "coalition"
    ru.ok("POST", f"/v1/alerts/{alert_id}/ack")
    assert ru.ok("GET", f"/v1/alerts/{alert_id}")["acknowledged_by"] == ["coalition", "russia"]

    # Both turn away: the alert clears (after the hysteresis cycles) on both streams.
    send(co, report("VIPER11", *CO_POS, gs=200, trk=270, dt_s=0.5))
    send(ru, report("FALCON1", *RU_POS, gs=200, trk=90, dt_s=0.5))
    cleared_co = wait_event(co, "alert_cleared")["data"]
    cleared_ru = wait_event(ru, "alert_cleared")["data"]
    assert cleared_co["id"] == cleared_ru["id"] == alert_id
    assert cleared_co["state"] == "cleared" and cleared_co["clear_reason"] == "clear"
    assert co.ok("GET", f"/v1/alerts/{alert_id}")["state"] == "cleared"
    assert co.ok("GET", "/v1/alerts?state=active")["alerts"] == []
    assert len(alert_events(co, "alert_raised")) == 1


def test_hysteresis_no_flapping_at_the_threshold(tmp_path: Path) -> None:
    w = tactical_world(tmp_path, clear_cycles=3, clear_margin=0.2)
    try:
        co, ru = w.party("coalition"), w.party("russia")
        metre = 1 / 111_195  # degrees of latitude
        # Two hovering drones 48 m apart (minimum 50 m): one alert.
        send(co, report("D1", 35.0, 36.0, 100, category="uas"))
        send(ru, report("D2", 35.0 + 48 * metre, 36.0, 100, category="uas"))
        wait_event(co, "alert_raised")
        # The gap wobbles across the threshold (48 m / 55 m) for two seconds: still one alert.
        for k in range(16):
            gap = 55 if k % 2 == 0 else 48
            send(ru, report("D2", 35.0 + gap * metre, 36.0, 100, category="uas", dt_s=0.01 * k))
            time.sleep(0.12)
        assert len(alert_events(co, "alert_raised")) == 1
        assert alert_events(co, "alert_cleared") == []
        # Beyond the minimum plus the margin (60 m), for long enough: cleared, once.
        send(ru, report("D2", 35.0 + 200 * metre, 36.0, 100, category="uas", dt_s=0.2))
        wait_event(co, "alert_cleared")
        time.sleep(0.5)
        assert len(alert_events(co, "alert_cleared")) == 1
        assert len(alert_events(ru, "alert_cleared")) == 1
        # Vertical separation counts too: 20 m above (minimum 15 m) is no alert.
        send(ru, report("D3", 35.0, 36.0, 120, category="uas", dt_s=0.3))
        time.sleep(0.6)
        assert len(alert_events(co, "alert_raised")) == 1
    finally:
        w.stop()


def test_a_configured_pair_shares_full_tracks(tmp_path: Path) -> None:
    w = tactical_world(tmp_path, share_pairs=[["coalition", "russia"]])
    try:
        head_on(w)
        seen = wait_event(w.party("coalition"), "alert_raised")["data"]
        track = seen["other"]["track"]
        assert track["track_id"] == "FALCON1"
        assert abs(track["lat"] - RU_POS[0]) < 0.01 and abs(track["lon"] - RU_POS[1]) < 0.1
        assert track["gs_mps"] == 200 and track["trk_deg"] == 270
    finally:
        w.stop()


def test_pair_profile_overrides_the_default(tmp_path: Path) -> None:
    # 1 NM minimum between these two parties: the head-on pair still conflicts,
    # two parallel tracks 3 NM apart (inside 5 NM) do not.
    w = tactical_world(
        tmp_path,
        pair_profiles={"coalition|russia": {"h_sep_m": 1852, "v_sep_m": 300, "lookahead_s": 300}},
    )
    try:
        co, ru = w.party("coalition"), w.party("russia")
        send(co, report("A", 35.0, 36.0, gs=200, trk=0))
        send(ru, report("B", 35.0, 36.0 + 3 * 1852 / 91_000, gs=200, trk=0))
        time.sleep(0.8)
        assert alert_events(co) == []
        send(co, report("C", 34.0, 36.0, gs=200, trk=90))
        send(ru, report("D", 34.0, 36.2, gs=200, trk=270))
        raised = wait_event(co, "alert_raised")["data"]
        assert raised["minima"]["h_sep_m"] == 1852
    finally:
        w.stop()


def test_escalation_of_an_unacknowledged_alert(tmp_path: Path) -> None:
    w = tactical_world(tmp_path, escalate_after_s=0.5)
    try:
        co, ru = w.party("coalition"), w.party("russia")
        head_on(w)
        alert_id = wait_event(co, "alert_raised")["data"]["id"]
        co.ok("POST", f"/v1/alerts/{alert_id}/ack")
        esc_co = wait_event(co, "alert_unacknowledged")["data"]
        esc_ru = wait_event(ru, "alert_unacknowledged")["data"]
        assert esc_co["id"] == esc_ru["id"] == alert_id
        assert esc_co["unacknowledged_by"] == esc_ru["unacknowledged_by"] == "russia"
        time.sleep(0.5)  # sent once per party, not every cycle
        assert len(alert_events(co, "alert_unacknowledged")) == 1
        # The escalation is part of the alert itself, for a page that reloads.
        for side in (co, ru):
            assert side.ok("GET", f"/v1/alerts/{alert_id}")["escalated"] == ["russia"]
        ru.ok("POST", f"/v1/alerts/{alert_id}/ack")
        assert ru.ok("GET", f"/v1/alerts/{alert_id}")["acknowledged_by"] == ["coalition", "russia"]
    finally:
        w.stop()


def test_intrusion_into_another_partys_protected_site(tmp_path: Path) -> None:
    # A generous speed limit lets the test jump the track forward in time.
    w = tactical_world(tmp_path, limits={"max_speed_mps": 5000})
    try:
        _intrusion(w)
    finally:
        w.stop()


def _intrusion(tworld: World) -> None:
    co, ru = tworld.party("coalition"), tworld.party("russia")
    site = notice(["un"], kind="protected_site", title="hospital")
    site["volumes"] = [volume(36.30, 35.00, 0.1, start_h=-0.5, hours=2)]
    notice_id = ru.ok("POST", "/v1/notices", site, 201)["id"]
    # Heading east at 200 m/s toward the site ~27 km away: entry in about 135 s.
    send(co, report("VIPER11", 35.05, 36.0, 3000, gs=200, trk=90))
    mine = wait_event(co, "alert_raised")["data"]
    theirs = wait_event(ru, "alert_raised")["data"]
    assert mine["kind"] == theirs["kind"] == "intrusion"
    assert mine["severity"] == "predicted" and not mine["inside_now"]
    assert 100 < mine["t_entry_s"] < 170
    # Not addressed to the coalition: it learns who and what kind, not which notice.
    assert mine["notice"] == {"issuer": "russia", "kind": "protected_site", "id": None}
    assert theirs["notice"]["id"] == notice_id
    assert theirs["other"] == {"party": "coalition", "category": "manned"}
    assert "VIPER11" not in json.dumps(ru.events())
    # Inside now: updated at once to "inside".
    moved = send(co, report("VIPER11", 35.05, 36.35, 3000, gs=200, trk=90, dt_s=8))
    assert moved["accepted"][0]["status"] == "applied", moved
    wait_for(
        lambda: any(e["data"]["severity"] == "inside" for e in alert_events(ru, "alert_updated")),
        what="alert_updated inside",
    )


def test_nonconformance_is_opt_in(tmp_path: Path) -> None:
    w = tactical_world(tmp_path, nonconformance_parties=["coalition"])
    try:
        co, ru = w.party("coalition"), w.party("russia")
        own = notice(["russia"], title="CAP orbit")
        own["volumes"] = [volume(36.0, 35.0, 0.2, start_h=-0.5, hours=2)]
        co.ok("POST", "/v1/notices", own, 201)
        send(co, report("IN", 35.1, 36.1, 3000))
        send(co, report("OUT", 36.5, 37.5, 3000))
        send(ru, report("RU-OUT", 30.0, 30.0, 3000))
        raised = wait_event(co, "alert_raised")["data"]
        assert raised["kind"] == "nonconformance" and raised["track_id"] == "OUT"
        assert raised["parties"] == ["coalition"]
        time.sleep(0.5)
        assert [e["data"]["track_id"] for e in alert_events(co, "alert_raised")] == ["OUT"]
        assert alert_events(ru) == []
    finally:
        w.stop()


def test_alerts_are_persisted_across_a_restart(tworld: World) -> None:
    co = tworld.party("coalition")
    head_on(tworld)
    alert_id = wait_event(co, "alert_raised")["data"]["id"]
    co.ok("POST", f"/v1/alerts/{alert_id}/ack")
    tworld.restart()
    co = tworld.party("coalition")
    stored = co.ok("GET", f"/v1/alerts/{alert_id}")
    assert stored["acknowledged_by"] == ["coalition"]
    # The track picture is not persisted: with no tracks the alert clears as lost.
    cleared = wait_event(co, "alert_cleared")["data"]
    assert cleared["id"] == alert_id and cleared["clear_reason"] == "track_lost"
