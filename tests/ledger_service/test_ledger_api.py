"""The ledger through a real hub: entries with their changes, heads, proofs, need-to-know."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import time
from pathlib import Path

import psycopg
import pytest

from deconflict.client import Client
from deconflict.ledger import merkle
from deconflict.ledger.canonical import canonical_json
from deconflict.ledger.keys import SignedTreeHead, b64d
from tests.service.helpers import World, make_settings, notice


def _entries(api: object, **params: int) -> list[dict[str, object]]:
    r = api.get("/v1/ledger/entries", params=params)  # type: ignore[attr-defined]
    assert r.status_code == 200, r.text
    out: list[dict[str, object]] = r.json()["entries"]
    return out


def test_every_change_is_logged_and_the_head_is_signed(world: World) -> None:
    coalition, russia = world.party("coalition"), world.party("russia")
    made = coalition.ok("POST", "/v1/notices", notice(["russia"]), 201)
    russia.ok("POST", f"/v1/notices/{made['id']}/ack", {"version": 1, "comment": "seen"})
    russia.ok("POST", "/v1/messages", {"to": ["coalition"], "body": "hello"}, 201)

    admin = world.admin
    entries = _entries(admin)
    types = [json.loads(str(e["entry"]))["type"] for e in entries]
    assert types[:3] == ["party_registered"] * 3
    assert "notice_version" in types and "ack" in types and "message" in types
    assert types.index("delivery") < types.index("ack")
    for e in entries:
        data = str(e["entry"]).encode()
        assert canonical_json(json.loads(data)) == data
        assert merkle.leaf_hash(data) == b64d(str(e["leaf_hash"]))

    key = b64d(admin.ok("GET", "/v1/ledger/key")["public_key"])
    head = SignedTreeHead.from_json(admin.ok("GET", "/v1/ledger/head"))
    assert head.verify(key)
    assert head.tree_size == len(entries)
    leaves = [b64d(str(e["leaf_hash"])) for e in entries]
    assert merkle.root(leaves) == head.root_hash

    # proofs from the API verify against the signed head
    for index in (0, len(leaves) // 2, len(leaves) - 1):
        proof = admin.ok(
            "GET", f"/v1/ledger/proof/inclusion?index={index}&tree_size={head.tree_size}"
        )
        path = [b64d(p) for p in proof["proof"]]
        assert merkle.verify_inclusion(leaves[index], index, head.tree_size, path, head.root_hash)
    for first in (1, 3, head.tree_size - 1):
        proof = admin.ok(
            "GET", f"/v1/ledger/proof/consistency?first={first}&second={head.tree_size}"
        )
        old_root = merkle.root(leaves[:first])
        path = [b64d(p) for p in proof["proof"]]
        assert merkle.verify_consistency(first, head.tree_size, old_root, head.root_hash, path)

    # the hub key lives beside the database, readable by its owner only
    key_file = make_settings(world.db, **world.overrides).hub_key_path
    assert key_file.exists()
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600


def test_failed_change_leaves_no_entry_and_appends_survive_restart(world: World) -> None:
    coalition = world.party("coalition")
    before = world.admin.ok("GET", "/v1/ledger/head")["tree_size"]
    r = coalition.post("/v1/notices", {**notice(["russia"]), "kind": "nonsense"})
    assert r.status_code == 422
    made = coalition.ok("POST", "/v1/notices", notice(["nobody-at-all"]), 422)
    assert made["status"] == 422
    assert world.admin.ok("GET", "/v1/ledger/head")["tree_size"] == before
    coalition.ok("POST", "/v1/notices", notice(["russia"]), 201)
    head1 = world.admin.ok("GET", "/v1/ledger/head")
    assert head1["tree_size"] == before + 1
    world.restart()
    head2 = world.admin.ok("GET", "/v1/ledger/head")
    assert head2["root_hash"] == head1["root_hash"]
    world.party("coalition").ok("POST", "/v1/notices", notice(["un"], lon=40.0), 201)
    head3 = world.admin.ok("GET", "/v1/ledger/head")
    leaves = [b64d(str(e["leaf_hash"])) for e in _entries(world.admin)]
    assert merkle.root(leaves) == b64d(head3["root_hash"])


def test_a_party_sees_only_entries_that_concern_it(world: World) -> None:
    coalition, russia, un = world.party("coalition"), world.party("russia"), world.party("un")
    secret = coalition.ok("POST", "/v1/notices", notice(["russia"], title="secret"), 201)
    coalition.ok("POST", "/v1/notices", notice(["*"], lon=50.0, title="public"), 201)
    r = un.get("/v1/ledger/entries")
    assert r.status_code == 200
    entries = r.json()["entries"]
    full = [json.loads(e["entry"]) for e in entries if "entry" in e]
    hidden = [e for e in entries if "entry" not in e]
    assert hidden and all(set(e) == {"index", "leaf_hash"} for e in hidden)
    assert "secret" not in r.text and secret["id"] not in r.text
    assert any(e.get("content", {}).get("title") == "public" for e in full)
    assert all(e["type"] != "notice_version" or e["issuer"] != "un" for e in full)
    seen_by_russia = russia.ok("GET", "/v1/ledger/entries")["entries"]
    assert any(secret["id"] in e.get("entry", "") for e in seen_by_russia)
    # bad parameters are problems, never 5xx
    for query in (
        "start=-1",
        "start=x",
        "start=5&end=2",
        "start=0&end=5000",
    ):
        r = un.get(f"/v1/ledger/entries?{query}")
        assert r.status_code == 422, (query, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    for path in (
        "/v1/ledger/proof/inclusion?index=999&tree_size=3",
        "/v1/ledger/proof/inclusion?index=2&tree_size=2",
        "/v1/ledger/proof/inclusion",
        "/v1/ledger/proof/consistency?first=0&second=3",
        "/v1/ledger/proof/consistency?first=5&second=999999",
    ):
        r = un.get(path)
        assert r.status_code == 422, (path, r.text)
    # another party's evidence and key: 404
    assert un.get(f"/v1/notices/{secret['id']}/evidence").status_code == 404
    assert un.put("/v1/parties/russia/key", {"public_key": "x"}).status_code == 404


def test_ledger_rows_refuse_update_and_delete(world: World) -> None:
    world.party("coalition").ok("POST", "/v1/notices", notice(["russia"]), 201)
    dsn = world.overrides.get("db_url")
    if dsn:
        for sql in (
            "UPDATE ledger_entries SET entry = '\\x00' WHERE idx = 0",
            "DELETE FROM ledger_entries WHERE idx = 0",
            "DELETE FROM ledger_nodes",
            "UPDATE ledger_refs SET ref = 'x'",
            "TRUNCATE ledger_heads",
        ):
            with psycopg.connect(dsn) as pg, pytest.raises(psycopg.Error, match="append-only"):
                pg.execute(sql)
        return
    con = sqlite3.connect(world.db)
    try:
        for sql in (
            "UPDATE ledger_entries SET entry = x'00' WHERE idx = 0",
            "DELETE FROM ledger_entries WHERE idx = 0",
            "DELETE FROM ledger_nodes",
            "UPDATE ledger_refs SET ref = 'x'",
        ):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                con.execute(sql)
    finally:
        con.close()


def test_heads_are_kept_periodically(tmp_path: Path) -> None:
    w = World(tmp_path, ledger_head_interval_s=0.2)
    try:
        w.party("coalition").ok("POST", "/v1/notices", notice(["russia"]), 201)
        deadline = time.monotonic() + 10
        heads: list[dict[str, object]] = []
        while time.monotonic() < deadline and not heads:
            heads = w.admin.ok("GET", "/v1/ledger/heads")["heads"]
            time.sleep(0.1)
        assert heads
        with Client(w.url, w.tokens["un"]) as c:
            key = b64d(c.ledger_key()["public_key"])
        assert SignedTreeHead.from_json(heads[0]).verify(key)
    finally:
        w.stop()
