"""What the API serves is what the log holds: the operator edits the tables behind the log
(stopping the hub, editing its SQLite file, restarting it) and the affected party's
`ledger verify` fails, naming the object and the field; the client's one-object check too.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from deconflict.cli import main
from deconflict.client import Client
from deconflict.ledger.keys import b64d, b64e, generate_key, public_raw
from deconflict.service.crosscheck import LedgerMismatchError
from deconflict.service.hub import Hub
from tests.ledger_service.test_tamper import scene
from tests.service.helpers import World, make_settings

__all__ = ["scene"]


def _edit(w: World, *statements: str) -> None:
    w.stop()
    con = sqlite3.connect(w.db)
    for sql in statements:
        assert con.execute(sql).rowcount > 0, sql
    con.commit()
    con.close()
    w.overrides["ledger_start_despite_mismatch"] = True  # the hub refuses otherwise
    w.start()


def _verify(
    w: World, party: str, state: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    capsys.readouterr()
    args = ["ledger", "verify", "--server", w.url, "--token", w.tokens[party]]
    code = main([*args, "--state", str(state)])
    return code, capsys.readouterr().out


CASES = {
    "title": (
        ["UPDATE notice_versions SET title = 'strikE' WHERE title = 'strike'"],
        "russia",
        "notice n-",
        "title = 'strikE'",
    ),
    "coordinate": (
        ["UPDATE notice_versions SET volumes = replace(volumes, '36.1', '36.7')"],
        "russia",
        "notice n-",
        "volumes",
    ),
    "comment": (
        ["UPDATE acks SET comment = 'noteD' WHERE comment = 'noted'"],
        "coalition",
        "acknowledgement of notice",
        "comment = 'noteD'",
    ),
    "body": (
        ["UPDATE messages SET body = 'confirm!' WHERE body = 'confirm?'"],
        "russia",
        "message m-",
        "body = 'confirm!'",
    ),
    "state": (
        [
            "UPDATE notices SET state = 'cancelled' WHERE id IN "
            "(SELECT notice_id FROM notice_versions WHERE title = 'strike')"
        ],
        "russia",
        "notice n-",
        "state = 'cancelled'",
    ),
    "delivery time": (
        ["UPDATE acks SET delivered_at = '2020-01-01T00:00:00.000000Z' WHERE addressee = 'russia'"],
        "russia",
        "acknowledgement of notice",
        "delivered_at = '2020-01-01",
    ),
    "read receipt never sent": (
        [
            "UPDATE message_recipients SET read_at = '2020-01-01T00:00:00.000000Z' "
            "WHERE party_id = 'russia'"
        ],
        "coalition",
        "message m-",
        "read receipt at 2020-01-01",
    ),
    "party name": (
        ["UPDATE parties SET name = 'UN (impostor)' WHERE id = 'un'"],
        "russia",
        "party un",
        "name = 'UN (impostor)'",
    ),
    "never acknowledged": (
        [
            "UPDATE acks SET state = 'acknowledged', acknowledged_at = created_at "
            "WHERE addressee = 'un'"
        ],
        "un",
        "acknowledgement of notice",
        "no acknowledgement by un: it was never made",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_table_edited_behind_the_log_fails_verify(
    scene: tuple[World, str], tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    w, _ = scene
    statements, party, obj, field = CASES[case]
    state = tmp_path / "heads.json"
    code, out = _verify(w, party, state, capsys)
    assert code == 0, out
    assert "objects the hub serves you compared with the log" in out
    _edit(w, *statements)
    code, out = _verify(w, party, state, capsys)  # with saved heads
    assert code == 1, out
    problems = [line for line in out.splitlines() if line.startswith("PROBLEM")]
    assert any(obj in p and field in p for p in problems), problems
    code, out = _verify(w, party, tmp_path / "first.json", capsys)  # a first-time verifier
    assert code == 1 and field in out


def test_the_client_checks_one_served_object(scene: tuple[World, str]) -> None:
    w, notice_id = scene
    with Client(w.url, w.tokens["russia"]) as c:
        hub_key = b64d(c.ledger_key()["public_key"])
        notice = c.notice(notice_id)
        assert isinstance(notice["ledger_index"], int)
        assert c.check_served(notice, hub_key) == []
        [ack] = notice["acks"]
        assert c.check_served(ack, hub_key) == []
        [message] = [m for m in c.messages() if m["body"] == "confirm?"]
        assert c.check_served(message, hub_key) == []
        assert c.check_served({**notice, "title": "x"}, hub_key)
        assert c.check_served({**notice, "ledger_index": None}, hub_key)
        other = b64d(c.ledger_key()["public_key"][::-1])
        assert "not signed by the hub key" in c.check_served(notice, other)[0]
    _edit(w, "UPDATE notice_versions SET title = 'strikE' WHERE title = 'strike'")
    with Client(w.url, w.tokens["russia"]) as c:
        [problem] = c.check_served(c.notice(notice_id), hub_key)
        assert "title = 'strikE'" in problem and "ledger entry" in problem


def test_the_hub_refuses_to_start_on_tables_that_disagree_with_its_log(
    scene: tuple[World, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    w, _ = scene
    w.stop()
    con = sqlite3.connect(w.db)
    con.execute("UPDATE messages SET body = 'confirm!' WHERE body = 'confirm?'")
    con.commit()
    con.close()
    hub = Hub(make_settings(w.db))
    with pytest.raises(LedgerMismatchError) as refused:
        hub.start(sweep=False)
    text = str(refused.value)
    assert "disagree with its ledger in 1 place" in text
    assert "body = 'confirm!'" in text and "--start-despite-ledger-mismatch" in text
    hub.store.close()
    # started anyway on purpose: that is logged, in an entry every party reads
    w.overrides["ledger_start_despite_mismatch"] = True
    w.start()
    entries = w.party("un").ok("GET", "/v1/ledger/entries")["entries"]
    logged = [json.loads(e["entry"]) for e in entries if "entry" in e]
    [override] = [e for e in logged if e["type"] == "hub_started_despite_mismatch"]
    assert override["differences"] == 1
    code, out = _verify(w, "russia", tmp_path / "h.json", capsys)
    assert code == 1 and "body = 'confirm!'" in out


def test_the_cli_checks_one_served_object(
    scene: tuple[World, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w, notice_id = scene
    state = tmp_path / "heads.json"
    args = ["--server", w.url, "--token", w.tokens["russia"], "--state", str(state)]
    assert main(["ledger", "check", "notice", notice_id, *args]) == 2  # nothing pinned yet
    assert "run `deconflict ledger verify` first" in capsys.readouterr().err
    assert _verify(w, "russia", state, capsys)[0] == 0
    assert main(["ledger", "check", "notice", notice_id, *args]) == 0
    assert "is what ledger entry" in capsys.readouterr().out
    assert main(["ledger", "check", "ack", notice_id, *args]) == 0
    _edit(w, "UPDATE acks SET comment = 'noteD' WHERE comment = 'noted'")
    args[3] = w.tokens["russia"]
    args[1] = w.url
    capsys.readouterr()
    assert main(["ledger", "check", "ack", notice_id, *args]) == 1
    assert "comment = 'noteD'" in capsys.readouterr().out


def test_a_party_key_swapped_in_the_table_fails_verify(
    scene: tuple[World, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The key a verifier fetches to check a party's signatures is the one the log set."""
    w, _ = scene
    with Client(w.url, w.tokens["coalition"], key=generate_key()) as c:
        c.set_key()
    state = tmp_path / "heads.json"
    code, out = _verify(w, "russia", state, capsys)
    assert code == 0, out
    forged = b64e(public_raw(generate_key()))
    _edit(w, f"UPDATE party_keys SET public_key = '{forged}' WHERE party_id = 'coalition'")  # noqa: S608
    code, out = _verify(w, "russia", state, capsys)
    assert code == 1 and "of party coalition" in out and "public_key" in out, out
