"""`deconflict keygen -o FILE`: a party's Ed25519 signing key (private PEM, mode 0600)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from deconflict.ledger.fingerprint import key_fingerprint
from deconflict.ledger.keys import b64e, generate_key, key_id, public_raw, save_private_key

__all__ = ["register"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "keygen", help="make an Ed25519 key file for signing notices and acknowledgements"
    )
    p.add_argument("-o", "--output", type=Path, required=True, help="the private key file")
    p.set_defaults(handler=_keygen)


def _keygen(args: argparse.Namespace) -> int:
    if args.output.exists():
        print(f"deconflict: {args.output} exists; not overwriting a key", file=sys.stderr)
        return 1
    key = generate_key()
    save_private_key(key, args.output)
    public = public_raw(key)
    print(b64e(public))
    print(
        f"key id {key_id(public)}, fingerprint {key_fingerprint(public)} (read it to the other "
        f"parties' liaisons: their `ledger verify --cosigner-key` pins it); private key in "
        f"{args.output} (keep it secret). "
        "Register the public key with PUT /v1/parties/<your id>/key "
        '{"public_key": "<the line above>"}; then pass --key to notify and ack',
        file=sys.stderr,
    )
    return 0
