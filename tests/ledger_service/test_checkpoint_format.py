"""The hub's checkpoints and cosignatures read by a second implementation of the C2SP specs.

Everything below the hub is written here from c2sp.org/signed-note, c2sp.org/tlog-checkpoint
and c2sp.org/tlog-cosignature alone: it imports nothing from deconflict (the hub runs behind
a real socket and is spoken to over HTTP), so an error shared by the hub's reader and writer
cannot hide here. This is also what independent witness software does: it cosigns the hub's
checkpoint with its own key and the hub takes it.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import time
from pathlib import Path

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.service.helpers import World

EM_DASH = "\u2014"


def _spec_key_id(name: str, sig_type: int, public: bytes) -> bytes:
    # signed-note: SHA-256(key name || 0x0A || signature type || public key)[:4]
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public).digest()[:4]


def _spec_split(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    # signed-note: text ending in newline, a blank line, then "— name base64" lines; the
    # text is separated from the signatures by the *last* empty line
    assert note.endswith("\n")
    assert all(ord(c) >= 0x20 or c == "\n" for c in note)
    head, _, tail = note.rpartition("\n\n")
    sigs = []
    for line in tail.rstrip("\n").split("\n"):
        dash, name, data = line.split(" ")
        assert dash == EM_DASH and name and "+" not in name
        sigs.append((name, base64.b64decode(data, validate=True)))
    return head + "\n", sigs


def _spec_checkpoint(text: str) -> tuple[str, int, bytes]:
    lines = text.split("\n")
    assert lines[-1] == "" and len(lines) >= 4
    origin, size, root = lines[0], lines[1], lines[2]
    assert size == str(int(size))  # decimal, no leading zeros
    digest = base64.b64decode(root, validate=True)
    assert len(digest) == 32
    return origin, int(size), digest


def _ed25519(public: bytes, sig: bytes, msg: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(sig, msg)
    except InvalidSignature:
        return False
    return True


def _raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _spec_cosignature_message(text: str, timestamp: int) -> bytes:
    return b"cosignature/v1\n" + f"time {timestamp}\n".encode() + text.encode()


def test_the_hub_checkpoint_and_a_foreign_witness_cosignature(tmp_path: Path) -> None:
    w = World(tmp_path)
    un = httpx.Client(base_url=w.url, headers={"Authorization": f"Bearer {w.tokens['un']}"})
    try:
        for k in range(3):
            w.party("russia").ok("POST", "/v1/messages", {"to": ["un"], "body": f"m{k}"}, 201)
        hub_pub = base64.urlsafe_b64decode(un.get("/v1/ledger/key").json()["public_key"] + "==")
        head = un.get("/v1/ledger/head").json()
        doc = un.get("/v1/ledger/checkpoint", params={"tree_size": head["tree_size"]}).json()

        # the checkpoint: origin, size, root (standard base64) equal to the signed JSON head
        text, sigs = _spec_split(doc["checkpoint"])
        origin, size, root = _spec_checkpoint(text)
        assert size == head["tree_size"]
        assert root == base64.urlsafe_b64decode(head["root_hash"] + "==")
        # the hub's signature: key name = origin, Ed25519 (type 0x01) over the note text
        hub_id = _spec_key_id(origin, 0x01, hub_pub)
        mine = [s for n, s in sigs if n == origin and s[:4] == hub_id]
        assert len(mine) == 1 and _ed25519(hub_pub, mine[0][4:], text.encode())
        assert not _ed25519(hub_pub, mine[0][4:], text.replace(str(size), str(size + 1)).encode())
        # the verifier key, as note tools write it: name+hex id+base64(type || key)
        name, key_hex, material = doc["hub_key"].split("+", 2)
        assert (name, bytes.fromhex(key_hex)) == (origin, hub_id)
        assert base64.b64decode(material) == b"\x01" + hub_pub

        # a witness that is not deconflict: its own key, registered as un's key
        witness = Ed25519PrivateKey.generate()
        public_b64url = base64.urlsafe_b64encode(_raw(witness)).rstrip(b"=").decode()
        r = un.put("/v1/parties/un/key", json={"public_key": public_b64url})
        assert r.status_code == 200, r.text
        doc = un.get("/v1/ledger/checkpoint").json()  # the key set is one more entry
        text, sigs = _spec_split(doc["checkpoint"])
        cosigner = "deconflict.party/un"
        stamp = int(time.time())
        sig = witness.sign(_spec_cosignature_message(text, stamp))
        blob = _spec_key_id(cosigner, 0x04, _raw(witness)) + struct.pack(">Q", stamp) + sig
        line = f"{EM_DASH} {cosigner} {base64.b64encode(blob).decode()}\n"
        hub_lines = "".join(
            f"{EM_DASH} {n} {base64.b64encode(s).decode()}\n" for n, s in sigs if n == origin
        )
        note = text + "\n" + hub_lines + line
        r = un.post("/v1/ledger/cosignatures", json={"checkpoint": note})
        assert r.status_code == 200, r.text
        assert r.json()["timestamp"] == stamp
        # served back, on the latest checkpoint and in the list, verifiable from the spec
        doc = un.get("/v1/ledger/checkpoint").json()
        text2, sigs2 = _spec_split(doc["checkpoint"])
        assert text2 == text
        theirs = [s for n, s in sigs2 if n == cosigner]
        assert len(theirs) == 1
        (t,) = struct.unpack(">Q", theirs[0][4:12])
        assert t == stamp
        assert _ed25519(_raw(witness), theirs[0][12:], _spec_cosignature_message(text2, t))
        [listed] = [c for c in doc["cosignatures"] if c["party"] == "un"]
        _, listed_sigs = _spec_split(listed["checkpoint"])
        assert {n for n, _ in listed_sigs} == {origin, cosigner}

        # a cosignature altered by one bit is refused, naming the field
        bad = bytearray(blob)
        bad[-1] ^= 1
        forged = text + "\n" + hub_lines + f"{EM_DASH} {cosigner} "
        forged += base64.b64encode(bytes(bad)).decode() + "\n"
        r = un.post("/v1/ledger/cosignatures", json={"checkpoint": forged})
        assert r.status_code == 422 and r.json()["errors"][0]["path"] == "body.checkpoint"
    finally:
        un.close()
        w.stop()
