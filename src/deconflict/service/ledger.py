"""The ledger use case: log every state change, sign heads, serve entries and proofs.

Every other use case is given this object and records what it changes with
`ledger.log(tx, type, **fields)`, inside the change's own savepoint, so an entry exists
iff its change was committed; the entries of a batch are stored just before its COMMIT
(`Writer.before_commit`). Entry schemas are those `deconflict.ledger.evidence` describes.
Readers work from committed snapshots, never from the writer's in-memory frontier.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from deconflict.ledger import evidence
from deconflict.ledger.fingerprint import key_fingerprint
from deconflict.ledger.keys import SignedTreeHead, b64e
from deconflict.service.auth import Principal
from deconflict.service.errors import Invalid, NotFound
from deconflict.service.ledger_log import HubLedger, concerns
from deconflict.service.tx import Tx
from deconflict.service.writer import Writer
from deconflict.store import Repo, Store
from deconflict.store.repos import LedgerRepo
from deconflict.utc import format_ts

__all__ = ["MAX_PAGE", "Ledger"]

log = logging.getLogger("deconflict.ledger")
MAX_PAGE = 1000  # entries per GET /v1/ledger/entries


class Ledger:
    def __init__(
        self,
        writer: Writer,
        store: Store,
        tree: HubLedger,
        clock: Callable[[], datetime],
        *,
        enabled: bool = True,
    ) -> None:
        self.writer = writer
        self.store = store
        self.tree = tree
        self.clock = clock
        self.enabled = enabled
        writer.before_commit.append(lambda repo: tree.flush(repo.ledger))
        self._head_thread: threading.Thread | None = None
        self._stop = threading.Event()
        # issue 14: only the leading process signs heads on its own
        self.may_sign: Callable[[], bool] = lambda: True

    # -- lifecycle -----------------------------------------------------------
    def open(self, repo: Repo) -> None:
        self.tree.open(repo.ledger)
        log.info("ledger: %d entries, hub key %s", self.tree.frontier.size, self.tree.key_id)

    def start_heads(self, interval: float) -> None:
        """Sign and keep the head every `interval` seconds (if the log grew)."""
        self._stop.clear()
        self._head_thread = threading.Thread(
            target=self._head_loop, args=(interval,), name="hub-heads", daemon=True
        )
        self._head_thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._head_thread is not None:
            self._head_thread.join(timeout=10)
            self._head_thread = None

    def _head_loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            if not self.may_sign():
                continue
            try:
                self.store_head()
            except Exception:  # retried next tick
                log.exception("storing a tree head failed")

    # -- the write path ------------------------------------------------------
    def log(self, tx: Tx, type_: str, **fields: Any) -> int:
        """Append one entry, in `tx`'s savepoint; returns its index."""
        if not self.enabled:
            return -1
        # issue 11: a secret random salt in every entry, served only with the entry to
        # those who may read it, so that a leaf hash cannot be matched against guesses
        # built from neighbouring entries.
        entry = {"type": type_, "at": tx.ts, "salt": secrets.token_hex(16), **fields}
        return self.tree.append(entry, tx.on_undo)

    def store_head(self) -> dict[str, Any] | None:
        """Sign and keep the committed head if the log grew since the last one kept."""
        with self.store.read() as repo:
            rows = repo.ledger
            latest = rows.latest_head()
            size = rows.size()
            if size == 0 or (latest is not None and latest["tree_size"] >= size):
                return None
            head = self.tree.sign_head(size, self.tree.root(rows, size), self._stamp())

        def run(tx: Tx) -> None:
            newest = tx.repo.ledger.latest_head()
            if newest is None or newest["tree_size"] < head.tree_size:
                tx.repo.ledger.insert_head(
                    {
                        "tree_size": head.tree_size,
                        "root_hash": head.root_hash,
                        "timestamp": head.timestamp,
                        "key_id": head.key_id,
                        "signature": head.signature,
                    }
                )

        self.writer.submit(run)
        return head.to_json()

    def _stamp(self) -> str:
        return format_ts(self.clock())

    # -- reading the log -----------------------------------------------------
    def key(self) -> dict[str, Any]:
        return {
            "algorithm": "Ed25519",
            "public_key": b64e(self.tree.public_key),
            "key_id": self.tree.key_id,
            "fingerprint": key_fingerprint(self.tree.public_key),  # issue 12: read by phone
        }

    def _read(self, fn: Callable[[LedgerRepo], Any]) -> Any:
        with self.store.read() as repo:
            return fn(repo.ledger)

    async def head(self) -> dict[str, Any]:
        head: SignedTreeHead = await asyncio.to_thread(
            self._read, lambda rows: self.tree.head(rows, self._stamp())
        )
        return head.to_json()

    async def heads(self, limit: int = 100) -> dict[str, Any]:
        """Heads the hub signed and kept, newest first."""
        found = await asyncio.to_thread(self._read, lambda rows: rows.heads(limit))
        return {
            "heads": [
                SignedTreeHead(
                    r["tree_size"], r["root_hash"], r["timestamp"], r["key_id"], r["signature"]
                ).to_json()
                for r in found
            ]
        }

    async def entries(self, who: Principal, start: int, end: int | None) -> dict[str, Any]:
        """Entries [start, end): in full where they concern `who`, else index and leaf hash."""
        if end is not None and end - start > MAX_PAGE:
            raise Invalid([("end", f"at most {MAX_PAGE} entries per request")], location="query")
        if end is not None and end < start:
            raise Invalid([("end", "must be >= start")], location="query")

        def read(rows: LedgerRepo) -> tuple[int, int, list[dict[str, Any]]]:
            size = rows.size()
            stop = min(size, start + MAX_PAGE if end is None else end)
            return size, stop, rows.entries(start, stop) if start < stop else []

        size, stop, found = await asyncio.to_thread(self._read, read)
        out = []
        for r in found:
            item: dict[str, Any] = {"index": r["idx"], "leaf_hash": b64e(r["leaf_hash"])}
            text = bytes(r["entry"]).decode("utf-8")
            if who.is_admin or concerns(json.loads(text), who.party_id):
                item["entry"] = text
            out.append(item)
        return {"tree_size": size, "start": start, "end": stop, "entries": out}

    async def inclusion_proof(self, index: int, tree_size: int | None) -> dict[str, Any]:
        def read(rows: LedgerRepo) -> dict[str, Any]:
            size = rows.size()
            wanted = size if tree_size is None else tree_size
            _check_size(wanted, "tree_size", size)
            if not 0 <= index < wanted:
                raise Invalid(
                    [("index", f"must be a leaf of the tree of size {wanted}")], location="query"
                )
            proof = self.tree.inclusion(rows, index, wanted)
            leaf = rows.entries(index, index + 1)[0]["leaf_hash"]
            return {
                "index": index,
                "tree_size": wanted,
                "leaf_hash": b64e(leaf),
                "proof": [b64e(p) for p in proof],
            }

        found: dict[str, Any] = await asyncio.to_thread(self._read, read)
        return found

    async def consistency_proof(self, first: int, second: int | None) -> dict[str, Any]:
        def read(rows: LedgerRepo) -> dict[str, Any]:
            size = rows.size()
            wanted = size if second is None else second
            _check_size(wanted, "second", size)
            if not 0 < first <= wanted:
                raise Invalid([("first", f"must be in 1..{wanted}")], location="query")
            proof = self.tree.consistency(rows, first, wanted)
            return {"first": first, "second": wanted, "proof": [b64e(p) for p in proof]}

        found: dict[str, Any] = await asyncio.to_thread(self._read, read)
        return found

    # -- evidence ------------------------------------------------------------
    async def evidence(self, who: Principal, notice_id: str) -> dict[str, Any]:
        """Every entry about one notice that `who` may see, proven against one fresh head."""
        found: dict[str, Any] = await asyncio.to_thread(self._evidence, who, notice_id)
        return found

    def _evidence(self, who: Principal, notice_id: str) -> dict[str, Any]:
        with self.store.read() as repo:
            rows = repo.ledger
            size = rows.size()
            indices = rows.indices_about([notice_id], size)
            found = rows.entries_at(indices)
            docs = {int(r["idx"]): json.loads(bytes(r["entry"])) for r in found}
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
                extra = rows.indices_about(more, size)
                for r in rows.entries_at([i for i in extra if i not in docs]):
                    docs[int(r["idx"])] = json.loads(bytes(r["entry"]))
                    found.append(r)
            keep = {i for i, d in docs.items() if who.is_admin or concerns(d, who.party_id)}
            involved = sorted(
                {
                    str(p)
                    for i in keep
                    for p in (
                        docs[i].get("issuer"),
                        docs[i].get("party"),
                        docs[i].get("from"),
                        docs[i].get("relay"),  # issue 15: the relay signs its steps
                    )
                    if p
                }
            )
            key_rows = repo.keys.history(involved)
            key_indices = [int(k["ledger_index"]) for k in key_rows if k["ledger_index"] < size]
            for r in rows.entries_at([i for i in key_indices if i not in docs]):
                found.append(r)
            keep |= set(key_indices)
            chosen = sorted({int(r["idx"]): r for r in found if int(r["idx"]) in keep}.items())
            head = self.tree.head(rows, self._stamp())
            proofs = self.tree.inclusions(rows, [i for i, _ in chosen], head.tree_size)
        triples = [
            (i, bytes(r["entry"]), proof) for (i, r), proof in zip(chosen, proofs, strict=True)
        ]
        return evidence.build_bundle(notice_id, triples, head, self.tree.public_key)


def _check_size(size: int, name: str, tree_size: int) -> None:
    if size > tree_size:
        raise Invalid([(name, f"the log holds {tree_size} entries, not {size}")], location="query")
