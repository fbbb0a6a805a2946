"""Conflicts under coarse disclosure (issue 11) are provable from the ledger (issue 12).

Each transition of a conflict is logged once per side, recording what that side was told:
its own notice exactly, the other as it was shown. Played with both issuers (who each prove
what they were told, and cannot read the other's entry) and a third party (who reads
neither), then with the operator editing the conflicts table behind the log.
Also: every write answer names the entry it created, and alerts are held to theirs.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deconflict.cli import main
from deconflict.client import Client
from deconflict.ledger.keys import b64d
from deconflict.service import crosscheck
from deconflict.service.crosscheck import LedgerMismatchError
from deconflict.service.hub import Hub
from tests.service.helpers import Api, World, make_settings, notice
from tests.tactical_service.conftest import tactical_world
from tests.tactical_service.helpers import report, send, wait_event

HIDDEN = "HIDDEN-COALITION-PLAN"


@pytest.fixture
def coarse(tmp_path: Path) -> Iterator[tuple[World, dict[str, Any], dict[str, Any]]]:
    """The coalition and Russia notify overlapping activities to the UN only (coarse)."""
    w = World(tmp_path)
    try:
        co, ru = w.party("coalition"), w.party("russia")
        w.party("un")
        hidden = co.ok("POST", "/v1/notices", notice(["un"], title=HIDDEN, remarks=HIDDEN), 201)
        mine = ru.ok("POST", "/v1/notices", notice(["un"], lon=36.2, title="patrol"), 201)
        assert len(mine["conflicts"]) == 1
        yield w, hidden, mine
    finally:
        w.stop()


def _readable(api: Api) -> dict[int, dict[str, Any]]:
    entries = api.ok("GET", "/v1/ledger/entries")["entries"]
    return {e["index"]: json.loads(e["entry"]) for e in entries if "entry" in e}


def _verify(w: World, party: str, state: Path, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    code = main(
        ["ledger", "verify", "--server", w.url, "--token", w.tokens[party], "--state", str(state)]
    )
    out = capsys.readouterr().out
    return f"exit {code}\n{out}"


def _check(
    w: World, party: str, conflict_id: str, tmp: Path, capsys: pytest.CaptureFixture[str]
) -> str:
    """`deconflict ledger check conflict ID` with the key `ledger verify` pinned."""
    capsys.readouterr()
    args = ["--server", w.url, "--token", w.tokens[party], "--state", str(tmp / f"{party}.json")]
    code = main(["ledger", "check", "conflict", conflict_id, *args])
    return f"exit {code}\n{capsys.readouterr().out}"


def test_each_issuer_proves_what_it_was_told_and_reads_nothing_of_the_other(
    coarse: tuple[World, dict[str, Any], dict[str, Any]],
) -> None:
    w, hidden, mine = coarse
    indices = {}
    for party, own in (("coalition", hidden), ("russia", mine)):
        with Client(w.url, w.tokens[party]) as c:
            hub_key = b64d(c.ledger_key()["public_key"])
            [conflict] = c.conflicts()
            assert conflict["other"]["notice"] is None  # coarse: not addressed to each other
            assert c.check_served(conflict, hub_key) == []
            assert c.check_served(c.conflict(conflict["id"]), hub_key) == []
            changed = {**conflict, "overlaps": []}
            assert any("overlaps" in p for p in c.check_served(changed, hub_key))
            indices[party] = conflict["ledger_index"]
        entry = _readable(w.party(party))[indices[party]]
        assert entry["readers"] == [party] and entry["notices"] == [[own["id"], 1]]
        assert entry["view"] == {k: v for k, v in conflict.items() if k != "ledger_index"}
    assert indices["coalition"] != indices["russia"]
    # Neither reads the other's entry: the index and the leaf hash only.
    co_reads, ru_reads = _readable(w.party("coalition")), _readable(w.party("russia"))
    assert indices["russia"] not in co_reads and indices["coalition"] not in ru_reads
    assert hidden["id"] not in json.dumps(ru_reads) and HIDDEN not in json.dumps(ru_reads)
    assert mine["id"] not in json.dumps(co_reads)
    with Client(w.url, w.tokens["russia"]) as c:
        [problem] = c.check_served(
            {**c.conflicts()[0], "ledger_index": indices["coalition"]},
            b64d(c.ledger_key()["public_key"]),
        )
        assert "not readable by you" in problem
    # The UN reads both notices, and neither conflict entry.
    un_reads = _readable(w.party("un"))
    assert not [d for d in un_reads.values() if d["type"].startswith("conflict_")]
    assert w.party("un").ok("GET", "/v1/conflicts")["conflicts"] == []
    # Each side's evidence bundle of its own notice holds its record of the conflict.
    bundle = w.party("russia").ok("GET", f"/v1/notices/{mine['id']}/evidence")
    told = [json.loads(e["entry"]) for e in bundle["entries"]]
    assert [d["type"] for d in told if d["type"].startswith("conflict_")] == ["conflict_opened"]
    assert hidden["id"] not in json.dumps(bundle)


def test_the_conflict_event_and_the_write_answer_name_their_entries(
    coarse: tuple[World, dict[str, Any], dict[str, Any]],
) -> None:
    w, hidden, mine = coarse
    co = w.party("coalition")
    [event] = [e for e in co.events() if e["type"] == "conflict_opened"]
    with Client(w.url, w.tokens["coalition"]) as c:
        hub_key = b64d(c.ledger_key()["public_key"])
        assert c.check_served(event["data"], hub_key) == []
        amended = c.amend(
            hidden["id"], {**notice(["un", "russia"], title="now shown"), "version": 1}
        )
        assert c.check_served(amended, hub_key) == []
        [updated] = amended["conflicts"]
        assert updated["other"]["notice"] is None and updated["revision"] == 2
        assert c.check_served(updated, hub_key) == []
    with Client(w.url, w.tokens["russia"]) as c:
        # Russia, now an addressee of the coalition's notice, was told it in full.
        [conflict] = c.conflicts()
        assert conflict["other"]["notice"] == hidden["id"]
        assert c.check_served(conflict, hub_key) == []
        acked = c.ack(hidden["id"], 2, comment="seen")
        assert acked["ledger_index"] is not None and c.check_served(acked, hub_key) == []
        sent = c.send_message(["coalition"], "about it", ref={"type": "notice", "id": hidden["id"]})
        assert c.check_served(sent, hub_key) == []
        cancelled = c.cancel(mine["id"])
        assert cancelled["state"] == "cancelled" and c.check_served(cancelled, hub_key) == []
    with Client(w.url, w.tokens["coalition"]) as c:
        [message] = c.messages("in")
        read = c.read_message(message["id"])
        assert isinstance(read["read_ledger_index"], int)
        assert read["delivered_ledger_index"] is not None
        entry = _readable(co)[read["read_ledger_index"]]
        assert entry["type"] == "message_receipt" and entry["receipt"] == "read"
        acks = {a["addressee"]: a for a in c.notice(hidden["id"])["acks"]}
        assert acks["russia"]["state"] == "acknowledged"
        assert isinstance(acks["russia"]["delivered_ledger_index"], int)
        assert c.check_served(acks["russia"], hub_key) == []


CONFLICT_EDITS = {
    "state": ("UPDATE conflicts SET state = 'resolved', resolution = 'cancelled'", "state"),
    "overlap": (
        "UPDATE conflicts SET detail = replace(detail, '\"min_distance_m\": ', "
        "'\"min_distance_m\": 9')",
        "min_distance_m",
    ),
    "deleted": ("DELETE FROM conflicts", "not served: it was hidden or deleted"),
}


@pytest.mark.parametrize("case", list(CONFLICT_EDITS))
def test_a_conflict_edited_behind_the_log_fails_both_sides_verify(
    coarse: tuple[World, dict[str, Any], dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    case: str,
) -> None:
    w, _, _ = coarse
    sql, field = CONFLICT_EDITS[case]
    for party in ("coalition", "russia"):
        assert _verify(w, party, tmp_path / f"{party}.json", capsys).startswith("exit 0")
    conflict_id = w.party("coalition").ok("GET", "/v1/conflicts")["conflicts"][0]["id"]
    assert _check(w, "coalition", conflict_id, tmp_path, capsys).startswith("exit 0")
    w.stop()
    con = sqlite3.connect(w.db)
    assert con.execute(sql).rowcount == 1
    con.commit()
    con.close()
    w.overrides["ledger_start_despite_mismatch"] = True
    w.start()
    for party in ("coalition", "russia"):
        out = _verify(w, party, tmp_path / f"{party}.json", capsys)
        assert out.startswith("exit 1"), out
        problems = [line for line in out.splitlines() if line.startswith("PROBLEM")]
        assert any("conflict c-" in p and field in p for p in problems), problems
    if case != "deleted":
        out = _check(w, "coalition", conflict_id, tmp_path, capsys)
        assert out.startswith("exit 1") and field in out, out
    # the third party, who was told of no conflict, has nothing to find
    assert _verify(w, "un", tmp_path / "un.json", capsys).startswith("exit 0")


def test_the_hub_refuses_to_start_on_an_edited_conflict(
    coarse: tuple[World, dict[str, Any], dict[str, Any]],
) -> None:
    w, _, _ = coarse
    w.stop()
    con = sqlite3.connect(w.db)
    con.execute("UPDATE conflicts SET state = 'resolved'")
    con.commit()
    con.close()
    hub = Hub(make_settings(w.db))
    with pytest.raises(LedgerMismatchError, match=r"conflict c-.*state"):
        hub.start(sweep=False)
    hub.store.close()


@pytest.mark.parametrize(
    ("edit", "found"),
    [
        (None, None),
        # the conflicts' half, checked in the second process
        ("UPDATE conflicts SET state = 'resolved'", r"conflict c-.*state"),
        # the other half, in the hub's own
        ("UPDATE notice_versions SET title = 'harmless'", r"notice .*title"),
        # an entry's type column changed so that neither half would read it as what it is
        (
            "UPDATE ledger_entries SET type = 'notice_expired' WHERE type = 'conflict_opened'",
            r"type column says 'notice_expired', the entry itself 'conflict_opened'",
        ),
    ],
)
def test_the_start_up_check_in_two_processes_finds_what_one_does(
    coarse: tuple[World, dict[str, Any], dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    edit: str | None,
    found: str | None,
) -> None:
    """At many conflicts their half of the check runs in a second process (forced here,
    from the first conflict); each edit is found there as in one process, and a clean
    database starts."""
    monkeypatch.setattr(crosscheck, "PARALLEL_MIN_CONFLICTS", 1)
    w, _, _ = coarse
    w.stop()
    if edit is not None:
        con = sqlite3.connect(w.db)
        con.execute("DROP TRIGGER IF EXISTS ledger_entries_no_update")
        assert con.execute(edit).rowcount > 0
        con.commit()
        con.close()
    hub = Hub(make_settings(w.db))
    if found is None:
        hub.start(sweep=False)
        assert hub.startup["crosschecked"]
        hub.close()
        return
    with pytest.raises(LedgerMismatchError, match=found) as refused:
        hub.start(sweep=False)
    assert len(refused.value.problems) >= 1
    hub.store.close()


def test_alerts_are_held_to_their_entries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w = tactical_world(tmp_path)
    try:
        co, ru = w.party("coalition"), w.party("russia")
        send(co, report("VIPER11", 35.0, 36.0, gs=200, trk=90))
        send(ru, report("FALCON1", 35.0, 36.5, gs=200, trk=270))
        raised = wait_event(co, "alert_raised")["data"]
        acked = co.ok("POST", f"/v1/alerts/{raised['id']}/ack", {"comment": "turning"})
        with Client(w.url, w.tokens["coalition"]) as c:
            hub_key = b64d(c.ledger_key()["public_key"])
            assert c.check_served(acked, hub_key) == []
            assert isinstance(acked["ack_ledger_indices"]["coalition"], int)
            [alert] = c.alerts()
            assert c.check_served(alert, hub_key) == []
            assert c.check_served({**alert, "kind": "intrusion"}, hub_key)
        state = tmp_path / "ru.json"
        assert _verify(w, "russia", state, capsys).startswith("exit 0")
        w.stop()
        con = sqlite3.connect(w.db)
        sql = (
            "UPDATE alert_acks SET acknowledged_at = '2026-01-01T00:00:00Z' "
            "WHERE party_id = 'russia'"
        )
        assert con.execute(sql).rowcount == 1
        con.commit()
        con.close()
        w.overrides["ledger_start_despite_mismatch"] = True
        w.start()
        out = _verify(w, "russia", state, capsys)
        assert out.startswith("exit 1") and "acknowledged by russia" in out and "never made" in out
    finally:
        w.stop()


def test_a_resolved_conflict_follows_the_other_notice_addressees_without_a_false_alarm(
    coarse: tuple[World, dict[str, Any], dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Resolved, a conflict is not re-logged when the other notice changes, but how much of
    that notice its view shows follows the notice's addressees: an honest hub passes."""
    w, _, mine = coarse
    ru = w.party("russia")
    away = {**notice(["un", "coalition"], lon=40.0, title="patrol"), "version": 1}
    ru.ok("PUT", f"/v1/notices/{mine['id']}", away)  # resolved; now addressed to coalition
    [told] = w.party("coalition").ok("GET", "/v1/conflicts")["conflicts"]
    assert told["state"] == "resolved" and told["other"]["notice"] == mine["id"]
    ru.ok("PUT", f"/v1/notices/{mine['id']}", {**away, "addressees": ["un"], "version": 2})
    [now] = w.party("coalition").ok("GET", "/v1/conflicts")["conflicts"]
    assert now["other"]["notice"] is None  # no longer addressed to it: hidden again
    for party in ("coalition", "russia"):
        out = _verify(w, party, tmp_path / f"{party}.json", capsys)
        assert out.startswith("exit 0"), out
    w.restart()  # the start-up check agrees too (no override)
    with Client(w.url, w.tokens["coalition"]) as c:
        [conflict] = c.conflicts()
        assert c.check_served(conflict, b64d(c.ledger_key()["public_key"])) == []
    # ... but what was decided still may not change
    w.stop()
    con = sqlite3.connect(w.db)
    con.execute("UPDATE conflicts SET resolution = 'cancelled'")
    con.commit()
    con.close()
    w.overrides["ledger_start_despite_mismatch"] = True
    w.start()
    out = _verify(w, "coalition", tmp_path / "coalition.json", capsys)
    assert out.startswith("exit 1") and "resolution = 'cancelled'" in out, out
