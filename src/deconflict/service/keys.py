"""Party keys and party signatures.

Once a party registered an Ed25519 key (`set_key`, logged as `party_key_set`), its
notifications, amendments, cancellations and acknowledgements must carry a detached
signature over the statement `deconflict.ledger.statements` builds from the request as
received; `check` verifies it inside the change (so a key rotated in the same batch
counts) and returns what the entry logs: the statement, the signature and the key id.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from deconflict.ledger.keys import b64d, b64e, key_id, verify_statement
from deconflict.service.auth import Principal
from deconflict.service.errors import Invalid, NotFound, StateConflict
from deconflict.service.ledger import Ledger
from deconflict.service.parties import Parties
from deconflict.service.tx import Tx
from deconflict.service.writer import Writer
from deconflict.store import Row, Store

__all__ = ["PartyKeys", "ReplayedSignature", "SignedRequest", "take_signature"]

_NONCE_MIN, _NONCE_MAX = 8, 128


class ReplayedSignature(StateConflict):
    title = "Replayed signature"
    slug = "replayed-signature"


@dataclass(frozen=True)
class SignedRequest:
    """What a request carried besides its document: a signature and (for notify) a nonce."""

    signature: str | None = None
    nonce: str | None = None


def take_signature(body: Any, *, nonce: bool = False) -> tuple[Any, SignedRequest]:
    """Split ``signature`` (and ``nonce``) off a request document."""
    if not isinstance(body, dict):
        return body, SignedRequest()
    body = dict(body)
    signature = body.pop("signature", None)
    value = body.pop("nonce", None) if nonce else None
    errs = []
    if signature is not None and (not isinstance(signature, str) or len(signature) > 200):
        errs.append(("signature", "must be a base64url Ed25519 signature"))
    if value is not None and (
        not isinstance(value, str) or not _NONCE_MIN <= len(value) <= _NONCE_MAX
    ):
        errs.append(("nonce", f"must be a string of {_NONCE_MIN} to {_NONCE_MAX} characters"))
    if errs:
        raise Invalid(errs)
    return body, SignedRequest(signature, value)


def _key_view(party_id: str, row: Row) -> dict[str, Any]:
    return {
        "party": party_id,
        "public_key": row["public_key"],
        "key_id": row["key_id"],
        "set_at": row["set_at"],
        "ledger_index": row["ledger_index"],
    }


class PartyKeys:
    def __init__(self, writer: Writer, store: Store, parties: Parties, ledger: Ledger) -> None:
        self.writer = writer
        self.store = store
        self.parties = parties
        self.ledger = ledger

    def check(
        self, tx: Tx, who: Principal, statement: dict[str, Any], req: SignedRequest
    ) -> dict[str, Any]:
        """Verify a party's signature over ``statement``; the fields its entry logs."""
        party = who.party_id
        key = tx.repo.keys.current(party)
        what = statement["type"]
        if key is None:
            if req.signature is not None:
                raise Invalid(
                    [
                        (
                            "signature",
                            f"{party} has registered no key: register one with "
                            f"PUT /v1/parties/{party}/key before signing",
                        )
                    ]
                )
            return {}
        kid = key["key_id"]
        if req.signature is None:
            raise Invalid(
                [
                    (
                        "signature",
                        f"is required: {party} registered key {kid}, so every {what} must be "
                        "signed (detached Ed25519 over the canonical JSON of its statement)",
                    )
                ],
                "missing signature; nothing was stored",
            )
        if what == "notify" and req.nonce is None:
            raise Invalid(
                [("nonce", "is required with a signed notification (unique per party)")],
                "missing nonce; nothing was stored",
            )
        if not verify_statement(b64d(key["public_key"]), statement, req.signature):
            for old in tx.repo.keys.history([party]):
                if old["key_id"] != kid and verify_statement(
                    b64d(old["public_key"]), statement, req.signature
                ):
                    raise Invalid(
                        [
                            (
                                "signature",
                                f"made with key {old['key_id']}, which {party} rotated out "
                                f"(current key {kid} since {key['set_at']}); a rotated-out "
                                "key signs nothing",
                            )
                        ],
                        "signature by a rotated-out key; nothing was stored",
                    )
            raise Invalid(
                [
                    (
                        "signature",
                        f"does not verify with {party}'s key {kid}: forged, or made over "
                        f"other content than this {what}",
                    )
                ],
                "bad signature; nothing was stored",
            )
        if (
            req.nonce is not None
            and what == "notify"
            and not tx.repo.keys.use_nonce(party, req.nonce, tx.ts)
        ):
            raise ReplayedSignature(
                f"signature: nonce {req.nonce!r} was already used by {party}; a replayed "
                "notification is refused (sign a fresh nonce for each notice)",
                field="signature",
            )
        return {"statement": statement, "signature": req.signature, "key_id": kid}

    def _manageable(self, who: Principal, party_id: str) -> None:
        if who.is_admin:
            if party_id not in self.parties:
                raise NotFound(f"no party {party_id!r}")
            return
        if who.party_id != party_id:
            raise NotFound(f"no party {party_id!r} you may manage")

    async def set_key(self, who: Principal, party_id: str, body: Any) -> dict[str, Any]:
        """Register or rotate a party's Ed25519 public key (the party itself, or the admin)."""
        self._manageable(who, party_id)
        if not isinstance(body, dict):
            raise Invalid([("", "must be a JSON object")])
        errs = [(k, "unknown field") for k in sorted(set(body) - {"public_key"})]
        raw = body.get("public_key")
        public = b""
        try:
            public = b64d(raw) if isinstance(raw, str) else b""
            Ed25519PublicKey.from_public_bytes(public)
        except ValueError:
            errs.append(("public_key", "must be the base64url of a raw 32-byte Ed25519 public key"))
        if errs:
            raise Invalid(errs)
        kid = key_id(public)
        text = b64e(public)

        def run(tx: Tx) -> dict[str, Any]:
            current = tx.repo.keys.current(party_id)
            if current is not None and current["key_id"] == kid:
                return _key_view(party_id, current)
            for old in tx.repo.keys.history([party_id]):
                if old["key_id"] == kid:
                    raise StateConflict(
                        f"key {kid} was rotated out of {party_id}; a retired key is never "
                        "reinstated: generate a new one"
                    )
            index = self.ledger.log(
                tx, "party_key_set", party=party_id, public_key=text, key_id=kid
            )
            row = {
                "party_id": party_id,
                "seq": 1 if current is None else current["seq"] + 1,
                "key_id": kid,
                "public_key": text,
                "set_at": tx.ts,
                "ledger_index": index,
            }
            tx.repo.keys.insert(row)
            return _key_view(party_id, row)

        return await self.writer.run(run)

    async def keys_of(self, who: Principal, party_id: str) -> dict[str, Any]:
        """A party's keys, current last (public: anyone verifying a statement needs them)."""
        if party_id not in self.parties:
            raise NotFound(f"no party {party_id!r}")

        def read() -> list[Row]:
            with self.store.read() as repo:
                return repo.keys.history([party_id])

        found = await asyncio.to_thread(read)
        return {"party": party_id, "keys": [_key_view(party_id, r) for r in found]}
