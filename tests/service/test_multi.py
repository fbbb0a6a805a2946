"""Several hub processes on one PostgreSQL database (issue 14), on a real server.

Two hubs in this test process, each with its own store (its own connections), writer
and index, behave as two processes would; the last test runs a real second process and
kills it with SIGKILL.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from deconflict.service import Hub
from deconflict.service.auth import Principal
from deconflict.service.crosscheck import table_problems
from deconflict.service.errors import Unauthorized
from deconflict.service.index import NoticeIndex
from deconflict.store import CHANGES_PRUNED
from tests.postgres import PostgresServer
from tests.service.helpers import ADMIN_TOKEN, make_settings, notice

# Following is slow on purpose here: whatever a test sees before it, it owes to the
# catch-up a write batch or a dry run does, not to the background poll.
SLOW = 600.0


@pytest.fixture
def dsn(postgres_server: PostgresServer) -> Iterator[str]:
    with postgres_server.database() as url:
        yield url


def _hub(tmp_path: Path, dsn: str, name: str, **overrides: Any) -> Hub:
    settings = make_settings(
        tmp_path / f"{name}.db",
        db_url=dsn,
        hub_key_file=tmp_path / "hub-key.pem",  # one hub: one key, shared
        **{"follow_interval_s": SLOW, **overrides},
    )
    hub = Hub(settings)
    hub.start(sweep=False)
    return hub


def _party(hub: Hub, party_id: str) -> Principal:
    admin = hub.authenticate(ADMIN_TOKEN)
    token = asyncio.run(hub.register_party(admin, {"id": party_id, "name": party_id}))["token"]
    return hub.authenticate(token)


@pytest.fixture
def pair(tmp_path: Path, dsn: str) -> Iterator[tuple[Hub, Hub]]:
    a = _hub(tmp_path, dsn, "a")
    b = _hub(tmp_path, dsn, "b")
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def test_conflicting_notices_sent_at_once_to_two_processes_always_conflict(
    pair: tuple[Hub, Hub],
) -> None:
    a, b = pair
    co = _party(a, "coalition")
    ru_token = asyncio.run(
        a.register_party(a.authenticate(ADMIN_TOKEN), {"id": "russia", "name": "russia"})
    )["token"]
    # B has not seen russia's registration yet; its write batch catches up first
    b.follower.follow()
    ru = b.authenticate(ru_token)
    for round_ in range(8):
        lon = 30.0 + round_ * 0.5
        start = threading.Barrier(2)
        answers: dict[str, Any] = {}

        def send(
            hub: Hub,
            who: Principal,
            key: str,
            lon: float = lon,
            start: threading.Barrier = start,
            answers: dict[str, Any] = answers,
        ) -> None:
            start.wait()
            answers[key] = asyncio.run(hub.notify(who, notice(["*"], lon=lon)))

        threads = [
            threading.Thread(target=send, args=(a, co, "a")),
            threading.Thread(target=send, args=(b, ru, "b")),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # exactly one of the two was decided second, against the other: it reports it
        reported = [k for k in ("a", "b") if answers[k]["conflicts"]]
        assert len(reported) == 1, answers
        other = "b" if reported[0] == "a" else "a"
        assert answers[reported[0]]["conflicts"][0]["other"]["notice"] == answers[other]["id"]
        # and both sides hold the conflict, whichever process they ask
        for hub, who in ((a, co), (b, ru), (b, b.authenticate(ru_token))):
            found = asyncio.run(hub.get_notice(who, answers["a" if who is co else "b"]["id"]))
            assert len(found["conflicts"]) == 1


def test_a_dry_run_sees_what_the_other_process_committed_just_before(
    pair: tuple[Hub, Hub],
) -> None:
    a, b = pair
    co = _party(a, "coalition")
    un = _party(b, "un")
    n = asyncio.run(a.notify(co, notice(["*"], lon=36.1)))
    # no background following (SLOW): the dry run itself catches up
    c = asyncio.run(b.check(un, notice(["*"], lon=36.12)))
    assert [x["other"]["notice"] for x in c["conflicts"]] == [n["id"]]
    # a cancellation on A is seen too: the next dry run on B finds nothing
    asyncio.run(a.cancel(co, n["id"], 1, None))
    c = asyncio.run(b.check(un, notice(["*"], lon=36.12)))
    assert c["conflicts"] == []


def test_parties_registered_on_one_process_are_honoured_by_the_other(
    tmp_path: Path, dsn: str
) -> None:
    a = _hub(tmp_path, dsn, "a")
    b = _hub(tmp_path, dsn, "b", follow_interval_s=0.2)
    try:
        token = asyncio.run(
            a.register_party(a.authenticate(ADMIN_TOKEN), {"id": "un", "name": "UN"})
        )["token"]
        deadline = time.monotonic() + 5
        while True:
            try:
                who = b.authenticate(token)
                break
            except Exception:
                assert time.monotonic() < deadline, "B never honoured the token"
                time.sleep(0.05)
        assert who.party_id == "un"
        # a party registered on B is a valid addressee on A at once (A's batch catches up)
        _party(b, "russia")
        co = _party(a, "coalition")
        done = asyncio.run(a.notify(co, notice(["russia"])))
        assert done["addressees"] == ["russia"]
    finally:
        a.close()
        b.close()


def test_event_ids_follow_commit_order_and_resume_on_the_other_process(
    pair: tuple[Hub, Hub],
) -> None:
    a, b = pair
    co = _party(a, "coalition")
    watcher_token = asyncio.run(
        a.register_party(a.authenticate(ADMIN_TOKEN), {"id": "watch", "name": "watch"})
    )["token"]
    b.follower.follow()
    ru = _party(b, "russia")
    for i in range(6):
        hub, who = (a, co) if i % 2 == 0 else (b, ru)
        asyncio.run(hub.notify(who, notice(["watch"], lon=20.0 + i)))
    on_a = a.events.page(a.authenticate(watcher_token), 0)
    b.follower.follow()
    on_b = b.events.page(b.authenticate(watcher_token), 0)
    assert on_a == on_b
    ids = [e["id"] for e in on_a]
    assert len(ids) == 6 and ids == sorted(ids)
    # resume on B after what A handed over: exactly the rest, in order
    assert b.events.page(b.authenticate(watcher_token), ids[2]) == on_a[3:]


def test_the_ledger_stays_one_sequence_across_processes(pair: tuple[Hub, Hub]) -> None:
    a, b = pair
    co = _party(a, "coalition")
    b.follower.follow()
    ru = _party(b, "russia")
    for i in range(4):
        asyncio.run(a.notify(co, notice(["russia"], lon=10.0 + i)))
        asyncio.run(b.notify(ru, notice(["coalition"], lon=50.0 + i)))
    head_a = asyncio.run(a.ledger_head())
    head_b = asyncio.run(b.ledger_head())
    assert head_a["tree_size"] == head_b["tree_size"]
    assert head_a["root_hash"] == head_b["root_hash"]
    # and the tables still agree with the log, as a fresh process checks at start-up
    with a.store.read() as repo:
        assert table_problems(repo) == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_lead_passes_to_the_survivor_when_the_leader_is_killed(
    tmp_path: Path, dsn: str
) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "DECONFLICT_ADMIN_TOKEN": ADMIN_TOKEN,
        "DECONFLICT_HUB_KEY_FILE": str(tmp_path / "hub-key.pem"),
        "DECONFLICT_LEADER_LEASE_S": "2",
    }
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "deconflict", "serve", "--db", dsn, "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    survivor: Hub | None = None
    try:
        url = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        deadline = time.monotonic() + 120
        while True:
            assert time.monotonic() < deadline, "the first process never took the lead"
            try:
                r = httpx.get(f"{url}/healthz", headers=headers, timeout=2)
                if r.status_code == 200 and r.json().get("leader"):
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        survivor = _hub(tmp_path, dsn, "survivor", follow_interval_s=0.2, leader_lease_s=2.0)
        survivor.follower.renew()
        assert not survivor.follower.leading  # the first still holds it
        # the first process writes; the survivor follows
        r = httpx.post(f"{url}/v1/parties", json={"id": "co", "name": "co"}, headers=headers)
        assert r.status_code == 201
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        killed = time.monotonic()
        while not survivor.follower.leading:
            assert time.monotonic() - killed < 10, "the lead was not taken over"
            time.sleep(0.1)
        # the lease (2 s), one renewal (0.7 s), and the slack a loaded CI machine needs
        assert time.monotonic() - killed < 2.0 + 0.7 + 3.0
        assert "co" in survivor.parties
        # the survivor sweeps now: an overdue acknowledgement is escalated by it
        swept = survivor.sweep(fenced=True)
        assert swept == {
            "overdue": 0,
            "relay_overdue": 0,
            "units_missed": 0,
            "expired": 0,
            "changes_pruned_below": 0,  # a new leader keeps the whole log for changes_keep_s
            "idempotency_keys_expired": 0,
        }
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if survivor is not None:
            survivor.close()


def test_a_unit_created_or_disabled_through_one_process_is_honoured_by_the_other(
    pair: tuple[Hub, Hub],
) -> None:
    """Issue 15 on several processes: a unit's token works on any process once created,
    and stops on every process once its party disabled it."""
    a, b = pair
    co = _party(a, "coalition")
    area = {
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[36.0, 35.0], [36.5, 35.0], [36.5, 35.6], [36.0, 35.0]]],
        }
    }
    unit = asyncio.run(a.create_unit(co, {"id": "coalition/west", "area": area}))
    b.follower.follow()
    assert b.authenticate_unit(unit["token"]).unit == "coalition/west"
    asyncio.run(a.disable_unit(co, "coalition/west"))
    b.follower.follow()
    with pytest.raises(Unauthorized, match="disabled by its party"):
        b.authenticate_unit(unit["token"])


def test_the_change_log_is_pruned_and_a_process_behind_it_reloads_whole(
    tmp_path: Path, dsn: str
) -> None:
    """The leader keeps `hub_changes` to the last changes_keep_s; a process that saw less
    than what is left (suspended for longer) must not miss what was pruned."""
    a = _hub(tmp_path, dsn, "a", changes_keep_s=0.2)
    b = _hub(tmp_path, dsn, "b")
    try:
        assert a.follower.renew()  # a leads: it sweeps and prunes
        co, un = _party(a, "coalition"), _party(a, "un")
        first = asyncio.run(a.notify(co, notice(["*"], lon=36.1)))
        b.follower.follow()
        behind = b.writer.generation  # b stops following here (SLOW)
        second = asyncio.run(a.notify(co, notice(["*"], lon=38.1)))
        pruned = [a.sweep(fenced=True)["changes_pruned_below"]]
        asyncio.run(a.cancel(co, first["id"], 1, None))
        for _ in range(2):
            time.sleep(0.3)
            pruned.append(a.sweep(fenced=True)["changes_pruned_below"])
        assert pruned[0] == 0 and 0 < pruned[1] < pruned[2], pruned
        with a.store.read() as repo:
            assert repo.coordination.oldest_change() == pruned[2] - 1  # the mark, alone
            missed = repo.coordination.changed_since(behind)
        assert (CHANGES_PRUNED, "") in missed
        assert ("notice", second["id"]) not in missed  # its row is gone
        # b's next dry run catches up: the mark makes it read its index whole
        c = asyncio.run(b.check(un, notice(["*"], lon=38.12)))
        assert [x["other"]["notice"] for x in c["conflicts"]] == [second["id"]]
        c = asyncio.run(b.check(un, notice(["*"], lon=36.12)))
        assert c["conflicts"] == []  # the cancellation it never saw listed is known too
        # and it follows normally again from there
        third = asyncio.run(a.notify(co, notice(["*"], lon=40.1)))
        c = asyncio.run(b.check(un, notice(["*"], lon=40.12)))
        assert [x["other"]["notice"] for x in c["conflicts"]] == [third["id"]]
    finally:
        a.close()
        b.close()


def test_a_process_joining_a_running_hub_skips_the_tables_check_however_long_it_loads(
    tmp_path: Path, dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The join is decided from the lease as it stands when the start-up read begins: that
    read's snapshot is taken then, and at 100k notices its index load outlasts several
    renewals of the lease, which the snapshot does not see (every join then ran the whole
    check against the log: ~50 s at 100k, instead of skipping it)."""
    lease = 1.0
    first = _hub(tmp_path, dsn, "first", leader_lease_s=lease)
    try:
        deadline = time.monotonic() + 60
        while not first.follower.leading:
            assert time.monotonic() < deadline, "the first process never took the lead"
            time.sleep(0.05)
        assert first.startup["crosschecked"]  # alone: it checks the tables
        loaded = NoticeIndex.load

        def slow_load(self: NoticeIndex, *args: Any, **kwargs: Any) -> None:
            time.sleep(3 * lease)  # the first process renews meanwhile: it is alive
            loaded(self, *args, **kwargs)

        monkeypatch.setattr(NoticeIndex, "load", slow_load)
        joiner = _hub(tmp_path, dsn, "joiner", leader_lease_s=lease)
        try:
            assert not joiner.startup["crosschecked"], joiner.startup
        finally:
            joiner.close()
    finally:
        first.close()  # and hands the lead back: a start now is a cold one, checked
    monkeypatch.undo()
    cold = _hub(tmp_path, dsn, "cold", leader_lease_s=lease)
    try:
        assert cold.startup["crosschecked"]
    finally:
        cold.close()


def test_a_forged_lease_neither_skips_the_tables_check_nor_keeps_the_lead(
    tmp_path: Path, dsn: str
) -> None:
    """An operator who writes a lease running to 2099 into `hub_leader` (by hand, between
    runs) makes it look as if a hub were running: a starting process would skip the check
    of the tables against the log, and no process would ever lead (no escalation, no
    expiry, no head signing). No renewal writes that far ahead, so neither happens."""
    first = _hub(tmp_path, dsn, "first")
    first.close()
    with psycopg.connect(dsn) as pg:
        pg.execute("UPDATE hub_leader SET holder = 'ghost', expires_at = '2099-01-01T00:00:00Z'")
    hub = _hub(tmp_path, dsn, "after", leader_lease_s=1.0)
    try:
        assert hub.startup["crosschecked"], hub.startup
        deadline = time.monotonic() + 20
        while not hub.follower.leading:
            assert time.monotonic() < deadline, "the forged lease kept the lead from every hub"
            time.sleep(0.05)
    finally:
        hub.close()
