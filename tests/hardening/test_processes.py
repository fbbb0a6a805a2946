"""serve and demo as a terminal user runs them: busy ports, damaged files, signals."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deconflict.cli.demo import DEFAULT_SCENARIO, _play_as_parties, _play_back_channel
from deconflict.client import Client
from deconflict.service import StoreDamaged, check_store
from tests.service.helpers import ADMIN_TOKEN, World, make_settings

ENV = {**os.environ, "DECONFLICT_ADMIN_TOKEN": ADMIN_TOKEN, "PYTHONUNBUFFERED": "1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _deconflict(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "-m", "deconflict", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ENV,
        check=False,
    )


def test_busy_port_is_said_at_once_and_nothing_is_created(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        db = tmp_path / "hub.db"
        out = _deconflict("serve", "--db", str(db), "--port", port)
        assert out.returncode == 2, out.stderr
        assert "cannot listen on 127.0.0.1:" + port in out.stderr
        assert "Traceback" not in out.stderr
        assert "deconflict hub on" not in out.stderr  # said before anything else
        assert not db.exists()
        assert list(tmp_path.iterdir()) == []
        out = _deconflict("demo", "--port", port, "--exit-after-play")
        assert out.returncode == 2
        assert "cannot listen on 127.0.0.1:" + port in out.stderr
        assert "Traceback" not in out.stderr


def _damage(db: Path, table: str) -> None:
    c = sqlite3.connect(db)
    page = c.execute("PRAGMA page_size").fetchone()[0]
    root = c.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    c.close()
    with db.open("r+b") as f:
        f.seek((root - 1) * page)
        f.write(b"\xde\xad\xbe\xef" * (page // 4))


@pytest.mark.parametrize("table", ["alembic_version", "acks", "notices"])
def test_a_damaged_file_is_reported_as_damaged(tmp_path: Path, table: str) -> None:
    World(tmp_path).stop()
    db = tmp_path / "hub.db"
    _damage(db, table)
    before = db.read_bytes()
    with pytest.raises(StoreDamaged, match="restore the last backup"):
        check_store(make_settings(db))
    out = _deconflict("serve", "--db", str(db), "--port", str(_free_port()))
    assert out.returncode == 3, out.stderr
    assert "is damaged" in out.stderr and "restore the last backup" in out.stderr
    assert "already exists" not in out.stderr and "Traceback" not in out.stderr
    assert db.read_bytes() == before  # nothing written to it


def test_a_lost_revision_is_not_migrated_again(tmp_path: Path) -> None:
    World(tmp_path).stop()
    db = tmp_path / "hub.db"
    with sqlite3.connect(db) as c:
        c.execute("DELETE FROM alembic_version")
    with pytest.raises(StoreDamaged, match="no migration revision"):
        check_store(make_settings(db))


def _wait_for(proc: subprocess.Popen[str], text: str, timeout: float = 60) -> str:
    assert proc.stderr is not None and proc.stdout is not None
    seen = ""
    deadline = time.monotonic() + timeout
    while text not in seen:
        assert time.monotonic() < deadline, seen
        line = proc.stderr.readline()
        seen += line
    return seen


def test_ctrl_c_of_serve_is_clean(tmp_path: Path) -> None:
    proc = subprocess.Popen(  # noqa: S603 - our own command
        [
            sys.executable,
            "-m",
            "deconflict",
            "serve",
            "--db",
            str(tmp_path / "h.db"),
            "--port",
            str(_free_port()),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        start_new_session=True,  # the signal goes to the group, as a terminal's Ctrl-C does
    )
    try:
        _wait_for(proc, "Application startup complete")
        time.sleep(0.3)  # the parser process is still importing: the worst moment
        os.killpg(proc.pid, signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "Traceback" not in err, err
    assert "KeyboardInterrupt" not in err and "EOFError" not in err


# The demo as a terminal starts it: with Ctrl-C's default action. A job started in the
# background by a non-interactive shell (`cmd &`, as CI runners and nohup'd scripts do)
# inherits SIGINT ignored, and Python then never turns it into KeyboardInterrupt: a
# demo run under such a test run would ignore the test's Ctrl-C.
DEMO = [
    sys.executable,
    "-c",
    "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "runpy.run_module('deconflict', run_name='__main__')",
    "demo",
    "--port",
    "0",
]


def _demo_env(tmp_path: Path) -> dict[str, str]:
    """The demo's temporary files in a folder of the test's own: a demo another run
    starts meanwhile (a shared machine) must not look like this one's leftovers."""
    return {**ENV, "TMPDIR": str(tmp_path)}


def _stopped(proc: subprocess.Popen[str]) -> str:
    """The demo's stderr once it has stopped after the signal. Its stop joins the server
    (its lifespan closes the hub: tactical threads, writer, parsers) and the track
    player, each with a bound of its own: a loaded machine can take tens of seconds,
    so the bound here is what matters to a user, not a race; past it, the log says why."""
    try:
        _out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        _out, err = proc.communicate(timeout=30)
        pytest.fail(f"the demo had not stopped 120 s after the signal; its log:\n{err[-6000:]}")
    return err


def test_ctrl_c_of_demo_is_clean(tmp_path: Path) -> None:
    before = set(tmp_path.glob("deconflict-demo-*"))
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        DEMO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_demo_env(tmp_path),
        start_new_session=True,  # the signal goes to the group, as a terminal's Ctrl-C does
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 90
        line = ""
        while "Ctrl-C stops it" not in line:
            assert time.monotonic() < deadline
            line = proc.stdout.readline()
            assert line or proc.poll() is None
        created = set(tmp_path.glob("deconflict-demo-*")) - before
        os.killpg(proc.pid, signal.SIGINT)
        err = _stopped(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "Traceback" not in err, err
    assert "KeyboardInterrupt" not in err and "EOFError" not in err
    assert created and not any(p.exists() for p in created)


@pytest.mark.parametrize("to", ["process", "group"])
def test_sigterm_of_demo_removes_its_database(to: str, tmp_path: Path) -> None:
    """SIGTERM to the demo, or to its whole group (what `timeout` and a service manager's
    stop send): no traceback, no parser process started again on the way out."""
    before = set(tmp_path.glob("deconflict-demo-*"))
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        DEMO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_demo_env(tmp_path),
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 90
        line = ""
        while "Ctrl-C stops it" not in line:
            assert time.monotonic() < deadline
            line = proc.stdout.readline()
            assert line or proc.poll() is None
        created = set(tmp_path.glob("deconflict-demo-*")) - before
        assert created
        if to == "group":
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.send_signal(signal.SIGTERM)
        err = _stopped(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "Traceback" not in err, err
    assert "starting another" not in err, err
    assert not any(p.exists() for p in created)


def test_the_demo_urgent_message_refers_to_the_unacknowledged_notice() -> None:
    out = _deconflict("demo", "--port", "0", "--exit-after-play", timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    late = next(x for x in lines if "left unacknowledged" in x).split(": ", 1)[1].split()[0]
    urgent = next(x for x in lines if "[urgent]" in x)
    assert late in urgent
    assert urgent.endswith(f"(about notice {late})"), urgent


def test_the_demo_message_refers_to_that_notice_on_the_hub(tmp_path: Path) -> None:
    """What the message refers to, read back from the hub (the demo's output aside)."""
    world = World(tmp_path)
    try:
        scenario = json.loads(DEFAULT_SCENARIO.read_text(encoding="utf-8"))
        tokens = dict(world.tokens)
        for p in scenario["parties"]:
            if p["id"] not in tokens:
                doc = {"id": p["id"], "name": p["name"]}
                tokens[p["id"]] = world.admin.ok("POST", "/v1/parties", doc, 201)["token"]
        clients = {p["id"]: Client(world.url, tokens[p["id"]]) for p in scenario["parties"]}
        try:
            _play_as_parties(clients, scenario)
            owed = [a for a in clients["russia"].acks() if a["state"] != "acknowledged"]
            (urgent,) = [m for m in clients["russia"].messages("in") if m["priority"] == "urgent"]
        finally:
            for c in clients.values():
                c.close()
        assert [a["notice_id"] for a in owed] == [urgent["ref"]["id"]]
        assert urgent["ref"]["type"] == "notice"
        assert urgent["ref"]["id"] in urgent["body"]
    finally:
        world.stop()


def test_the_demo_back_channel_message_has_its_chain_on_the_hub(tmp_path: Path) -> None:
    """The demo's hotline message to syria (issue 15), read back from the hub: handed to
    un-liaison, faxed on, acknowledged by telephone, each step a ledger entry."""
    world = World(tmp_path)
    try:
        bc = json.loads(DEFAULT_SCENARIO.read_text(encoding="utf-8"))["back_channel"]
        said = bc["message"]
        with Client(world.url, world.tokens["coalition"]) as co:
            _play_back_channel(world.url, ADMIN_TOKEN, {"coalition": co}, bc)
            (m,) = [x for x in co.messages("out") if x["to"] == ["syria"]]
            entries = co.ledger_entries(0)["entries"]
        assert m["subject"] == said["subject"] and m["priority"] == "urgent"
        assert m["ref"]["type"] == "notice"
        (receipt,) = m["receipts"]
        assert receipt["via_relay"] == "un-liaison" and receipt["read_at"]
        chain = receipt["relay_chain"]
        steps = chain["steps"]
        assert [s["step"] for s in steps] == ["received", "forwarded", "acknowledged"]
        assert (steps[1]["means"], steps[1]["counterpart"]) == (
            said["forwarded"]["means"],
            said["forwarded"]["to"],
        )
        assert (steps[2]["means"], steps[2]["counterpart"]) == (
            said["acknowledged"]["means"],
            said["acknowledged"]["by"],
        )
        assert chain["answer"] == "acknowledged"
        # each step is the ledger entry its index names, about this message and relay
        full = {e["index"]: json.loads(e["entry"]) for e in entries if "entry" in e}
        for s in steps:
            entry = full[s["ledger_index"]]
            kind = "relay_received" if s["step"] == "received" else "relay_step"
            assert (entry["type"], entry["message_id"], entry["relay"]) == (
                kind,
                m["id"],
                "un-liaison",
            )
            assert entry["step"] == s["step"] and entry["party"] == "syria"
        # the reported acknowledgement is syria's read receipt, through the relay
        reads = [
            e
            for e in full.values()
            if e["type"] == "message_receipt" and e["message_id"] == m["id"]
        ]
        assert [(e["receipt"], e.get("relay")) for e in reads] == [
            ("delivered", "un-liaison"),
            ("read", "un-liaison"),
        ]
    finally:
        world.stop()
