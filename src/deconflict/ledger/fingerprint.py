"""Short fingerprints a liaison can read over a phone line.

``ABCD-EFGH-JKLM-NPQR-STUV``: the first 100 bits of a SHA-256, in RFC 4648 base32
(letters and the digits 2-7, so no 0/O or 1/I to mix up), five groups of four. Reading
one back, case, spaces and dashes do not matter, and 0, 1 and 8 are taken for O, I and B.

- the hub key's fingerprint is over its raw 32-byte Ed25519 public key;
- a checkpoint's is ``<tree size>/`` followed by the fingerprint of its C2SP note text
  (origin, size, root), so the other side can say which head it means and the listener
  can compute the same from the log it verified.
"""

from __future__ import annotations

import base64
import hashlib

from deconflict.ledger.note import Checkpoint

__all__ = [
    "checkpoint_fingerprint",
    "key_fingerprint",
    "normalise",
    "paper_code",
    "parse_checkpoint_fingerprint",
]

_CHARS = 20  # 100 bits
_GROUP = 4
_ALPHABET = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
_MISHEARD = str.maketrans({"0": "O", "1": "I", "8": "B"})


def _groups(digest: bytes) -> str:
    text = base64.b32encode(digest).decode("ascii")[:_CHARS]
    return "-".join(text[i : i + _GROUP] for i in range(0, _CHARS, _GROUP))


def key_fingerprint(public: bytes) -> str:
    return _groups(hashlib.sha256(public).digest())


def checkpoint_fingerprint(checkpoint: Checkpoint) -> str:
    digest = hashlib.sha256(checkpoint.text().encode("utf-8")).digest()
    return f"{checkpoint.tree_size}/{_groups(digest)}"


def paper_code(leaf_hash: bytes, text: str) -> str:
    """Issue 15: the verification code of a printed notice version.

    Over the version's ledger leaf hash (a salted entry: not guessable, so neither is the
    code, 100 bits) and the printed text: a paper whose text was changed has a different
    code, and only the hub, holding the leaf, can tell a code from a guess.
    """
    text_hash = hashlib.sha256(text.encode("utf-8")).digest()
    return _groups(hashlib.sha256(b"deconflict-paper-v1\n" + leaf_hash + text_hash).digest())


def normalise(fingerprint: str) -> str:
    """The canonical form of a fingerprint as heard; raises ValueError if it cannot be one."""
    text = "".join(c for c in fingerprint.upper() if c not in " -\t").translate(_MISHEARD)
    if len(text) != _CHARS or not set(text) <= _ALPHABET:
        raise ValueError(
            f"a fingerprint is {_CHARS} letters and digits 2-7 (e.g. ABCD-EFGH-JKLM-NPQR-STUV)"
        )
    return "-".join(text[i : i + _GROUP] for i in range(0, _CHARS, _GROUP))


def parse_checkpoint_fingerprint(text: str) -> tuple[int, str]:
    """``SIZE/FINGERPRINT`` as heard: (size, canonical fingerprint); raises ValueError."""
    size, sep, rest = text.strip().partition("/")
    if not sep or not size.strip().isdigit():
        raise ValueError("a checkpoint fingerprint is SIZE/ABCD-EFGH-JKLM-NPQR-STUV")
    return int(size.strip()), normalise(rest)
