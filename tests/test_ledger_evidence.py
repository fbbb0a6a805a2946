"""Evidence bundles verify offline, and every kind of tampering is named."""

from __future__ import annotations

import json
from typing import Any

import pytest

from deconflict.ledger import (
    SignedTreeHead,
    b64e,
    canonical_json,
    generate_key,
    key_id,
    merkle,
    public_raw,
    sign_statement,
)
from deconflict.ledger.evidence import build_bundle, verify_bundle
from deconflict.ledger.statements import ack_statement, notify_statement

HUB = generate_key()
RU_OLD, RU_NEW, CO = generate_key(), generate_key(), generate_key()
NOTICE = {"kind": "fires", "title": "Fires area", "addressees": ["coalition"], "volumes": []}


def key_entry(party: str, key: Any, at: str) -> dict[str, Any]:
    raw = public_raw(key)
    return {
        "type": "party_key_set",
        "at": at,
        "party": party,
        "public_key": b64e(raw),
        "key_id": key_id(raw),
    }


def scenario(ack_key: Any = None) -> list[dict[str, Any]]:
    notify = notify_statement("russia", "nonce-1", NOTICE)
    ack = ack_statement("coalition", "n-1", 1, "received")
    return [
        {"type": "party_registered", "at": "2015-09-30T05:00:00Z", "party": "russia", "name": "RU"},
        key_entry("russia", RU_OLD, "2015-09-30T05:00:01Z"),
        key_entry("coalition", CO, "2015-09-30T05:00:02Z"),
        key_entry("russia", RU_NEW, "2015-09-30T05:00:03Z"),
        {
            "type": "notice_version",
            "at": "2015-09-30T05:01:00Z",
            "notice_id": "n-1",
            "version": 1,
            "issuer": "russia",
            "state": "active",
            "content": NOTICE,
            "statement": notify,
            "signature": sign_statement(RU_NEW, notify),
            "key_id": key_id(public_raw(RU_NEW)),
        },
        {
            "type": "delivery",
            "at": "2015-09-30T05:01:02Z",
            "notice_id": "n-1",
            "version": 1,
            "party": "coalition",
            "via": "stream",
        },
        {
            "type": "ack",
            "at": "2015-09-30T05:03:00Z",
            "notice_id": "n-1",
            "version": 1,
            "party": "coalition",
            "comment": "received",
            "statement": ack,
            "signature": sign_statement(ack_key or CO, ack),
            "key_id": key_id(public_raw(ack_key or CO)),
        },
    ]


def bundle_of(entries: list[dict[str, Any]], keep: list[int] | None = None) -> dict[str, Any]:
    data = [canonical_json(e) for e in entries]
    leaves = [merkle.leaf_hash(d) for d in data]
    head = SignedTreeHead.sign(HUB, len(leaves), merkle.root(leaves), "2015-09-30T06:00:00Z")
    chosen = keep if keep is not None else list(range(len(data)))
    triples = [(i, data[i], merkle.inclusion_proof(leaves, i)) for i in chosen]
    return build_bundle("n-1", triples, head, public_raw(HUB))


def test_sound_bundle_tells_the_story() -> None:
    report = verify_bundle(json.loads(json.dumps(bundle_of(scenario()))))
    assert report.ok, report.problems
    text = "\n".join(report.account)
    assert (
        "russia notified 'Fires area': notice n-1 version 1 to coalition (signed with key" in text
    )
    assert "version 1 was delivered to coalition (stream)" in text
    assert 'coalition acknowledged version 1 with comment "received"' in text


def test_subset_of_entries_still_verifies() -> None:
    report = verify_bundle(bundle_of(scenario(), keep=[2, 3, 4, 6]))
    assert report.ok, report.problems


def first_problem(bundle: dict[str, Any]) -> str:
    report = verify_bundle(bundle)
    assert not report.ok
    return report.problems[0]


def test_altered_entry_detected() -> None:
    bundle = bundle_of(scenario())
    bundle["entries"][4]["entry"] = bundle["entries"][4]["entry"].replace(
        "Fires area", "Fires arex"
    )
    assert "entry 4: not in the signed log" in first_problem(bundle)


def test_reordered_entries_detected() -> None:
    bundle = bundle_of(scenario())
    a, b = bundle["entries"][5], bundle["entries"][6]
    a["index"], b["index"] = b["index"], a["index"]
    assert "not in the signed log" in first_problem(bundle)


def test_forged_head_detected() -> None:
    bundle = bundle_of(scenario())
    bundle["tree_head"]["tree_size"] += 1
    assert "signature does not verify" in first_problem(bundle)
    other = bundle_of(scenario())
    other["hub_public_key"] = b64e(public_raw(generate_key()))
    assert "signature does not verify" in first_problem(other)


def test_rotated_out_key_detected() -> None:
    entries = scenario()
    notify = entries[4]["statement"]
    entries[4]["signature"] = sign_statement(RU_OLD, notify)
    entries[4]["key_id"] = key_id(public_raw(RU_OLD))
    assert "rotated out at entry 3" in first_problem(bundle_of(entries))


def test_forged_and_replayed_signatures_detected() -> None:
    forged = scenario(ack_key=generate_key())
    assert "unknown key" in first_problem(bundle_of(forged))
    entries = scenario()
    # The ack's signature replayed onto a different version.
    entries[6]["statement"] = {**entries[6]["statement"], "version": 2}
    assert "does not verify" in first_problem(bundle_of(entries))


def test_every_single_byte_change_in_entries_is_rejected() -> None:
    bundle = bundle_of(scenario())
    text = bundle["entries"][6]["entry"]
    for pos in range(0, len(text), 7):
        changed = json.loads(json.dumps(bundle))
        ch = text[pos]
        changed["entries"][6]["entry"] = text[:pos] + ("x" if ch != "x" else "y") + text[pos + 1 :]
        assert not verify_bundle(changed).ok, pos


@pytest.mark.parametrize(
    "junk", [None, {}, {"format": "other"}, {"format": "deconflict-evidence/1"}]
)
def test_malformed_bundles_are_refused_not_crashed(junk: Any) -> None:
    assert not verify_bundle(junk).ok
