"""The ledger against a probing party: what it may not read reveals nothing identifying."""

from __future__ import annotations

import json
from typing import Any

from deconflict.ledger import merkle
from deconflict.ledger.canonical import canonical_json
from deconflict.ledger.keys import b64d
from tests.service.helpers import Api, World, notice

HIDDEN = "HIDDEN-COALITION-PLAN"


def _entries(api: Api) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = api.ok("GET", "/v1/ledger/entries")["entries"]
    return found


def _scene(world: World) -> tuple[Api, Api, dict[str, Any], dict[str, Any]]:
    co, ru = world.party("coalition"), world.party("russia")
    hidden = co.ok("POST", "/v1/notices", notice(["un"], title=HIDDEN, remarks=HIDDEN), 201)
    mine = ru.ok("POST", "/v1/notices", notice(["un"], lon=36.2, title="patrol"), 201)
    assert len(mine["conflicts"]) == 1
    return co, ru, hidden, mine


def test_a_conflict_entry_does_not_make_the_other_notice_readable(world: World) -> None:
    _co, ru, hidden, mine = _scene(world)
    ru.ok("DELETE", f"/v1/notices/{mine['id']}")  # resolves the conflict: more entries
    entries = _entries(ru)
    readable = [json.loads(e["entry"]) for e in entries if "entry" in e]
    text = json.dumps(readable)
    assert hidden["id"] not in text
    assert HIDDEN not in text
    # Russia reads its own side's record of the conflict (issue 12), which is what it was
    # told: its notice, and the coalition's only as shown (no id, no title, coarse)
    told = [d for d in readable if d["type"].startswith("conflict_")]
    assert [d["type"] for d in told] == ["conflict_opened", "conflict_resolved"]
    assert all(d["readers"] == ["russia"] and d["view"]["other"]["notice"] is None for d in told)
    for e in entries:
        if "entry" not in e:
            assert set(e) == {"index", "leaf_hash"}  # nothing else: no type, id, party
    # what Russia may read of its own notice, in full, with its salt
    own = [d for d in readable if d.get("notice_id") == mine["id"]]
    assert own and all(len(d["salt"]) == 32 for d in own)


def test_entries_are_salted_so_leaf_hashes_cannot_be_guessed(world: World) -> None:
    _scene(world)
    served = _entries(world.admin)
    salts = set()
    for e in served:
        doc = json.loads(e["entry"])
        leaf = b64d(e["leaf_hash"])
        assert merkle.leaf_hash(e["entry"].encode()) == leaf
        # everything but the salt, however well guessed, does not give the leaf
        unsalted = {k: v for k, v in doc.items() if k != "salt"}
        assert merkle.leaf_hash(canonical_json(unsalted)) != leaf
        salts.add(doc["salt"])
        assert len(bytes.fromhex(doc["salt"])) == 16  # 128 random bits
    assert len(salts) == len(served)


def test_evidence_bundles_name_nothing_of_the_hidden_notice(world: World) -> None:
    co, ru, hidden, mine = _scene(world)
    bundle = ru.ok("GET", f"/v1/notices/{mine['id']}/evidence")
    assert hidden["id"] not in json.dumps(bundle)
    assert HIDDEN not in json.dumps(bundle)
    assert ru.get(f"/v1/notices/{hidden['id']}/evidence").status_code == 404
    # nor does the coalition's bundle of its own notice name Russia's
    assert mine["id"] not in json.dumps(co.ok("GET", f"/v1/notices/{hidden['id']}/evidence"))


def test_issuers_addressed_to_each_other_read_their_conflict_entries(world: World) -> None:
    co, ru = world.party("coalition"), world.party("russia")
    a = co.ok("POST", "/v1/notices", notice(["russia"]), 201)
    b = ru.ok("POST", "/v1/notices", notice(["coalition"], lon=36.2), 201)
    for api in (co, ru):
        opened = [
            json.loads(e["entry"])
            for e in _entries(api)
            if "entry" in e and json.loads(e["entry"])["type"] == "conflict_opened"
        ]
        assert len(opened) == 1  # its own side's entry (the other side's is not readable)
        mine, theirs = (a, b) if api is co else (b, a)
        assert opened[0]["notices"] == [[mine["id"], 1], [theirs["id"], 1]]
        assert opened[0]["readers"] == [api.name]
