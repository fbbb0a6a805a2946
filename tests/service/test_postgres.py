"""The PostgreSQL backend: what differs from SQLite, tested against a real server.

The service, API and ledger tests run on both backends (the `backend` fixture); these
are the PostgreSQL-only facts: `serve --db` takes a DSN, a restart loses nothing, the
log's tables refuse changes (triggers). Several processes on one database:
tests/service/test_multi.py.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deconflict.config import ConfigError, Settings
from tests.postgres import PostgresServer
from tests.service.helpers import ADMIN_TOKEN, World, notice


@pytest.fixture
def dsn(postgres_server: PostgresServer) -> Iterator[str]:
    with postgres_server.database() as url:
        yield url


def test_a_restart_on_postgresql_loses_nothing(tmp_path: Path, dsn: str) -> None:
    w = World(tmp_path, db_url=dsn, hub_key_file=tmp_path / "key.pem")
    try:
        co, ru = w.party("coalition"), w.party("russia")
        a = co.ok("POST", "/v1/notices", notice(["russia"]), 201)
        b = ru.ok("POST", "/v1/notices", notice(["coalition"], lon=36.2), 201)
        assert [c["other"]["issuer"] for c in b["conflicts"]] == ["coalition"]
        ru.ok("POST", f"/v1/notices/{a['id']}/ack", {"version": 1, "comment": "received"})
        head = co.ok("GET", "/v1/ledger/head")
        w.restart()
        co, ru = w.party("coalition"), w.party("russia")
        again = co.ok("GET", f"/v1/notices/{a['id']}")
        assert again["acks"][0]["state"] == "acknowledged"
        assert [c["other"]["issuer"] for c in again["conflicts"]] == ["russia"]
        assert co.ok("GET", "/v1/ledger/head")["tree_size"] >= head["tree_size"]
        # the rebuilt index still finds the stored notices
        c = co.ok("POST", "/v1/check", notice(["russia"], lon=36.25))
        assert {x["other"]["issuer"] for x in c["conflicts"]} == {"russia"}
        health = w.admin.ok("GET", "/healthz")
        assert health["store"].startswith("postgresql:")
    finally:
        w.stop()


def test_serve_takes_a_dsn_and_hides_its_password(tmp_path: Path, dsn: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "DECONFLICT_ADMIN_TOKEN": ADMIN_TOKEN,
        "DECONFLICT_HUB_KEY_FILE": str(tmp_path / "hub-key.pem"),
    }
    # a DSN with a password the server does not need (trust authentication)
    with_password = dsn.replace("deconflict@", "deconflict:sekrit@", 1)
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "deconflict", "serve", "--db", with_password, "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        health = None
        for _ in range(300):
            try:
                r = httpx.get(
                    f"http://127.0.0.1:{port}/healthz",
                    headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},  # the figures need it
                    timeout=1,
                )
                if r.status_code == 200:
                    health = r.json()
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        assert health is not None, "the hub never answered"
        assert health["store"].startswith("postgresql:")
        assert "sekrit" not in health["store"]
        assert (tmp_path / "hub-key.pem").exists()
        assert not list(tmp_path.glob("*.db")), "a DSN must not become a SQLite file"
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert "sekrit" not in out


def test_db_url_must_be_a_postgresql_dsn() -> None:
    with pytest.raises(ConfigError, match="postgresql://"):
        Settings(db_url="mysql://x@y/z")
    assert Settings(db_url="postgresql://u@h/d").hub_key_path.name == "deconflict-hub-key.pem"
