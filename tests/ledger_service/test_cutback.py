"""A log cut back and re-signed: `evidence verify --against` fails, and an export says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deconflict.cli import main
from deconflict.cli.evidence import compare_bundles
from deconflict.ledger.evidence import verify_bundle
from tests.ledger_service.test_tamper import _bundle, _db, _entries, _rewrite, _verify, scene
from tests.service.helpers import World

__all__ = ["scene"]


def _cut_back(w: World, keep: int) -> None:
    con = _db(w)
    entries = _entries(con)
    w.stop()
    _rewrite(con, entries[:keep])
    con.close()
    w.overrides["ledger_start_despite_mismatch"] = True  # the tables still hold the rest
    w.start()


def test_a_shorter_later_log_fails_against_the_earlier_bundle(
    scene: tuple[World, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w, notice_id = scene
    state = tmp_path / "heads.json"
    assert _verify(w, "russia", state).ok
    before = _bundle(w, "russia", notice_id)
    earlier = tmp_path / "earlier.json"
    earlier.write_text(json.dumps(before))
    size = before["tree_head"]["tree_size"]
    _cut_back(w, size - 3)  # the message and the other notice are gone; the tree re-signed
    after = _bundle(w, "russia", notice_id)
    assert verify_bundle(after).ok  # on its own it is a sound, signed bundle ...
    found = compare_bundles(before, after)  # ... but it is shorter than what russia holds
    assert any("later log is shorter" in p for p in found), found
    later = tmp_path / "later.json"
    later.write_text(json.dumps(after))
    assert main(["evidence", "verify", str(later), "--against", str(earlier)]) == 1
    out = capsys.readouterr().out
    assert "cut back" in out and "FAILED" in out
    # the export does not drop the larger saved heads: it keeps them and exits 1
    args = ["--server", w.url, "--token", w.tokens["russia"]]
    exported = tmp_path / "exported.json"
    code = main(["evidence", notice_id, "-o", str(exported), "--state", str(state), *args])
    assert code == 1
    assert "cut back or forked" in capsys.readouterr().err
    doc = json.loads(exported.read_text())
    assert [h["tree_size"] for h in doc["heads_beyond"]] == [size]
    assert main(["evidence", "verify", str(exported)]) == 1
    assert "the log was cut back" in capsys.readouterr().out


def test_the_honest_later_bundle_passes_against_the_earlier(
    scene: tuple[World, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w, notice_id = scene
    earlier = tmp_path / "earlier.json"
    earlier.write_text(json.dumps(_bundle(w, "russia", notice_id)))
    w.party("russia").ok("POST", "/v1/messages", {"to": ["un"], "body": "more"}, 201)
    args = ["--server", w.url, "--token", w.tokens["russia"]]
    later = tmp_path / "later.json"
    assert main(["evidence", notice_id, "-o", str(later), "--since", str(earlier), *args]) == 0
    assert main(["evidence", "verify", str(later), "--against", str(earlier)]) == 0
    # the same size with another root is a fork, not "no proof"
    same = json.loads(earlier.read_text())
    forged = json.loads(json.dumps(same))
    forged["tree_head"]["root_hash"] = same["tree_head"]["root_hash"][::-1]
    assert any("the earlier bundle does not verify" in p for p in compare_bundles(forged, same))
