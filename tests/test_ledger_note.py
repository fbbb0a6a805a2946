"""Signed notes, checkpoints, cosignatures and fingerprints: what must be refused is."""

from __future__ import annotations

import hashlib

import pytest

from deconflict.ledger.fingerprint import (
    checkpoint_fingerprint,
    key_fingerprint,
    normalise,
    parse_checkpoint_fingerprint,
)
from deconflict.ledger.keys import generate_key, public_raw
from deconflict.ledger.note import (
    Checkpoint,
    SignedNote,
    cosign,
    hub_origin,
    sign_checkpoint,
    verify_cosignature,
    verify_hub_signature,
)


def test_checkpoint_round_trip_and_signatures() -> None:
    key = generate_key()
    pub = public_raw(key)
    cp = Checkpoint(hub_origin(pub), 7, hashlib.sha256(b"x").digest())
    note = sign_checkpoint(key, cp)
    parsed = SignedNote.parse(note.render())
    assert verify_hub_signature(parsed, pub) == cp
    assert verify_hub_signature(parsed, public_raw(generate_key())) is None
    witness = generate_key()
    line = cosign(witness, "deconflict.party/un", note.text, 1_700_000_000)
    again = SignedNote.parse(note.with_signatures([line]).render())
    [mine] = again.find(line.name, line.key_id)
    assert verify_cosignature(mine, again.text, public_raw(witness)) == 1_700_000_000
    assert verify_cosignature(mine, again.text.replace("7", "8"), public_raw(witness)) is None
    assert verify_cosignature(mine, again.text, pub) is None


@pytest.mark.parametrize(
    "text",
    [
        "origin\n1\nAAAA\n",  # no signatures
        "origin\n01\n" + "A" * 43 + "=\n\n\u2014 origin AAAAAAA=\n",  # leading zero
        "origin\n1\nnot base64\n\n\u2014 origin AAAAAAA=\n",
        "origin\n1\n" + "A" * 43 + "=\n\n- origin AAAAAAA=\n",  # not an em dash
        "origin\n1\n" + "A" * 43 + "=\n\n\u2014 a+b AAAAAAA=\n",  # '+' in a key name
        "origin\x01\n1\n" + "A" * 43 + "=\n\n\u2014 origin AAAAAAA=\n",  # control character
    ],
)
def test_malformed_notes_are_refused(text: str) -> None:
    def read() -> None:
        Checkpoint.parse(SignedNote.parse(text).text)

    with pytest.raises(ValueError, match=r"signed note|checkpoint"):
        read()


def test_fingerprints_read_over_a_phone() -> None:
    pub = public_raw(generate_key())
    fp = key_fingerprint(pub)
    assert len(fp) == 24 and fp.count("-") == 4
    assert normalise(fp.lower().replace("-", " ")) == fp
    misheard = fp.replace("O", "0").replace("I", "1").replace("B", "8")
    assert normalise(misheard) == fp
    with pytest.raises(ValueError, match="20 letters"):
        normalise(fp[:-1])
    cp = Checkpoint(hub_origin(pub), 42, hashlib.sha256(b"r").digest())
    text = checkpoint_fingerprint(cp)
    assert text.startswith("42/")
    assert parse_checkpoint_fingerprint(text) == (42, text[3:])
    other = checkpoint_fingerprint(Checkpoint(cp.origin, 42, hashlib.sha256(b"s").digest()))
    assert other != text
    with pytest.raises(ValueError, match="SIZE/"):
        parse_checkpoint_fingerprint(text[3:])
