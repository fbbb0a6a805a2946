"""The tamper-evident ledger: an append-only Merkle log (RFC 9162) of every state change.

Both parties can check what the hub recorded without trusting the hub operator, so everything
here is pure computation over bytes: no I/O beyond reading and writing key files on request,
no clocks, no globals.
"""

from deconflict.ledger import evidence, merkle, statements, tree
from deconflict.ledger.canonical import canonical_json
from deconflict.ledger.keys import (
    SignedTreeHead,
    b64d,
    b64e,
    generate_key,
    key_id,
    load_or_create_key,
    load_private_key,
    public_raw,
    save_private_key,
    sign_statement,
    verify_statement,
)

__all__ = [
    "SignedTreeHead",
    "b64d",
    "b64e",
    "canonical_json",
    "evidence",
    "generate_key",
    "key_id",
    "load_or_create_key",
    "load_private_key",
    "merkle",
    "public_raw",
    "save_private_key",
    "sign_statement",
    "statements",
    "tree",
    "verify_statement",
]
