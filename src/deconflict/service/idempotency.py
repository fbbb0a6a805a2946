"""Idempotency keys for writes (issue 14): a retried write is stored once.

A client that sent a notice and lost the answer (a 503 after the COMMIT, a dropped
connection, a process killed behind a proxy) cannot tell whether it was stored; sending
it again must not store it twice. So a write may carry an ``Idempotency-Key`` header (as
in the IETF draft "The Idempotency-Key HTTP Header Field"): a value the client chose,
unique per request. The hub stores the key with the answer, in the same transaction as
the write (`Once.wrap`, inside the change, through the one writer), so on any process of
the hub a retry finds either both or neither:

- the same key and the same request (operation, target, body): the original answer,
  without a second write (`Once.replayed` is set; the API says so in a header);
- the same key with another request: refused (`IdempotencyKeyReused`), nothing stored;
- two attempts at once: the writer (and, across processes, the database's write token)
  puts them one after the other; the second is answered from the first.

Keys are scoped to the principal that sent them (a party, or a unit): another party's
equal key is another key, and it never sees this one's answer. Only a write that was
stored is remembered; a refused one stored nothing, so its retry is decided afresh.
A key is kept `idempotency_ttl_s` (24 h by default); the leader's sweep deletes older ones,
the oldest `PRUNE_LIMIT` a sweep.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from deconflict.service.auth import Principal
from deconflict.service.errors import IdempotencyKeyInvalid, IdempotencyKeyReused
from deconflict.service.tx import Tx
from deconflict.store import Row, Store
from deconflict.utc import format_ts

__all__ = [
    "HEADER",
    "MAX_KEY",
    "MIN_KEY",
    "PRUNE_LIMIT",
    "Idempotency",
    "Once",
    "keyed",
    "parse_key",
]

HEADER = "Idempotency-Key"
MIN_KEY, MAX_KEY = 16, 255
# Visible ASCII that needs no quoting anywhere (a UUID, hex, base64 or base64url all fit).
_KEY_RE = re.compile(r"^[A-Za-z0-9._~+/=:-]+$")
PRUNE_LIMIT = 5000  # expired keys deleted per sweep at most

Doc = dict[str, Any]


def _bad(message: str) -> IdempotencyKeyInvalid:
    return IdempotencyKeyInvalid([(HEADER, message)], f"invalid {HEADER} header; nothing stored")


def parse_key(values: list[str]) -> str | None:
    """The key sent in the request's ``Idempotency-Key`` headers, or None (none sent).

    The draft writes it as a structured-field string (``"8e03978e-..."``); a bare value,
    as most clients send it, is taken too.
    """
    if not values:
        return None
    if len(values) > 1:
        raise _bad(f"send one {HEADER} header, not {len(values)}")
    key = values[0].strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not MIN_KEY <= len(key) <= MAX_KEY:
        raise _bad(
            f"must be {MIN_KEY} to {MAX_KEY} characters long, not {len(key)} "
            "(a random UUID is a good key)"
        )
    if not _KEY_RE.match(key):
        raise _bad("may contain only letters, digits and . _ ~ + / = : -")
    return key


def _fingerprint(operation: str, target: str, request: Any) -> str:
    """What makes two requests the same: the operation, its target and the body, as JSON
    (key order and white space aside)."""
    text = json.dumps(
        [operation, target, request], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Once:
    """One write sent under a key: check it, store its answer, or answer from the store."""

    def __init__(
        self, scope: str, key: str, operation: str, fingerprint: str, ttl: timedelta
    ) -> None:
        self.scope = scope
        self.key = key
        self.operation = operation
        self.fingerprint = fingerprint
        self.ttl = ttl
        self.replayed = False  # answered from the store (set before the answer is given)

    def answer(self, row: Row | None, now: datetime) -> Doc | None:
        """The stored answer if `row` (this key's, or None) holds one for this request."""
        if row is None or str(row["expires_at"]) <= format_ts(now):
            return None
        if row["fingerprint"] != self.fingerprint:
            raise IdempotencyKeyReused(
                f"this {HEADER} was already used, at {row['created_at']}, for another "
                f"request ({row['operation']}, or another target or body); a key names one "
                "request: send a new key with a new request. Nothing was stored",
                header=HEADER,
            )
        self.replayed = True
        found: Doc = json.loads(row["response"])
        return found

    def wrap(self, change: Callable[[Tx], Doc]) -> Callable[[Tx], Doc]:
        """`change` run once per key: inside its transaction, the key's answer if it is
        stored already, else the change's, stored with it."""

        def run(tx: Tx) -> Doc:
            repo = tx.repo.idempotency
            row = repo.get(self.scope, self.key)
            found = self.answer(row, tx.now)
            if found is not None:
                return found
            if row is not None:  # expired, not pruned yet: the key is free again
                repo.delete(self.scope, self.key)
            result = change(tx)
            repo.insert(
                {
                    "scope": self.scope,
                    "key": self.key,
                    "operation": self.operation,
                    "fingerprint": self.fingerprint,
                    "response": json.dumps(result, separators=(",", ":"), ensure_ascii=False),
                    "created_at": tx.ts,
                    "expires_at": format_ts(tx.now + self.ttl),
                }
            )
            return result

        return run


def keyed(once: Once | None, change: Callable[[Tx], Doc]) -> Callable[[Tx], Doc]:
    """`change`, idempotent under `once` when the request carried a key."""
    return change if once is None else once.wrap(change)


class Idempotency:
    def __init__(self, store: Store, ttl_s: float, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.ttl = timedelta(seconds=ttl_s)
        self.clock = clock
        self.prune_limit = PRUNE_LIMIT

    def once(
        self, who: Principal, values: list[str], operation: str, target: str, request: Any
    ) -> Once | None:
        """The request's key (its ``Idempotency-Key`` header values), checked; None: none."""
        key = parse_key(values)
        if key is None:
            return None
        # a unit's key is its own, not its party's (`outbox`: the unit's id or the party's)
        return Once(who.outbox, key, operation, _fingerprint(operation, target, request), self.ttl)

    async def replayed(self, once: Once | None) -> Doc | None:
        """The stored answer of a retry, read before any work (the writer checks again)."""
        if once is None:
            return None

        def read() -> Row | None:
            with self.store.read() as repo:
                return repo.idempotency.get(once.scope, once.key)

        return once.answer(await asyncio.to_thread(read), self.clock())

    def prune(self, tx: Tx) -> int:
        """Delete expired keys, the oldest `prune_limit` at most (the leader's sweep, each
        second: a backlog goes in a few sweeps, none holding the write token long); how
        many."""
        return tx.repo.idempotency.prune(tx.ts, self.prune_limit)
