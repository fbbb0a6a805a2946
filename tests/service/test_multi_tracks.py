"""Live tracks across two hub processes on one PostgreSQL database (issue 14).

A proxy spreads a party's reports over the processes; a loss of separation between
a track posted to one and a track posted to the other must be found all the same,
once, by the one process that screens, and survive that process going away.
Two hubs in this test process, each with its own store, writer, picture and alert
book, behave as two processes would.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from deconflict.service import Hub
from deconflict.service.auth import Principal
from deconflict.tactical.tracks import TrackLimits, TrackState, TrackTable, state_of, state_row
from tests.postgres import PostgresServer
from tests.service.helpers import ADMIN_TOKEN, make_settings
from tests.tactical_service.helpers import report, wait_for

# head on, 50 km apart at 200 m/s each: a loss of 5 NM predicted in about 90 s
CO_POS = (35.0, 36.0)
RU_POS = (35.0, 36.5)


@pytest.fixture
def dsn(postgres_server: PostgresServer) -> Iterator[str]:
    with postgres_server.database() as url:
        yield url


def _hub(
    tmp_path: Path, dsn: str, name: str, *, track_share_interval_s: float = 0.05, **tactical: Any
) -> Hub:
    settings = make_settings(
        tmp_path / f"{name}.db",
        db_url=dsn,
        hub_key_file=tmp_path / "hub-key.pem",
        follow_interval_s=0.2,
        leader_lease_s=2.0,
        track_share_interval_s=track_share_interval_s,
        tactical=tactical,
    )
    hub = Hub(settings)
    hub.start(sweep=False, tactical=True)
    return hub


def _wait(fn: Callable[[], Any], what: str) -> Any:
    return wait_for(fn, timeout=30.0, what=what)


def _principal(hub: Hub, token: str) -> Principal:
    def known() -> Principal | None:
        try:
            return hub.authenticate(token)
        except Exception:
            return None

    found: Principal = _wait(known, "the token to reach the other process")
    return found


class Pair:
    """Two processes, their leader, and a party's principal on either."""

    def __init__(self, a: Hub, b: Hub) -> None:
        self.a, self.b = a, b
        self.tokens: dict[str, str] = {}
        admin = a.authenticate(ADMIN_TOKEN)
        for party in ("coalition", "russia"):
            body = {"id": party, "name": party}
            self.tokens[party] = asyncio.run(a.register_party(admin, body))["token"]

    def who(self, hub: Hub, party: str) -> Principal:
        return _principal(hub, self.tokens[party])

    def leader(self) -> tuple[Hub, Hub]:
        """(the leader, the other), once exactly one leads."""

        def one() -> tuple[Hub, Hub] | None:
            a, b = self.a.follower.leading, self.b.follower.leading
            if a != b:
                return (self.a, self.b) if a else (self.b, self.a)
            return None

        found: tuple[Hub, Hub] = _wait(one, "one process to lead")
        return found

    def send(self, hub: Hub, party: str, *reports: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = asyncio.run(
            hub.report_tracks(self.who(hub, party), {"reports": list(reports)})
        )
        assert out["rejected"] == [], out
        return out

    def alerts(self, hub: Hub, party: str | None = None) -> list[dict[str, Any]]:
        who = hub.authenticate(ADMIN_TOKEN) if party is None else self.who(hub, party)
        found = asyncio.run(hub.list_alerts(who, states=None, kind=None, limit=100))
        alerts: list[dict[str, Any]] = found["alerts"]
        return alerts


@pytest.fixture
def pair(tmp_path: Path, dsn: str) -> Iterator[Pair]:
    a = _hub(tmp_path, dsn, "a", escalate_after_s=3.0)
    b = _hub(tmp_path, dsn, "b", escalate_after_s=3.0)
    try:
        yield Pair(a, b)
    finally:
        a.close()
        b.close()


def test_tracks_posted_to_two_processes_are_screened_together_once(pair: Pair) -> None:
    leader, other = pair.leader()
    # each party's report reaches a different process; neither alone sees both tracks
    pair.send(other, "coalition", report("VIPER11", *CO_POS, gs=200, trk=90))
    pair.send(leader, "russia", report("FALCON1", *RU_POS, gs=200, trk=270))

    raised = _wait(lambda: pair.alerts(other, "coalition"), "the alert, read on the other")
    assert [a["kind"] for a in raised] == ["separation"]
    seen_by_ru = pair.alerts(leader, "russia")
    assert [a["id"] for a in seen_by_ru] == [raised[0]["id"]]
    assert raised[0]["own_track"]["track_id"] == "VIPER11"
    # every process holds the whole picture: a party's tracks read the same on both
    for hub in (leader, other):
        mine = asyncio.run(hub.my_tracks(pair.who(hub, "russia")))
        assert [t["track_id"] for t in mine["tracks"]] == ["FALCON1"]
    # only the leader screened (the other never ran a cycle), and no alert is doubled
    time.sleep(1.5)
    assert other.tactical.stats["cycles"] == 0
    assert leader.tactical.stats["cycles"] > 0
    assert len(pair.alerts(leader)) == 1
    # a process that does not lead and screens anyway (a deposed leader's late pass)
    # writes nothing: its alert book would fork the leader's
    other.tactical.cycle()
    other.tactical.flush()
    assert other.tactical.stats["writes_fenced"] >= 1
    assert len(pair.alerts(leader)) == 1
    assert other.track_share is not None and other.track_share.stats["states_sent"] >= 1
    assert leader.track_share is not None and leader.track_share.stats["states_taken"] >= 1


def test_a_report_is_judged_against_what_the_other_process_accepted(pair: Pair) -> None:
    leader, other = pair.leader()
    pair.send(leader, "coalition", report("VIPER11", *CO_POS, gs=200, trk=90))

    def passed_on() -> bool:
        mine = asyncio.run(other.my_tracks(pair.who(other, "coalition")))
        return bool(mine["tracks"])

    _wait(passed_on, "the track to reach the other process")
    # 100 km in one second: refused by the process that never saw the first report
    jump = report("VIPER11", CO_POS[0], CO_POS[1] + 1.1, gs=200, trk=90, dt_s=1.0)
    out = asyncio.run(other.report_tracks(pair.who(other, "coalition"), {"reports": [jump]}))
    assert out["rejected_count"] == 1 and "m/s" in out["rejected"][0]["reason"], out


def test_the_survivor_screens_on_with_the_same_alert_and_clears_it(pair: Pair) -> None:
    leader, other = pair.leader()
    pair.send(other, "coalition", report("VIPER11", *CO_POS, gs=200, trk=90))
    pair.send(leader, "russia", report("FALCON1", *RU_POS, gs=200, trk=270))
    first = _wait(lambda: pair.alerts(other), "the alert")
    alert_id = first[0]["id"]

    leader.close()  # it hands the lead over; its picture and book go with it
    _wait(lambda: other.follower.leading, "the survivor to lead")
    # Tracks go on reporting to the survivor: it screens, finds the same conflict and
    # keeps the alert raised by the first leader (no second raise).
    for step in range(1, 4):
        pair.send(other, "coalition", report("VIPER11", *CO_POS, gs=200, trk=90, dt_s=step))
        pair.send(other, "russia", report("FALCON1", *RU_POS, gs=200, trk=270, dt_s=step))
        time.sleep(0.5)
    _wait(lambda: other.tactical.stats["cycles"] >= 2, "the survivor to screen")
    assert [a["id"] for a in pair.alerts(other)] == [alert_id]
    assert alert_id in other.tactical.book.by_id
    # both turn away: the survivor clears the alert the first leader raised
    pair.send(other, "coalition", report("VIPER11", *CO_POS, gs=200, trk=270, dt_s=4))
    pair.send(other, "russia", report("FALCON1", *RU_POS, gs=200, trk=90, dt_s=4))

    def cleared() -> bool:
        return [a["state"] for a in pair.alerts(other)] == ["cleared"]

    _wait(cleared, "the alert to clear")
    assert [a["id"] for a in pair.alerts(other)] == [alert_id]


def test_an_acknowledgement_through_the_other_process_is_not_escalated(pair: Pair) -> None:
    leader, other = pair.leader()
    pair.send(other, "coalition", report("VIPER11", *CO_POS, gs=200, trk=90))
    pair.send(other, "russia", report("FALCON1", *RU_POS, gs=200, trk=270))
    alert_id = _wait(lambda: pair.alerts(other, "coalition"), "the alert")[0]["id"]
    # coalition acknowledges through the process that does not screen, before the
    # leader's escalation deadline (3 s); russia does not acknowledge
    asyncio.run(other.ack_alert(pair.who(other, "coalition"), alert_id, {}))

    def escalated() -> list[str] | None:
        one = asyncio.run(leader.get_alert(leader.authenticate(ADMIN_TOKEN), alert_id))
        names: list[str] = one["escalated"]
        return names or None

    assert _wait(escalated, "russia's escalation") == ["russia"]
    time.sleep(1.5)  # a few more cycles: coalition is still not escalated
    assert escalated() == ["russia"]


def test_a_state_passed_on_replaces_only_an_older_one() -> None:
    table = TrackTable(TrackLimits())
    now = time.time()

    def state(t: float, lat: float) -> TrackState:
        return TrackState("co", "V1", t, lat, 36.0, 1000.0, 10.0, 90.0, 0.0, "manned", "reported")

    assert table.merge([state(now, 35.0)], now) == [state(now, 35.0)]
    assert table.merge([state(now - 1, 35.1)], now) == []  # older: ours stays
    assert table.merge([state(now - 120, 35.1)], now) == []  # stale
    newer = state(now + 0.5, 35.01)
    assert table.merge([newer], now) == [newer]
    assert table.get("co", "V1") == newer and len(table) == 1
    assert state_of(state_row(newer)) == newer
    for bad in (
        [],
        ["co", "V1", "x", 35.0, 36.0, 1.0, 1.0, 1.0, 1.0, "manned", "reported", None, 0.0],
        ["co", "V 1", now, 35.0, 36.0, 1.0, 1.0, 1.0, 1.0, "manned", "reported", None, 0.0],
        ["co", "V1", now, 95.0, 36.0, 1.0, 1.0, 1.0, 1.0, "manned", "reported", None, 0.0],
        ["co", "V1", now, 35.0, 36.0, 1.0, 1.0, 1.0, 1.0, "tank", "reported", None, 0.0],
    ):
        with pytest.raises(ValueError, match=r"track state|category"):
            state_of(bad)
