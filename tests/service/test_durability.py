"""Restarts lose nothing answered 2xx; escalation state survives them."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from deconflict.service import Hub
from deconflict.service import index as index_module
from deconflict.store import SqliteStore
from deconflict.store.sqlite import alembic_config
from tests.service.helpers import ADMIN_TOKEN, World, future, iso, make_settings, notice


def test_restart_loses_nothing(world: World) -> None:
    co, ru = world.party("coalition"), world.party("russia")
    a = co.ok("POST", "/v1/notices", notice(["russia"]), 201)
    b = ru.ok("POST", "/v1/notices", notice(["coalition"], lon=36.2), 201)
    ru.ok("POST", f"/v1/notices/{a['id']}/ack", {"version": 1, "comment": "seen"})
    m = co.ok("POST", "/v1/messages", {"to": ["russia"], "body": "hello"}, 201)
    events_before = ru.events()
    world.restart()
    co, ru = world.party("coalition"), world.party("russia")
    assert co.ok("GET", f"/v1/notices/{a['id']}")["acks"][0]["comment"] == "seen"
    assert ru.events() == events_before[: len(ru.events())]
    assert [e["id"] for e in ru.events()][: len(events_before)] == [e["id"] for e in events_before]
    assert ru.ok("GET", f"/v1/messages/{m['id']}")["body"] == "hello"
    assert len(co.ok("GET", "/v1/conflicts")["conflicts"]) == 1
    # The strategic index was rebuilt from the store: a new notice still conflicts with both.
    c = world.party("un").ok("POST", "/v1/notices", notice(["coalition"], lon=36.15), 201)
    assert {x["other"]["issuer"] for x in c["conflicts"]} == {"coalition", "russia"}
    assert b["id"]


def test_overdue_escalation_after_restart(tmp_path: Path) -> None:
    world = World(tmp_path, sweep_interval_s=60.0)  # no sweep before the restart
    try:
        co = world.party("coalition")
        n = co.ok(
            "POST", "/v1/notices", notice(["russia"], ack_deadline=iso(future(1 / 3600))), 201
        )
        world.stop()
        time.sleep(1.2)  # the deadline passes while the hub is down
        world.overrides["sweep_interval_s"] = 0.2
        world.start()
        co, ru = world.party("coalition"), world.party("russia")
        for _ in range(50):
            if any(e["type"] == "ack_overdue" for e in co.events()):
                break
            time.sleep(0.1)
        assert [e["data"]["notice_id"] for e in co.events() if e["type"] == "ack_overdue"] == [
            n["id"]
        ]
        world.restart()  # escalations are sent once, not once per start
        time.sleep(0.6)
        ru = world.party("russia")
        assert len([e for e in ru.events() if e["type"] == "ack_overdue"]) == 1
    finally:
        world.stop()


def test_schema_is_migrated_and_durable_settings(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "x.db")
    try:
        store.migrate()
        store.migrate()  # idempotent
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert head is not None
        assert store.current_revision() == head
        with store.write() as repo:
            mode = repo.conn.exec_driver_sql("PRAGMA journal_mode").scalar()
            sync = repo.conn.exec_driver_sql("PRAGMA synchronous").scalar()
        assert mode == "wal"
        assert sync == 2  # FULL
    finally:
        store.close()


def _forget_prepared(db: Path) -> None:
    """As in a database from before prepared forms: start-up must parse every notice."""
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM notice_prepared")


def test_index_rebuilt_in_worker_processes_matches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With many stored notices to derive again (a database from before prepared forms),
    the start-up parse runs in worker processes; same index."""
    hub = Hub(make_settings(tmp_path / "hub.db"))
    hub.start(sweep=False)
    admin = hub.authenticate(ADMIN_TOKEN)
    who = [
        hub.authenticate(asyncio.run(hub.register_party(admin, {"id": p, "name": p}))["token"])
        for p in ("coalition", "russia")
    ]
    for i in range(40):
        asyncio.run(hub.notify(who[i % 2], notice(["*"], lon=30 + (i // 2) * 0.2)))
    serial = {n.id: (n.version, n.issuer, [v.to_json() for v in n.volumes]) for n in hub.index}
    hub.close()
    _forget_prepared(tmp_path / "hub.db")
    monkeypatch.setattr(index_module, "PARALLEL_LOAD_MIN", 10)
    monkeypatch.setattr(index_module, "_LOAD_CHUNK", 7)
    hub = Hub(make_settings(tmp_path / "hub.db"))
    hub.start(sweep=False)
    try:
        parallel = {
            n.id: (n.version, n.issuer, [v.to_json() for v in n.volumes]) for n in hub.index
        }
        assert parallel == serial
        assert hub.index.active_count("coalition") == 20
        c = asyncio.run(hub.notify(who[0], notice(["*"], lon=30.1)))
        assert {x["other"]["issuer"] for x in c["conflicts"]} == {"russia"}
    finally:
        hub.close()


def test_index_rebuilt_in_this_process_when_workers_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concurrent.futures.process import BrokenProcessPool

    hub = Hub(make_settings(tmp_path / "hub.db"))
    hub.start(sweep=False)
    admin = hub.authenticate(ADMIN_TOKEN)
    co = hub.authenticate(
        asyncio.run(hub.register_party(admin, {"id": "co", "name": "co"}))["token"]
    )
    ids = {asyncio.run(hub.notify(co, notice(["*"], lon=30 + i)))["id"] for i in range(12)}
    hub.close()
    _forget_prepared(tmp_path / "hub.db")

    class Broken:
        def __init__(self, *args: object, **kwargs: object) -> None:
            raise BrokenProcessPool("no workers here")

    monkeypatch.setattr(index_module, "PARALLEL_LOAD_MIN", 10)
    monkeypatch.setattr(index_module, "ProcessPoolExecutor", Broken)
    hub = Hub(make_settings(tmp_path / "hub.db"))
    hub.start(sweep=False)
    try:
        assert {n.id for n in hub.index} == ids
    finally:
        hub.close()
