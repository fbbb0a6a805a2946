"""Ledger use cases: log every state change, sign heads, serve proofs, party keys, evidence.

`LedgerOps` sits right above `HubCore`: every use case above it records what it changes with
`self._log(tx, type, **fields)`, inside the change's own savepoint, so an entry exists iff its
change was committed. Entry schemas are those `deconflict.ledger.evidence` describes.

Party signatures: once a party registered an Ed25519 key (`set_party_key`, logged as
`party_key_set`), its notifications, amendments, cancellations and acknowledgements must carry
a detached signature over the statement `deconflict.ledger.statements` builds from the request
as received; `_check_signed` verifies it inside the change (so a key rotated in the same batch
counts) and returns what the entry logs: the statement, the signature and the key id.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from deconflict.ledger import evidence
from deconflict.ledger.keys import SignedTreeHead, b64d, b64e, key_id, verify_statement
from deconflict.service.auth import Principal
from deconflict.service.core import HubCore, Tx
from deconflict.service.errors import Invalid, NotFound, StateConflict
from deconflict.service.ledger_log import HubLedger, concerns, hub_key_path
from deconflict.store import Repo, format_ts
from deconflict.store import ledger_schema as ls

__all__ = ["MAX_PAGE", "LedgerOps", "ReplayedSignature", "SignedRequest"]

log = logging.getLogger("deconflict.ledger")
MAX_PAGE = 1000  # entries per GET /v1/ledger/entries
_NONCE_MIN, _NONCE_MAX = 8, 128


class ReplayedSignature(StateConflict):
    title = "Replayed signature"
    slug = "replayed-signature"


@dataclass(frozen=True)
class SignedRequest:
    """What a request carried besides its document: a signature and (for notify) a nonce."""

    signature: str | None = None
    nonce: str | None = None


def _rfc3339(ts: str) -> str:
    return ts  # the store's fixed-width UTC text is RFC 3339 already


class LedgerOps(HubCore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ledger = HubLedger(hub_key_path(self.settings.db_path))
        self._head_thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------
    def _load(self) -> None:
        super()._load()
        with self.store.read() as repo:
            self.ledger.open(repo.conn)
        log.info("ledger: %d entries, hub key %s", self.ledger.frontier.size, self.ledger.key_id)

    def start(self, *, sweep: bool = True) -> None:
        super().start(sweep=sweep)
        interval = self.settings.ledger_head_interval_s
        if sweep and interval > 0:
            self._head_thread = threading.Thread(
                target=self._head_loop, args=(interval,), name="hub-heads", daemon=True
            )
            self._head_thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._head_thread is not None:
            self._head_thread.join(timeout=10)
            self._head_thread = None
        super().close()

    def _head_loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.store_head()
            except Exception:  # retried next tick
                log.exception("storing a tree head failed")

    # -- the write path ------------------------------------------------------
    def _before_commit(self, repo: Repo) -> None:
        self.ledger.flush(repo.conn)
        super()._before_commit(repo)

    def _log(self, tx: Tx, type_: str, **fields: Any) -> int:
        """Append one entry, in `tx`'s savepoint; returns its index."""
        if not self.settings.ledger_enabled:
            return -1
        entry = {"type": type_, "at": _rfc3339(tx.ts), **fields}
        return self.ledger.append(entry, tx.on_undo)

    def _on_party_registered(self, tx: Tx, party_id: str) -> None:
        name = self._staged_parties[party_id]["name"]
        self._log(tx, "party_registered", party=party_id, name=name)
        super()._on_party_registered(tx, party_id)

    def store_head(self) -> dict[str, Any] | None:
        """Sign and keep the committed head if the log grew since the last one kept."""
        with self.store.read() as repo:
            latest = ls.latest_head(repo.conn)
            size = self.ledger.size(repo.conn)
            if size == 0 or (latest is not None and latest["tree_size"] >= size):
                return None
            head = self.ledger.sign_head(size, self.ledger.root(repo.conn, size), self._stamp())

        def run(tx: Tx) -> None:
            newest = ls.latest_head(tx.repo.conn)
            if newest is None or newest["tree_size"] < head.tree_size:
                ls.insert_head(
                    tx.repo.conn,
                    {
                        "tree_size": head.tree_size,
                        "root_hash": head.root_hash,
                        "timestamp": head.timestamp,
                        "key_id": head.key_id,
                        "signature": head.signature,
                    },
                )

        self._write(run)
        return head.to_json()

    def _stamp(self) -> str:
        return format_ts(self.now())

    # -- party signatures ----------------------------------------------------
    @staticmethod
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

    def _check_signed(
        self, tx: Tx, who: Principal, statement: dict[str, Any], req: SignedRequest
    ) -> dict[str, Any]:
        """Verify a party's signature over ``statement``; the fields its entry logs."""
        party = who.party_id
        key = ls.current_key(tx.repo.conn, party)
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
            for old in ls.key_history(tx.repo.conn, [party]):
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
            and not ls.use_nonce(tx.repo.conn, party, req.nonce, tx.ts)
        ):
            raise ReplayedSignature(
                f"signature: nonce {req.nonce!r} was already used by {party}; a replayed "
                "notification is refused (sign a fresh nonce for each notice)",
                field="signature",
            )
        return {"statement": statement, "signature": req.signature, "key_id": kid}

    def _party_visible(self, who: Principal, party_id: str) -> None:
        if who.is_admin:
            if party_id not in self._parties:
                raise NotFound(f"no party {party_id!r}")
            return
        if who.party_id != party_id:
            raise NotFound(f"no party {party_id!r} you may manage")

    def set_party_key(self, who: Principal, party_id: str, body: Any) -> dict[str, Any]:
        """Register or rotate a party's Ed25519 public key (the party itself, or the admin)."""
        self._party_visible(who, party_id)
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
            current = ls.current_key(tx.repo.conn, party_id)
            if current is not None and current["key_id"] == kid:
                return self._key_view(party_id, current)
            for old in ls.key_history(tx.repo.conn, [party_id]):
                if old["key_id"] == kid:
                    raise StateConflict(
                        f"key {kid} was rotated out of {party_id}; a retired key is never "
                        "reinstated: generate a new one"
                    )
            index = self._log(tx, "party_key_set", party=party_id, public_key=text, key_id=kid)
            row = {
                "party_id": party_id,
                "seq": 1 if current is None else current["seq"] + 1,
                "key_id": kid,
                "public_key": text,
                "set_at": tx.ts,
                "ledger_index": index,
            }
            ls.insert_key(tx.repo.conn, row)
            return self._key_view(party_id, row)

        return self._write(run)

    @staticmethod
    def _key_view(party_id: str, row: dict[str, Any]) -> dict[str, Any]:
        return {
            "party": party_id,
            "public_key": row["public_key"],
            "key_id": row["key_id"],
            "set_at": row["set_at"],
            "ledger_index": row["ledger_index"],
        }

    def party_keys(self, who: Principal, party_id: str) -> dict[str, Any]:
        """A party's keys, current last (public: anyone verifying a statement needs them)."""
        if party_id not in self._parties:
            raise NotFound(f"no party {party_id!r}")
        with self.store.read() as repo:
            rows = ls.key_history(repo.conn, [party_id])
        return {"party": party_id, "keys": [self._key_view(party_id, r) for r in rows]}

    # -- reading the log -----------------------------------------------------
    def ledger_key(self) -> dict[str, Any]:
        return {
            "algorithm": "Ed25519",
            "public_key": b64e(self.ledger.public_key),
            "key_id": self.ledger.key_id,
        }

    def ledger_head(self) -> dict[str, Any]:
        with self.store.read() as repo:
            head = self.ledger.head(repo.conn, self._stamp())
        return head.to_json()

    def ledger_heads(self, limit: int = 100) -> dict[str, Any]:
        """Heads the hub signed and kept, newest first."""
        with self.store.read() as repo:
            rows = ls.list_heads(repo.conn, limit)
        return {
            "heads": [
                SignedTreeHead(
                    r["tree_size"], r["root_hash"], r["timestamp"], r["key_id"], r["signature"]
                ).to_json()
                for r in rows
            ]
        }

    def ledger_entries(self, who: Principal, start: int, end: int | None) -> dict[str, Any]:
        """Entries [start, end): in full where they concern `who`, else index and leaf hash."""
        with self.store.read() as repo:
            size = self.ledger.size(repo.conn)
            stop = min(size, start + MAX_PAGE if end is None else end)
            if end is not None and end - start > MAX_PAGE:
                raise Invalid(
                    [("end", f"at most {MAX_PAGE} entries per request")], location="query"
                )
            if end is not None and end < start:
                raise Invalid([("end", "must be >= start")], location="query")
            rows = ls.entries(repo.conn, start, stop) if start < stop else []
        out = []
        for r in rows:
            item: dict[str, Any] = {"index": r["idx"], "leaf_hash": b64e(r["leaf_hash"])}
            text = bytes(r["entry"]).decode("utf-8")
            if who.is_admin or concerns(json.loads(text), who.party_id):
                item["entry"] = text
            out.append(item)
        return {"tree_size": size, "start": start, "end": stop, "entries": out}

    def _check_size(self, size: int, name: str, tree_size: int) -> None:
        if size > tree_size:
            raise Invalid(
                [(name, f"the log holds {tree_size} entries, not {size}")], location="query"
            )

    def inclusion_proof(self, index: int, tree_size: int | None) -> dict[str, Any]:
        with self.store.read() as repo:
            size = self.ledger.size(repo.conn)
            wanted = size if tree_size is None else tree_size
            self._check_size(wanted, "tree_size", size)
            if not 0 <= index < wanted:
                raise Invalid(
                    [("index", f"must be a leaf of the tree of size {wanted}")], location="query"
                )
            proof = self.ledger.inclusion(repo.conn, index, wanted)
            leaf = ls.entries(repo.conn, index, index + 1)[0]["leaf_hash"]
        return {
            "index": index,
            "tree_size": wanted,
            "leaf_hash": b64e(leaf),
            "proof": [b64e(p) for p in proof],
        }

    def consistency_proof(self, first: int, second: int | None) -> dict[str, Any]:
        with self.store.read() as repo:
            size = self.ledger.size(repo.conn)
            wanted = size if second is None else second
            self._check_size(wanted, "second", size)
            if not 0 < first <= wanted:
                raise Invalid([("first", f"must be in 1..{wanted}")], location="query")
            proof = self.ledger.consistency(repo.conn, first, wanted)
        return {"first": first, "second": wanted, "proof": [b64e(p) for p in proof]}

    # -- evidence ------------------------------------------------------------
    def evidence(self, who: Principal, notice_id: str) -> dict[str, Any]:
        """Every entry about one notice that `who` may see, proven against one fresh head."""
        with self.store.read() as repo:
            conn = repo.conn
            size = self.ledger.size(conn)
            indices = ls.indices_about(conn, [notice_id], size)
            rows = ls.entries_at(conn, indices)
            docs = {int(r["idx"]): json.loads(bytes(r["entry"])) for r in rows}
            versions = [d for d in docs.values() if d.get("type") == "notice_version"]
            if not versions or not (
                who.is_admin or any(concerns(v, who.party_id) for v in versions)
            ):
                raise NotFound(f"no notice {notice_id!r} is visible to you")
            # Second round: what the first round's conflicts and messages lead to.
            more = sorted(
                {
                    str(d.get(k))
                    for d in docs.values()
                    for k in ("conflict_id", "message_id")
                    if d.get(k)
                }
            )
            if more:
                extra = ls.indices_about(conn, more, size)
                for r in ls.entries_at(conn, [i for i in extra if i not in docs]):
                    docs[int(r["idx"])] = json.loads(bytes(r["entry"]))
                    rows.append(r)
            keep = {i for i, d in docs.items() if who.is_admin or concerns(d, who.party_id)}
            involved = sorted(
                {
                    str(p)
                    for i in keep
                    for p in (docs[i].get("issuer"), docs[i].get("party"), docs[i].get("from"))
                    if p
                }
            )
            key_rows = ls.key_history(conn, involved)
            key_indices = [int(k["ledger_index"]) for k in key_rows if k["ledger_index"] < size]
            for r in ls.entries_at(conn, [i for i in key_indices if i not in docs]):
                rows.append(r)
            keep |= set(key_indices)
            chosen = sorted({int(r["idx"]): r for r in rows if int(r["idx"]) in keep}.items())
            head = self.ledger.head(conn, self._stamp())
            proofs = self.ledger.inclusions(conn, [i for i, _ in chosen], head.tree_size)
        triples = [
            (i, bytes(r["entry"]), proof) for (i, r), proof in zip(chosen, proofs, strict=True)
        ]
        return evidence.build_bundle(notice_id, triples, head, self.ledger.public_key)
