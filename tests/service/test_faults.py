"""Faults of PostgreSQL under load (issue 14, item 5), over the real socket.

A cluster of its own (restarting the session's would disturb other tests): restarted
and stopped under writes, the hub answers 503 with a problem document while it is away,
never a 2xx it did not make durable, and recovers by itself; every 2xx is there after.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.postgres import PostgresServer, find_binaries
from tests.service.helpers import World, notice


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[PostgresServer]:
    if find_binaries() is None:
        pytest.skip("no PostgreSQL server binaries (apt-get install postgresql)")
    with PostgresServer.start(own=True) as server:
        yield server


def _pg_ctl(server: PostgresServer, *args: str) -> None:
    bin_dir = find_binaries()
    assert bin_dir is not None and server.cluster is not None
    # -l: the server's output to its log, not to our pipe (run() would wait on it)
    subprocess.run(  # noqa: S603 - the server's own binaries
        [
            *server.as_user,
            str(bin_dir / "pg_ctl"),
            "-D",
            str(server.cluster),
            "-w",
            "-l",
            str(server.cluster.parent / "log"),
            *args,
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


class Load:
    """Clients writing notices until stopped; every answer kept."""

    def __init__(self, world: World, n: int = 2) -> None:
        self.world = world
        self.answers: list[tuple[int, Any]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,)) for i in range(n)]
        for t in self._threads:
            t.start()

    def _run(self, i: int) -> None:
        api = self.world.party("coalition")
        k = 0
        while not self._stop.is_set():
            k += 1
            r = api.post("/v1/notices", notice(["russia"], lon=10.0 + i * 20 + (k % 300) * 0.05))
            body = r.json()
            self.answers.append((r.status_code, body))
            if r.status_code == 503:
                assert r.headers["content-type"].startswith("application/problem+json")
                assert r.headers["retry-after"].isdigit()
                assert body["type"] == "urn:deconflict:problem:database-unavailable"
                assert "database is unreachable" in body["detail"]

    def count(self, status: int) -> int:
        return sum(1 for s, _ in self.answers if s == status)

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(60)


def _wait(cond: Any, timeout: float, what: str) -> float:
    start = time.monotonic()
    while not cond():
        assert time.monotonic() - start < timeout, what
        time.sleep(0.1)
    return time.monotonic() - start


@pytest.mark.parametrize("how", ["restart", "stop-start"])
def test_postgres_away_under_load_no_acknowledged_write_lost(
    tmp_path: Path, own_postgres: PostgresServer, how: str
) -> None:
    with own_postgres.database() as dsn:
        world = World(tmp_path, db_url=dsn, hub_key_file=tmp_path / "hub-key.pem")
        try:
            admin = world.admin
            load = Load(world)
            try:
                _wait(lambda: load.count(201) >= 5, 60, "no write before the fault")
                if how == "restart":
                    _pg_ctl(own_postgres, "-m", "fast", "restart")
                else:
                    _pg_ctl(own_postgres, "-m", "fast", "stop")
                    # while it is away: refused, readiness says so, never a 500
                    _wait(lambda: load.count(503) >= 3, 60, "writes not refused while away")
                    r = admin.get("/healthz")
                    assert r.status_code == 503 and r.json()["database"] == "unreachable"
                    assert r.headers["retry-after"].isdigit()
                    r = world.party("russia").get("/v1/notices")
                    assert r.status_code == 503, r.text
                    _pg_ctl(own_postgres, "-o", own_postgres.options, "start")
                back = time.monotonic()
                before = load.count(201)
                recovered = _wait(
                    lambda: load.count(201) >= before + 5, 60, "the hub did not recover"
                )
                print(f"{how}: recovered {recovered:.2f} s after; refused {load.count(503)}")
            finally:
                load.stop()
            assert back  # the fault happened
            assert {s for s, _ in load.answers} <= {201, 503}, {s for s, _ in load.answers}
            _wait(lambda: admin.get("/healthz").status_code == 200, 60, "not ready again")
            # every acknowledged write is there, through the API
            ru = world.party("coalition")
            for status, body in load.answers:
                if status == 201:
                    r = ru.get(f"/v1/notices/{body['id']}")
                    assert r.status_code == 200, (body["id"], r.text)
        finally:
            world.stop()
