"""Probes are visible to the probed issuer and budgeted per (prober, issuer) and day."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.service.helpers import Api, World
from tests.service.test_disclosure import (
    _CELL,
    COVER,
    HIDDEN_1,
    _answer,
    _cell_polygon,
    _footprint,
    _hidden,
    _polygon,
    _probe,
)


def _probed(api: Api) -> list[dict[str, Any]]:
    return [e["data"] for e in api.events() if e["type"] == "notice_probed"]


def test_a_dry_run_against_a_hidden_notice_is_a_probe_its_issuer_sees(world: World) -> None:
    co, ru, un = world.party("coalition"), world.party("russia"), world.party("un")
    n = co.ok("POST", "/v1/notices", _hidden(HIDDEN_1), 201)
    addressed = un.ok("POST", "/v1/notices", {**_hidden(HIDDEN_1), "addressees": ["russia"]}, 201)
    assert len(_answer(ru, COVER)) == 2
    [event] = _probed(co)
    assert event["by"] == "russia"
    assert event["via"] == "check"
    assert event["notice"] == n["id"]
    assert event["over_budget"] is False
    [o] = event["overlaps"]
    assert set(o) == {"time_window", "altitude_band", "region"}
    region = _polygon(o["region"])
    assert region.buffer(1e-4).contains(_cell_polygon(_CELL))  # the coarse overlap
    # the UN's notice was addressed to Russia: reading it is no probe
    assert _probed(un) == []
    [listed] = co.ok("GET", "/v1/probes")["probes"]
    assert listed["by"] == "russia" and listed["notice"] == n["id"]
    assert listed["overlaps"] == event["overlaps"]
    assert ru.ok("GET", "/v1/probes")["probes"] == []
    assert un.ok("GET", "/v1/probes")["probes"] == []
    assert addressed["id"] not in json.dumps(co.ok("GET", "/v1/probes"))
    assert world.admin.ok("GET", "/v1/probes")["probes"][0]["issuer"] == "coalition"


def test_past_the_daily_budget_dry_runs_are_answered_at_existence(tmp_path: Path) -> None:
    world = World(tmp_path, probe_budget_per_day=3)
    try:
        co, ru, un = world.party("coalition"), world.party("russia"), world.party("un")
        co.ok("POST", "/v1/notices", _hidden(HIDDEN_1), 201)
        un.ok("POST", "/v1/notices", {**_hidden(HIDDEN_1), "addressees": ["coalition"]}, 201)
        for _ in range(3):
            r = ru.ok("POST", "/v1/check", _probe(COVER))
            assert "probe_budget" not in r
            assert all("region" in c["overlaps"][0] for c in r["conflicts"])
        r = ru.ok("POST", "/v1/check", _probe(COVER))
        # safety first: still answered, both conflicts, but only that they exist
        assert len(r["conflicts"]) == 2
        assert r["probe_budget"] == {
            "exceeded_for": ["coalition", "un"],
            "per_issuer_per_day": 3,
            "answered_at": "existence",
        }
        for c in r["conflicts"]:
            assert c["other"]["disclosure"] == "existence"
            assert c["other"]["probe_budget_exceeded"] is True
            assert list(c["overlaps"][0]) == ["time_window"]
        events = _probed(co)
        assert [e["over_budget"] for e in events] == [False, False, False, True]
        assert list(events[-1]["overlaps"][0]) == ["time_window"]
        # the budget is per (prober, issuer): the UN probing the coalition starts afresh
        fresh = un.ok("POST", "/v1/check", _probe(COVER))
        assert "probe_budget" not in fresh
        assert "region" in fresh["conflicts"][0]["overlaps"][0]
    finally:
        world.stop()


def test_a_notice_cancelled_or_amended_away_at_once_is_a_probe(world: World) -> None:
    co, ru = world.party("coalition"), world.party("russia")
    co.ok("POST", "/v1/notices", _hidden(HIDDEN_1), 201)
    first = ru.ok("POST", "/v1/notices", _probe(COVER), 201)
    assert len(first["conflicts"]) == 1
    ru.ok("DELETE", f"/v1/notices/{first['id']}")
    second = ru.ok("POST", "/v1/notices", _probe(COVER), 201)
    far = {**_probe({**COVER, "geometry": {"type": "Point", "coordinates": [10.0, 50.0]}})}
    far["volumes"][0]["radius_m"] = 1000.0
    ru.ok("PUT", f"/v1/notices/{second['id']}", {**far, "version": 1})
    events = _probed(co)
    assert [(e["by"], e["via"]) for e in events] == [("russia", "cancel"), ("russia", "amend")]
    for e in events:
        region = _polygon(e["overlaps"][0]["region"])
        assert region.area > 50 * _footprint(HIDDEN_1).area
    assert len(co.ok("GET", "/v1/probes")["probes"]) == 2


def test_a_notice_withdrawn_after_the_probe_window_is_no_probe(tmp_path: Path) -> None:
    world = World(tmp_path, probe_window_s=0.0)
    try:
        co, ru = world.party("coalition"), world.party("russia")
        co.ok("POST", "/v1/notices", _hidden(HIDDEN_1), 201)
        mine = ru.ok("POST", "/v1/notices", _probe(COVER), 201)
        ru.ok("DELETE", f"/v1/notices/{mine['id']}")
        assert _probed(co) == []
        assert co.ok("GET", "/v1/probes")["probes"] == []
    finally:
        world.stop()
