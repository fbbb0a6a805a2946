"""Tampering with the database behind the hub's back: `ledger verify` and `evidence verify`
catch each attack, with a state file and a bundle from before it.

Two attackers: a clumsy one edits rows in place; a careful one (with the database, not the
hub's signing key) rewrites the whole log consistently: entries, leaf hashes, every stored
node and the evidence index, so that the hub signs the rewritten tree without noticing.
Only the heads and bundles the parties kept from before can expose that one.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deconflict.audit import AuditReport, verify_log
from deconflict.cli import main
from deconflict.cli.evidence import compare_bundles
from deconflict.client import Client
from deconflict.ledger import merkle, tree
from deconflict.ledger.evidence import verify_bundle
from deconflict.service.ledger_log import refs_of
from deconflict.store.ledger_tables import APPEND_ONLY_TABLES
from tests.service.helpers import World, notice


@pytest.fixture
def scene(tmp_path: Path) -> Iterator[tuple[World, str]]:
    """A hub where coalition notified russia, russia acknowledged, and both talked."""
    w = World(tmp_path)
    try:
        coalition, russia = w.party("coalition"), w.party("russia")
        made = coalition.ok("POST", "/v1/notices", notice(["russia"], title="strike"), 201)
        russia.ok("POST", f"/v1/notices/{made['id']}/ack", {"version": 1, "comment": "noted"})
        coalition.ok(
            "POST",
            "/v1/messages",
            {"to": ["russia"], "body": "confirm?", "ref": {"type": "notice", "id": made["id"]}},
            201,
        )
        coalition.ok("POST", "/v1/notices", notice(["un"], lon=40.0, title="other"), 201)
        yield w, made["id"]
    finally:
        w.stop()


def _verify(w: World, party: str, state: Path) -> AuditReport:
    with Client(w.url, w.tokens[party]) as c:
        return verify_log(c, state)


def _bundle(w: World, party: str, notice_id: str) -> dict[str, Any]:
    with Client(w.url, w.tokens[party]) as c:
        return c.evidence(notice_id)


def _db(w: World) -> sqlite3.Connection:
    con = sqlite3.connect(w.db, isolation_level=None)
    for table in APPEND_ONLY_TABLES:  # what an attacker with the file does first
        for what in ("update", "delete"):
            con.execute(f"DROP TRIGGER IF EXISTS {table}_no_{what}")
    return con


def _entries(con: sqlite3.Connection) -> list[bytes]:
    return [bytes(r[0]) for r in con.execute("SELECT entry FROM ledger_entries ORDER BY idx")]


def _index_of(con: sqlite3.Connection, type_: str) -> int:
    for i, data in enumerate(_entries(con)):
        if json.loads(data)["type"] == type_:
            return i
    raise AssertionError(type_)


def _rewrite(con: sqlite3.Connection, entries: list[bytes]) -> None:
    """The careful attacker: a complete, self-consistent log of `entries`."""
    con.execute("BEGIN IMMEDIATE")
    for table in ("ledger_entries", "ledger_nodes", "ledger_refs", "ledger_heads"):
        con.execute(f"DELETE FROM {table}")  # noqa: S608 (fixed names)
    frontier = merkle.Frontier()
    for i, data in enumerate(entries):
        leaf = merkle.leaf_hash(data)
        doc = json.loads(data)
        con.execute(
            "INSERT INTO ledger_entries (idx, type, entry, leaf_hash) VALUES (?,?,?,?)",
            (i, doc["type"], data, leaf),
        )
        con.executemany(
            "INSERT INTO ledger_nodes (level, idx, hash) VALUES (?,?,?)",
            tree.append(frontier, leaf)[1:],
        )
        con.executemany(
            "INSERT INTO ledger_refs (ref, idx) VALUES (?,?)", [(r, i) for r in refs_of(doc)]
        )
    con.execute("COMMIT")


def _problems(report: AuditReport) -> str:
    assert not report.ok
    return " | ".join(report.problems)


def test_clean_log_verifies_and_the_cli_says_so(
    scene: tuple[World, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w, notice_id = scene
    state = tmp_path / "heads.json"
    args = ["ledger", "verify", "--server", w.url, "--token", w.tokens["russia"]]
    assert main([*args, "--state", str(state)]) == 0
    assert "OK" in capsys.readouterr().out
    w.party("russia").ok("POST", "/v1/messages", {"to": ["un"], "body": "x"}, 201)
    assert main([*args, "--state", str(state)]) == 0
    assert len(json.loads(state.read_text())["heads"]) == 2
    report = verify_bundle(_bundle(w, "russia", notice_id))
    assert report.ok, report.problems
    text = "\n".join(report.account)
    assert "acknowledged version 1" in text and "delivered to russia" in text


def test_changed_coordinates_in_place(
    scene: tuple[World, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w, notice_id = scene
    state = tmp_path / "heads.json"
    assert _verify(w, "russia", state).ok
    before = _bundle(w, "russia", notice_id)
    con = _db(w)
    i = _index_of(con, "notice_version")
    data = _entries(con)[i].replace(b"36.1", b"36.7")
    con.execute("UPDATE ledger_entries SET entry = ? WHERE idx = ?", (data, i))
    assert "altered after it was logged" in _problems(_verify(w, "russia", state))
    after = _bundle(w, "russia", notice_id)
    assert "inclusion proof fails" in " ".join(verify_bundle(after).problems)
    assert verify_bundle(before).ok  # what russia kept still proves the original
    # the command line fails with the reason, too
    path = tmp_path / "after.json"
    path.write_text(json.dumps(after))
    assert main(["evidence", "verify", str(path)]) == 1
    assert "PROBLEM" in capsys.readouterr().out


def test_changed_coordinates_with_a_rebuilt_tree(scene: tuple[World, str], tmp_path: Path) -> None:
    w, notice_id = scene
    state = tmp_path / "heads.json"
    assert _verify(w, "un", state).ok  # even a party that never saw the notice
    before = _bundle(w, "russia", notice_id)
    con = _db(w)
    entries = _entries(con)
    i = _index_of(con, "notice_version")
    entries[i] = entries[i].replace(b"36.1", b"36.7")
    _rewrite(con, entries)
    assert "fork or rewrite" in _problems(_verify(w, "un", state))
    after = _bundle(w, "russia", notice_id)
    assert verify_bundle(after).ok  # self-consistent, signed by the hub ...
    found = compare_bundles(before, after)  # ... but not what russia holds
    assert any("differs" in p for p in found), found
    assert "conflicting_heads" in json.loads(state.read_text())


def test_deleted_ack(scene: tuple[World, str], tmp_path: Path) -> None:
    w, notice_id = scene
    state = tmp_path / "heads.json"
    assert _verify(w, "coalition", state).ok
    before = _bundle(w, "coalition", notice_id)
    con = _db(w)
    con.execute("DELETE FROM acks WHERE state = 'acknowledged'")  # the state table ...
    assert verify_bundle(_bundle(w, "coalition", notice_id)).ok  # ... the log still proves it
    i = _index_of(con, "ack")
    con.execute("DELETE FROM ledger_entries WHERE idx = ?", (i,))  # ... and its entry
    assert f"entry {i} is missing" in _problems(_verify(w, "coalition", state))
    r = w.party("coalition").get(f"/v1/notices/{notice_id}/evidence")
    assert r.status_code == 409 and "damaged" in r.json()["detail"]
    # closing the gap (renumbering, rebuilding the tree) is a rewrite
    _rewrite(con, _entries(con))
    assert "shrank" in _problems(_verify(w, "coalition", state))
    after = _bundle(w, "coalition", notice_id)
    assert verify_bundle(after).ok
    assert any("missing from the later one" in p for p in compare_bundles(before, after))


def test_reordered_entries(scene: tuple[World, str], tmp_path: Path) -> None:
    w, notice_id = scene
    state = tmp_path / "heads.json"
    assert _verify(w, "russia", state).ok
    before = _bundle(w, "russia", notice_id)
    con = _db(w)
    entries = _entries(con)
    i, j = _index_of(con, "delivery"), _index_of(con, "ack")
    # in place: swap two rows (bytes and leaf hashes)
    rows = {
        r[0]: (r[1], r[2]) for r in con.execute("SELECT idx, entry, leaf_hash FROM ledger_entries")
    }
    con.execute("UPDATE ledger_entries SET entry=?, leaf_hash=? WHERE idx=?", (*rows[j], i))
    con.execute("UPDATE ledger_entries SET entry=?, leaf_hash=? WHERE idx=?", (*rows[i], j))
    assert "do not hash to the root" in _problems(_verify(w, "russia", state))
    assert not verify_bundle(_bundle(w, "russia", notice_id)).ok
    # consistently: the ack before the delivery, tree rebuilt
    entries[i], entries[j] = entries[j], entries[i]
    _rewrite(con, entries)
    assert "fork or rewrite" in _problems(_verify(w, "russia", state))
    after = _bundle(w, "russia", notice_id)
    assert verify_bundle(after).ok
    assert compare_bundles(before, after)


def test_dropped_tail_and_other_entries_appended(scene: tuple[World, str], tmp_path: Path) -> None:
    w, notice_id = scene
    state = tmp_path / "heads.json"
    assert _verify(w, "russia", state).ok
    before = _bundle(w, "russia", notice_id)
    con = _db(w)
    entries = _entries(con)
    w.stop()
    _rewrite(con, entries[:-3])  # drop the last three (the message and the other notice)
    con.close()
    w.overrides["ledger_start_despite_mismatch"] = True  # the tables still hold them
    w.start()
    for k in range(5):  # and carry on as if nothing happened
        w.party("un").ok("POST", "/v1/messages", {"to": ["russia"], "body": f"m{k}"}, 201)
    report = _verify(w, "russia", state)
    assert "fork or rewrite" in _problems(report)
    # the export carries a consistency proof from the earlier bundle's head: it fails
    since = tmp_path / "before.json"
    since.write_text(json.dumps(before))
    out = tmp_path / "after.json"
    args = ["--server", w.url, "--token", w.tokens["russia"]]
    assert main(["evidence", notice_id, "-o", str(out), "--since", str(since), *args]) == 0
    assert main(["evidence", "verify", str(out), "--against", str(since)]) == 1
