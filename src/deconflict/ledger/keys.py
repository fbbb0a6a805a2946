"""Ed25519 keys, detached signatures and signed tree heads.

Keys are identified by the SHA-256 of their raw 32-byte public key, so an id
names exactly one key and anyone can recompute it. Signatures and hashes
travel as unpadded base64url text. Verification never raises: a malformed
key or signature simply does not verify.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from deconflict.ledger.canonical import canonical_json

__all__ = [
    "SignedTreeHead",
    "b64d",
    "b64e",
    "generate_key",
    "key_id",
    "load_or_create_key",
    "load_private_key",
    "public_raw",
    "save_private_key",
    "sign_statement",
    "verify_statement",
]


def b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64d(text: str) -> bytes:
    """Decode unpadded (or padded) base64url; raises ValueError on anything else."""
    if not isinstance(text, str):
        raise ValueError("expected base64url text")
    padded = text + "=" * (-len(text) % 4)
    try:
        return base64.urlsafe_b64decode(padded.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise ValueError(f"not base64url: {exc}") from None


def generate_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_raw(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public: bytes) -> str:
    return b64e(hashlib.sha256(public).digest())


def save_private_key(key: Ed25519PrivateKey, path: Path) -> None:
    """Write a PKCS#8 PEM readable by its owner only."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    if path.exists():
        return load_private_key(path)
    key = generate_key()
    save_private_key(key, path)
    return key


def sign_statement(key: Ed25519PrivateKey, statement: Any) -> str:
    """Detached signature over the canonical JSON of ``statement``."""
    return b64e(key.sign(canonical_json(statement)))


def verify_statement(public: bytes, statement: Any, signature: str) -> bool:
    try:
        pub = Ed25519PublicKey.from_public_bytes(public)
        pub.verify(b64d(signature), canonical_json(statement))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


@dataclass(frozen=True)
class SignedTreeHead:
    """The hub's signed statement: "my log had this many entries with this root at this time"."""

    tree_size: int
    root_hash: bytes
    timestamp: str
    key_id: str
    signature: str

    def statement(self) -> dict[str, Any]:
        return {
            "type": "tree_head",
            "tree_size": self.tree_size,
            "root_hash": b64e(self.root_hash),
            "timestamp": self.timestamp,
            "key_id": self.key_id,
        }

    @classmethod
    def sign(
        cls, key: Ed25519PrivateKey, tree_size: int, root_hash: bytes, timestamp: str
    ) -> SignedTreeHead:
        unsigned = cls(tree_size, root_hash, timestamp, key_id(public_raw(key)), "")
        return cls(
            tree_size,
            root_hash,
            timestamp,
            unsigned.key_id,
            sign_statement(key, unsigned.statement()),
        )

    def verify(self, public: bytes) -> bool:
        return key_id(public) == self.key_id and verify_statement(
            public, self.statement(), self.signature
        )

    def to_json(self) -> dict[str, Any]:
        return {**self.statement(), "signature": self.signature}

    @classmethod
    def from_json(cls, doc: Any) -> SignedTreeHead:
        """Parse a head received from elsewhere; raises ValueError naming the bad field."""
        if not isinstance(doc, dict):
            raise ValueError("tree head: expected an object")
        size = doc.get("tree_size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ValueError("tree head: tree_size must be an integer >= 0")
        for name in ("root_hash", "timestamp", "key_id", "signature"):
            if not isinstance(doc.get(name), str):
                raise ValueError(f"tree head: {name} must be a string")
        root = b64d(doc["root_hash"])
        if len(root) != 32:
            raise ValueError("tree head: root_hash must be 32 bytes")
        return cls(size, root, doc["timestamp"], doc["key_id"], doc["signature"])
