"""Checkpoints as C2SP signed notes, and Ed25519 cosignatures on them (C2SP tlog-cosignature).

The formats of the transparency-log world, so that witness software that was never
written for deconflict (a neutral state's, an NGO's) can read the hub's heads and cosign
them:

- a *checkpoint* (c2sp.org/tlog-checkpoint) is the note text ``origin\\nsize\\nroot\\n``,
  the root in standard base64;
- a *signed note* (c2sp.org/signed-note) is that text, a blank line, and signature lines
  ``— <key name> base64(key ID || signature)``; the key ID is the first 4 bytes of
  ``SHA-256(name || "\\n" || type || public key)``;
- the hub signs with signature type 0x01 (Ed25519 over the note text) under the key name
  equal to the origin;
- a party cosigns with type 0x04: the signature is ``u64 timestamp || Ed25519`` over
  ``"cosignature/v1\\ntime <t>\\n" || note text``.

Parsing is strict (what a verifier must refuse is refused); verification never raises.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from deconflict.ledger.keys import public_raw

__all__ = [
    "COSIGNATURE_TYPE",
    "ED25519_TYPE",
    "Checkpoint",
    "NoteSignature",
    "SignedNote",
    "cosign",
    "cosigner_name",
    "hub_origin",
    "note_key_id",
    "sign_checkpoint",
    "verify_cosignature",
    "verify_hub_signature",
    "vkey",
]

ED25519_TYPE = 0x01
COSIGNATURE_TYPE = 0x04
_DASH = "\u2014"
_MAX_SIGNATURES = 64
_COSIGN_HEADER = b"cosignature/v1\n"


def hub_origin(hub_public_key: bytes) -> str:
    """The log's origin line, fixed by its key: one hub key, one log identity."""
    return f"deconflict.hub/{hashlib.sha256(hub_public_key).hexdigest()[:16]}"


def cosigner_name(party_id: str) -> str:
    """The key name under which a party cosigns (party ids hold no spaces and no '+')."""
    return f"deconflict.party/{party_id}"


def note_key_id(name: str, sig_type: int, public: bytes) -> bytes:
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([sig_type]) + public).digest()[:4]


def vkey(name: str, sig_type: int, public: bytes) -> str:
    """A verifier key as the note tools write it: ``name+hex key ID+base64(type || key)``."""
    key_hex = note_key_id(name, sig_type, public).hex()
    return f"{name}+{key_hex}+{base64.b64encode(bytes([sig_type]) + public).decode()}"


def _valid_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    tree_size: int
    root_hash: bytes

    def text(self) -> str:
        root = base64.b64encode(self.root_hash).decode("ascii")
        return f"{self.origin}\n{self.tree_size}\n{root}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Read a checkpoint's note text; raises ValueError naming what is wrong."""
        if not text.endswith("\n"):
            raise ValueError("checkpoint: the note text must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3 or any(not line for line in lines):
            raise ValueError("checkpoint: expected origin, size and root on non-empty lines")
        origin, size_text, root_text = lines[:3]
        if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
            raise ValueError("checkpoint: the tree size must be a decimal without leading zeros")
        try:
            root = base64.b64decode(root_text, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("checkpoint: the root hash is not base64") from None
        if len(root) != 32:
            raise ValueError("checkpoint: the root hash must be 32 bytes")
        return cls(origin, int(size_text), root)


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: bytes
    signature: bytes  # after the 4-byte key ID

    def line(self) -> str:
        data = base64.b64encode(self.key_id + self.signature).decode("ascii")
        return f"{_DASH} {self.name} {data}\n"


@dataclass(frozen=True)
class SignedNote:
    text: str
    signatures: tuple[NoteSignature, ...]

    def render(self) -> str:
        return self.text + "\n" + "".join(s.line() for s in self.signatures)

    def with_signatures(self, extra: list[NoteSignature]) -> SignedNote:
        return SignedNote(self.text, self.signatures + tuple(extra))

    @classmethod
    def parse(cls, note: str) -> SignedNote:
        """Split a signed note into its text and signature lines; raises ValueError."""
        if any(ord(c) < 0x20 and c != "\n" for c in note):
            raise ValueError("signed note: control characters other than newline")
        if not note.endswith("\n"):
            raise ValueError("signed note: must end with a newline")
        cut = note.rfind("\n\n")
        if cut < 0:
            raise ValueError("signed note: no blank line before the signatures")
        text, block = note[: cut + 1], note[cut + 2 :]
        sigs = []
        for line in block[:-1].split("\n"):
            parts = line.split(" ")
            if len(parts) != 3 or parts[0] != _DASH or not _valid_name(parts[1]):
                raise ValueError(f"signed note: malformed signature line {line[:80]!r}")
            try:
                raw = base64.b64decode(parts[2], validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("signed note: a signature is not base64") from None
            if len(raw) < 5:
                raise ValueError("signed note: a signature is too short")
            sigs.append(NoteSignature(parts[1], raw[:4], raw[4:]))
        if not sigs:
            raise ValueError("signed note: no signature")
        if len(sigs) > _MAX_SIGNATURES:
            raise ValueError(f"signed note: more than {_MAX_SIGNATURES} signatures")
        return cls(text, tuple(sigs))

    def find(self, name: str, key_id: bytes) -> list[NoteSignature]:
        return [s for s in self.signatures if s.name == name and s.key_id == key_id]


def sign_checkpoint(key: Ed25519PrivateKey, checkpoint: Checkpoint) -> SignedNote:
    """The hub's signed note of a checkpoint (key name = origin, Ed25519, type 0x01)."""
    text = checkpoint.text()
    kid = note_key_id(checkpoint.origin, ED25519_TYPE, public_raw(key))
    sig = NoteSignature(checkpoint.origin, kid, key.sign(text.encode("utf-8")))
    return SignedNote(text, (sig,))


def _ed25519_ok(public: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_hub_signature(note: SignedNote, public: bytes) -> Checkpoint | None:
    """The checkpoint if ``note`` carries a valid hub signature by ``public``, else None."""
    try:
        checkpoint = Checkpoint.parse(note.text)
    except ValueError:
        return None
    if checkpoint.origin != hub_origin(public):
        return None
    kid = note_key_id(checkpoint.origin, ED25519_TYPE, public)
    found = note.find(checkpoint.origin, kid)
    message = note.text.encode("utf-8")
    if found and all(_ed25519_ok(public, s.signature, message) for s in found):
        return checkpoint
    return None


def _cosigned_message(text: str, timestamp: int) -> bytes:
    return _COSIGN_HEADER + f"time {timestamp}\n".encode() + text.encode("utf-8")


def cosign(key: Ed25519PrivateKey, name: str, text: str, timestamp: int) -> NoteSignature:
    """An Ed25519 cosignature (type 0x04) by ``name`` on the note text, at POSIX ``timestamp``."""
    if not 0 <= timestamp < 2**63:
        raise ValueError("cosignature: timestamp out of range")
    kid = note_key_id(name, COSIGNATURE_TYPE, public_raw(key))
    sig = key.sign(_cosigned_message(text, timestamp))
    return NoteSignature(name, kid, struct.pack(">Q", timestamp) + sig)


def verify_cosignature(sig: NoteSignature, text: str, public: bytes) -> int | None:
    """The cosignature's timestamp if ``sig`` is a valid cosignature by ``public``, else None."""
    if sig.key_id != note_key_id(sig.name, COSIGNATURE_TYPE, public) or len(sig.signature) != 72:
        return None
    (timestamp,) = struct.unpack(">Q", sig.signature[:8])
    if timestamp >= 2**63:
        return None
    if not _ed25519_ok(public, sig.signature[8:], _cosigned_message(text, timestamp)):
        return None
    return int(timestamp)
