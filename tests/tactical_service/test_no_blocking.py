"""The screening and the writer never wait for each other (issue 19).

The cycle and the quick pass screen intrusions against a snapshot of the notice
index (`NoticeIndex.snapshot`), not under the writer's lock, and hand the alerts
they raise to the writer without waiting for it. The loop is slow and the quick
pass off here unless said, so that every cycle is the test's own.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

import deconflict.service.tactical as service_tactical
from deconflict.service.ids import new_id
from deconflict.service.tactical import Tactical
from deconflict.service.tx import Tx
from deconflict.tactical import cycle as tactical_cycle
from deconflict.tactical.alerts import AlertBook, Finding
from tests.service.helpers import Api, World, notice, volume
from tests.tactical_service.conftest import tactical_world
from tests.tactical_service.helpers import alert_events, report, send, tactical_of, wait_for

HAND: dict[str, Any] = {"screen_interval_s": 3600.0, "quick_interval_s": 0.0}


def _site(lon: float, lat: float) -> dict[str, Any]:
    site = notice(["un"], kind="protected_site", title="hospital")
    site["volumes"] = [volume(lon, lat, 0.1, start_h=-0.5, hours=2)]
    return site


def _intrusions(api: Api) -> list[dict[str, Any]]:
    return [e for e in alert_events(api, "alert_raised") if e["data"]["kind"] == "intrusion"]


def _settled(w: World) -> Tactical:
    t = tactical_of(w)
    wait_for(lambda: t.stats["cycles"] >= 1, what="the first cycle")
    return t


class _HeldWriter:
    """The hub's writer busy inside a long change (a long submit batch), until `release`."""

    def __init__(self, t: Tactical) -> None:
        self.inside = threading.Event()
        self._release = threading.Event()

        def hold(tx: Tx) -> None:
            self.inside.set()
            self._release.wait(30)

        self._thread = threading.Thread(target=t.writer.submit, args=(hold,))
        self._thread.start()
        assert self.inside.wait(10)

    def release(self) -> None:
        self._release.set()
        self._thread.join(10)


def test_an_intrusion_into_a_notice_committed_before_the_cycle_is_found_by_it(
    tmp_path: Path,
) -> None:
    w = tactical_world(tmp_path, **HAND)
    try:
        co, ru = w.party("coalition"), w.party("russia")
        t = _settled(w)
        for k in range(5):
            lon, lat = 20.0 + 2 * k, 30.0
            send(co, report(f"VIPER{k}", lat + 0.05, lon + 0.05, 3000, gs=0))
            ru.ok("POST", "/v1/notices", _site(lon, lat), 201)  # answered: committed
            t.cycle()  # at once: no other pass in between
            t.flush()
            for api in (co, ru):
                wait_for(lambda: len(_intrusions(api)) == k + 1, 5, f"intrusion {k} ({api.name})")  # noqa: B023
        assert t.stats["cycles"] == 6
    finally:
        w.stop()


def test_a_cycle_runs_while_the_writer_is_held_busy(tmp_path: Path) -> None:
    w = tactical_world(tmp_path, **HAND)
    try:
        co, ru = w.party("coalition"), w.party("russia")
        t = _settled(w)
        ru.ok("POST", "/v1/notices", _site(36.3, 35.0), 201)
        send(co, report("VIPER11", 35.05, 36.35, 3000, gs=0))
        held = _HeldWriter(t)
        try:
            done = threading.Event()
            result: dict[str, Any] = {}

            def run() -> None:
                result.update(t.cycle())
                done.set()

            threading.Thread(target=run, daemon=True).start()
            assert done.wait(10), "the cycle waited for the writer"
            assert result["transitions"] == 1  # found, and handed to the writer
            time.sleep(0.3)
            assert _intrusions(co) == []  # not written yet: the writer is still busy
        finally:
            held.release()
        wait_for(lambda: _intrusions(co) and _intrusions(ru), 10, "the alert on both streams")
    finally:
        w.stop()


def test_a_quick_pass_runs_while_the_writer_is_held_busy(tmp_path: Path) -> None:
    w = tactical_world(tmp_path, screen_interval_s=3600.0, quick_interval_s=0.05)
    try:
        co, ru = w.party("coalition"), w.party("russia")
        t = _settled(w)
        ru.ok("POST", "/v1/notices", _site(36.3, 35.0), 201)
        held = _HeldWriter(t)
        try:
            runs = t.stats["quick_runs"]
            send(co, report("VIPER11", 35.05, 36.35, 3000, gs=0))  # a new track: quick pass
            wait_for(lambda: t.stats["quick_runs"] > runs, 30, "a quick pass while held")
            wait_for(lambda: len(t.book.active) == 1, 5, "its alert raised in the book")
            time.sleep(0.3)
            assert _intrusions(co) == []  # handed to the writer, which is still busy
        finally:
            held.release()
        wait_for(lambda: _intrusions(co) and _intrusions(ru), 10, "the alert on both streams")
    finally:
        w.stop()


def test_a_submit_completes_while_a_long_cycle_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = tactical_world(tmp_path, **HAND)
    try:
        co, ru = w.party("coalition"), w.party("russia")
        t = _settled(w)
        ru.ok("POST", "/v1/notices", _site(36.3, 35.0), 201)
        send(co, report("VIPER11", 35.05, 36.35, 3000, gs=0))
        inside, release = threading.Event(), threading.Event()
        real = tactical_cycle.find_intrusions

        def long_screen(*args: Any, **kwargs: Any) -> None:
            inside.set()  # as a screen of a million tracks would, holding its snapshot
            release.wait(30)
            real(*args, **kwargs)

        monkeypatch.setattr(service_tactical, "find_intrusions", long_screen)
        cycle = threading.Thread(target=t.cycle, daemon=True)
        cycle.start()
        try:
            assert inside.wait(10)
            started = time.monotonic()
            created = co.ok("POST", "/v1/notices", _site(10.0, 10.0), 201)
            dry = ru.ok("POST", "/v1/check", notice(["coalition"], lon=10.0))  # the writer's lock
            assert time.monotonic() - started < 5 and not release.is_set()
            assert created["id"] and isinstance(dry["conflicts"], list)
        finally:
            release.set()
        cycle.join(10)
        t.flush()
        wait_for(lambda: _intrusions(co), 10, "the long cycle's alert")
    finally:
        w.stop()


def _nonconformance(party: str, track: str, revision: int) -> Finding:
    return Finding(
        key=("nonconformance", party, track),
        kind="nonconformance",
        parties=(party,),
        severity="outside",
        detail={
            "track": {"track": {"track_id": track, "n": revision, "lat": 35.0, "lon": 36.0}},
            "reason": "test",
        },
    )


def test_a_new_alert_is_written_before_the_updates_queued_ahead_of_it(tmp_path: Path) -> None:
    w = tactical_world(tmp_path, **HAND)
    try:
        co = w.party("coalition")
        t = _settled(w)
        book = AlertBook(clear_cycles=3, update_interval_s=0.0, new_id=lambda: new_id("a"))
        now = t.now()
        (raised,) = book.cycle(now, [_nonconformance("coalition", "A", 0)], set())
        with t.book_lock:
            t._persist([raised], [])
        t.flush()
        held = _HeldWriter(t)
        try:

            def update(k: int) -> None:  # a standing alert updated again and again
                a = book.active[("nonconformance", "coalition", "A")]
                a.signature = (k - 1,)
                f = _nonconformance("coalition", "A", k)
                f.signature = (k,)
                with t.book_lock:
                    t._persist(book.cycle(now + k, [f], set()), [])

            # the first update alone is at the writer, waiting behind the long change:
            # how much the alert thread took before that is the scheduler's, not the rule's
            update(1)
            wait_for(
                lambda: t._writes.empty() and t.writer.queued >= 1,
                what="the first update at the writer",
            )
            for k in range(2, 700):
                update(k)
            with t.book_lock:
                (new,) = book.raise_only(now + 700, [_nonconformance("coalition", "B", 0)])
                t._persist([new], [])
        finally:
            held.release()
        t.flush()
        events = [e for e in alert_events(co) if e["type"] in ("alert_raised", "alert_updated")]
        order = [(e["type"], e["data"]["own_track"]["track_id"]) for e in events]
        # B jumped the line: behind only the change already waiting for the writer
        assert order[:3] == [("alert_raised", "A"), ("alert_updated", "A"), ("alert_raised", "B")]
        updates = [e for e in events if e["type"] == "alert_updated"]
        assert 1 <= len(updates) < 699  # the piled-up updates collapsed ...
        assert updates[-1]["data"]["own_track"]["n"] == 699  # ... onto the latest row
        assert updates[-1]["data"]["revision"] == 700
        assert t.stats["updates_superseded"] == 699 - len(updates)
    finally:
        w.stop()
