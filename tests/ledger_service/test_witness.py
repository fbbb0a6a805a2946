"""Witnessing against a dishonest operator: a split view, a shown fork, a replaced or
rewritten log found by fingerprints, and the honest hub passing every check.

Real hubs on real sockets, real SQLite files; the operator stops a hub, copies or edits its
file, and starts it again. Every check goes through the command line, as a liaison runs it.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deconflict.api.server import ServerThread
from deconflict.cli import main
from deconflict.client import Client
from deconflict.config import Settings
from deconflict.ledger.fingerprint import key_fingerprint
from deconflict.ledger.keys import b64e, generate_key, public_raw, save_private_key
from deconflict.ledger.note import SignedNote, cosign, cosigner_name
from tests.ledger_service.test_tamper import _db, _entries, _rewrite
from tests.service.helpers import World, make_settings


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """coalition and russia with registered keys (files beside), and one message."""
    w = World(tmp_path)
    try:
        for party in ("coalition", "russia"):
            key = generate_key()
            save_private_key(key, tmp_path / f"{party}.pem")
            with Client(w.url, w.tokens[party], key=key) as c:
                c.set_key()
        w.party("coalition").ok("POST", "/v1/messages", {"to": ["russia"], "body": "hi"}, 201)
        yield w
    finally:
        w.stop()


class Liaison:
    """One party's `deconflict ledger verify`, with its own state file and key."""

    def __init__(self, w: World, party: str, tmp: Path, capsys: pytest.CaptureFixture[str]):
        self.w, self.party, self.capsys = w, party, capsys
        self.state = tmp / f"{party}-heads.json"
        self.key = tmp / f"{party}.pem"

    def verify(self, *extra: str, url: str | None = None, cosign: bool = True) -> tuple[int, str]:
        args = ["ledger", "verify", "--server", url or self.w.url]
        args += ["--token", self.w.tokens[self.party], "--state", str(self.state)]
        if cosign and self.key.exists():
            args += ["--key", str(self.key)]
        self.capsys.readouterr()
        code = main([*args, *extra])
        return code, self.capsys.readouterr().out


def _say(w: World, party: str, body: str, url: str | None = None) -> None:
    token = w.tokens[party]
    with Client(url or w.url, token) as c:
        c.send_message(["coalition" if party != "coalition" else "russia"], body)


def test_honest_hub_cosignatures_and_required_cosigners_pass(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    coalition = Liaison(world, "coalition", tmp_path, capsys)
    russia = Liaison(world, "russia", tmp_path, capsys)
    code, out = coalition.verify()
    assert code == 0, out
    assert "cosigned the checkpoint" in out
    assert "no other party has cosigned" in out  # the first verifier is told, in words
    code, out = russia.verify()
    assert code == 0, out
    assert "cosigned, consistently with what you verified, by coalition" in out
    assert "no other party has cosigned" not in out
    _say(world, "russia", "more")
    code, out = coalition.verify("--require-cosigners", "russia", "--max-lag", "60")
    assert code == 0, out
    # the checkpoint coalition verified, read to un over the phone, checks out for un
    heard = next(w for w in out.split() if "/" in w and w.split("/")[0].isdigit())
    code, out = Liaison(world, "un", tmp_path, capsys).verify("--checkpoint", heard)
    assert code == 0, out
    assert "matches the log you verified" in out


def test_split_view_starves_the_other_side_and_a_shown_fork_is_kept(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    coalition = Liaison(world, "coalition", tmp_path, capsys)
    russia = Liaison(world, "russia", tmp_path, capsys)
    assert coalition.verify()[0] == 0
    assert russia.verify()[0] == 0
    # the operator forks: a second hub on a copy of the file and key
    world.stop()
    fork = tmp_path / "fork"
    fork.mkdir()
    shutil.copy(world.db, fork / "hub.db")
    shutil.copy(
        Settings(db_path=world.db).hub_key_path, Settings(db_path=fork / "hub.db").hub_key_path
    )
    world.start()
    other = ServerThread(make_settings(fork / "hub.db")).start()
    try:
        _say(world, "coalition", "only alpha sees this")
        _say(world, "russia", "only bravo sees this", url=other.url)
        assert coalition.verify()[0] == 0  # each side alone sees nothing wrong ...
        code, out = russia.verify(url=other.url)
        assert code == 0, out
        _say(world, "russia", "and more", url=other.url)
        # ... until russia asks for coalition's recent cosignature: the hub cannot show one
        code, out = russia.verify(
            "--require-cosigners", "coalition", "--max-lag", "60", url=other.url
        )
        assert code == 1, out
        assert "coalition has not cosigned a checkpoint at or beyond your previous head" in out
        # the operator shows russia's cosignature (made on the fork) to coalition: a fork
        row = (
            sqlite3.connect(fork / "hub.db")
            .execute(
                "SELECT * FROM ledger_cosignatures WHERE party_id = 'russia' "
                "ORDER BY tree_size DESC LIMIT 1"
            )
            .fetchone()
        )
        world.stop()
        con = sqlite3.connect(world.db)
        con.execute("INSERT INTO ledger_cosignatures VALUES (?,?,?,?,?,?,?)", row)
        con.commit()
        con.close()
        world.start()
        code, out = coalition.verify()
        assert code == 1, out
        assert "fork: russia cosigned a checkpoint" in out
        forks = json.loads(coalition.state.read_text())["forks"]
        assert forks[-1]["cosigned_by"] == "russia"
        assert forks[-1]["verified"] != forks[-1]["other"]  # both signed heads kept
    finally:
        other.stop()


def test_a_replaced_hub_fails_the_pinned_fingerprint(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    coalition = Liaison(world, "coalition", tmp_path, capsys)
    code, out = coalition.verify()
    fingerprint = out.split("fingerprint ")[1].split()[0]  # what the liaison reads out
    # un, a newcomer told the fingerprint by phone, pins it on its first run
    un = Liaison(world, "un", tmp_path, capsys)
    code, out = un.verify("--hub-key", fingerprint.lower().replace("-", " "))
    assert code == 0, out
    assert "(as you were told)" in out
    # the operator replaces the whole hub (new key, rewritten log); a newcomer with the
    # fingerprint it was told is not fooled, nothing is pinned
    world.stop()
    Settings(db_path=world.db).hub_key_path.unlink()
    world.start()
    newcomer = Liaison(world, "russia", tmp_path, capsys)
    code, out = newcomer.verify("--hub-key", fingerprint, cosign=False)
    assert code == 1
    assert f"not the {fingerprint} you were given" in out
    assert not newcomer.state.exists() or "hub_key" not in json.loads(newcomer.state.read_text())
    code, out = newcomer.verify("--hub-key", "ABCD-EFGH")
    assert code == 1


def test_a_rewritten_log_is_caught_by_a_newcomer(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    coalition = Liaison(world, "coalition", tmp_path, capsys)
    code, out = coalition.verify()
    assert code == 0
    heard = next(w for w in out.split() if "/" in w and w.split("/")[0].isdigit())
    # the careful operator rewrites the log (same key, every node recomputed)
    world.stop()
    con = _db(world)
    entries = _entries(con)
    entries[-1] = entries[-1].replace(b'"hi"', b'"ho"')
    _rewrite(con, entries)
    con.execute("UPDATE messages SET body = 'ho'")  # and the table, so the two agree
    con.close()
    world.start()
    un = Liaison(world, "un", tmp_path, capsys)
    # coalition's cosignature, still shown, is on a head the rewritten log contradicts
    code, out = un.verify(cosign=False)
    assert code == 1 and "fork: coalition cosigned" in out, out
    # the operator hides the cosignatures too: un is warned, and the heard checkpoint fails
    world.stop()
    con = sqlite3.connect(world.db)
    con.execute("DELETE FROM ledger_cosignatures")
    con.commit()
    con.close()
    world.start()
    newcomer = Liaison(world, "russia", tmp_path, capsys)
    code, out = newcomer.verify(cosign=False)
    assert code == 0 and "no other party has cosigned" in out, out
    newcomer.state.unlink()
    code, out = newcomer.verify("--checkpoint", heard, cosign=False)
    assert code == 1 and "one of you is shown a fork" in out, out
    newcomer.state.unlink()
    code, out = newcomer.verify("--require-cosigners", "coalition", cosign=False)
    assert code == 1 and "coalition has not cosigned" in out


def test_cosignatures_refused_with_reasons(world: World, tmp_path: Path) -> None:
    admin = world.admin
    r = admin.post("/v1/ledger/cosignatures", {"checkpoint": "x"})
    assert r.status_code == 403
    un = world.party("un")
    doc = un.ok("GET", "/v1/ledger/checkpoint")
    r = un.post("/v1/ledger/cosignatures", {"checkpoint": doc["checkpoint"]})
    assert r.status_code == 409 and "register your key" in r.json()["detail"]
    russia = world.party("russia")
    r = russia.post("/v1/ledger/cosignatures", {"checkpoint": doc["checkpoint"]})
    assert r.status_code == 422 and "no valid cosignature by deconflict.party/russia" in r.text
    r = russia.post("/v1/ledger/cosignatures", {"checkpoint": doc["checkpoint"][:-3]})
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "body.checkpoint"
    r = russia.post("/v1/ledger/cosignatures", {"note": 1})
    assert r.status_code == 422
    size = doc["tree_size"]
    r = russia.get("/v1/ledger/checkpoint", params={"tree_size": size + 5})
    assert r.status_code == 422 and "tree_size" in r.text


def test_a_key_the_operator_set_in_a_partys_name_does_not_make_its_cosignature(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The operator holds every token: it can register a key in russia's name and cosign
    with it what it shows coalition. Only a key coalition pinned for russia counts."""
    coalition = Liaison(world, "coalition", tmp_path, capsys)
    russia = Liaison(world, "russia", tmp_path, capsys)
    assert coalition.verify()[0] == 0
    assert russia.verify()[0] == 0
    code, out = coalition.verify("--require-cosigners", "russia")
    assert code == 0, out
    assert "pinned russia's key, fingerprint" in out  # first seen, and said so
    first = json.loads(coalition.state.read_text())["cosigner_keys"]["russia"]
    assert len(first) == 1

    # russia rotates its key, honestly: coalition hears the new fingerprint by phone
    new_key = generate_key()
    with Client(world.url, world.tokens["russia"], key=new_key) as c:
        c.set_key()
    save_private_key(new_key, tmp_path / "russia-new.pem")
    russia.key = tmp_path / "russia-new.pem"
    assert russia.verify()[0] == 0
    code, out = coalition.verify("--require-cosigners", "russia")
    assert code == 1, out
    assert f"not one you pinned for russia ({first[0]})" in out
    heard = key_fingerprint(public_raw(new_key))
    code, out = coalition.verify(
        "--require-cosigners", "russia", "--cosigner-key", f"russia={heard}"
    )
    assert code == 0, out
    assert heard in json.loads(coalition.state.read_text())["cosigner_keys"]["russia"]

    # the operator registers its own key in russia's name and cosigns with it
    forger = generate_key()
    world.admin.ok("PUT", "/v1/parties/russia/key", {"public_key": b64e(public_raw(forger))})
    _say(world, "coalition", "after the forged key")
    doc = world.party("coalition").ok("GET", "/v1/ledger/checkpoint")
    note = SignedNote.parse(doc["checkpoint"])
    line = cosign(forger, cosigner_name("russia"), note.text, int(time.time()))
    forged = note.with_signatures([line]).render()
    world.party("russia").ok("POST", "/v1/ledger/cosignatures", {"checkpoint": forged})
    code, out = coalition.verify("--require-cosigners", "russia")
    assert code == 1, out
    assert "russia's cosignature verifies only with the key" in out
    assert key_fingerprint(public_raw(forger)) in out and "proves nothing" in out
    # a newcomer who heard russia's real fingerprint is not fooled either
    un = Liaison(world, "un", tmp_path, capsys)
    code, out = un.verify("--require-cosigners", "russia", "--cosigner-key", f"russia={heard}")
    assert code == 1 and "proves nothing" in out, out
    # and russia, verifying with its own key file, is told a key was set in its name
    code, out = russia.verify()
    assert code == 1, out
    assert "registered a key in your name" in out
    code, out = coalition.verify("--cosigner-key", "russia=not-a-fingerprint")
    assert code == 2
