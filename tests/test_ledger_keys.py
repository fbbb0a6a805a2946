"""Canonical JSON, detached Ed25519 signatures and signed tree heads."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from deconflict.ledger import (
    SignedTreeHead,
    b64d,
    b64e,
    canonical_json,
    generate_key,
    key_id,
    load_or_create_key,
    public_raw,
    sign_statement,
    verify_statement,
)


def test_canonical_json_is_rfc8785() -> None:
    assert canonical_json({"b": 1, "a": [1.5, "x", None], "é": True}) == (
        b'{"a":[1.5,"x",null],"b":1,"\xc3\xa9":true}'
    )
    assert canonical_json({"n": 1e21, "m": 0.1}) == b'{"m":0.1,"n":1e+21}'
    with pytest.raises(ValueError, match="no JSON representation"):
        canonical_json({"x": [float("nan")]})


def test_signature_round_trip_and_rejections() -> None:
    key, other = generate_key(), generate_key()
    statement = {"type": "ack", "notice": "n-1", "version": 2}
    sig = sign_statement(key, statement)
    pub = public_raw(key)
    assert verify_statement(pub, statement, sig)
    # Same content, different key order: canonical bytes are the same.
    assert verify_statement(pub, {"version": 2, "notice": "n-1", "type": "ack"}, sig)
    assert not verify_statement(pub, {**statement, "version": 3}, sig)
    assert not verify_statement(public_raw(other), statement, sig)
    raw = bytearray(b64d(sig))
    raw[5] ^= 1
    assert not verify_statement(pub, statement, b64e(bytes(raw)))
    for junk in ("", "!!!", "abc", b64e(b"short")):
        assert not verify_statement(pub, statement, junk)
    assert not verify_statement(b"\x00" * 5, statement, sig)


def test_tree_head_sign_verify_and_parse() -> None:
    key = generate_key()
    head = SignedTreeHead.sign(key, 42, b"\x07" * 32, "2026-11-24T12:00:00Z")
    assert head.key_id == key_id(public_raw(key))
    assert head.verify(public_raw(key))
    parsed = SignedTreeHead.from_json(head.to_json())
    assert parsed == head
    forged = SignedTreeHead(43, head.root_hash, head.timestamp, head.key_id, head.signature)
    assert not forged.verify(public_raw(key))
    assert not head.verify(public_raw(generate_key()))
    for bad, field in (
        ({**head.to_json(), "tree_size": -1}, "tree_size"),
        ({**head.to_json(), "root_hash": b64e(b"x" * 31)}, "root_hash"),
        ({**head.to_json(), "signature": 5}, "signature"),
    ):
        with pytest.raises(ValueError, match=field):
            SignedTreeHead.from_json(bad)


def test_key_file_is_private_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "hub.pem"
    first = load_or_create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert public_raw(load_or_create_key(path)) == public_raw(first)
