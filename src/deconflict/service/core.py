"""The hub's shared machinery: lifecycle, the write path, parties and tokens.

Every change runs in `_write`: under one lock (which also guards the
in-memory strategic index), inside one durable store transaction. Events are
appended to the outbox in that same transaction; index changes and stream
wake-ups happen only after the commit, so nothing is announced or indexed
that could still be rolled back.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from deconflict.config import Settings
from deconflict.geo import Limits, parse_volumes
from deconflict.service.auth import (
    ADMIN,
    PARTY_ID_RE,
    Principal,
    RateLimiter,
    hash_token,
    new_token,
    split_token,
    tokens_equal,
)
from deconflict.service.broker import Broker
from deconflict.service.errors import Forbidden, Invalid, StateConflict, Unauthorized
from deconflict.store import Repo, Row, SqliteStore, Store, format_ts
from deconflict.strategic import BufferPolicy, Buffers, NoticeShape, StrategicIndex

__all__ = ["HubCore", "Tx", "must", "utcnow"]

log = logging.getLogger("deconflict.service")
T = TypeVar("T")
PROTECTED_SITE_PRIORITY = 1_000_000
# Stored notices were validated against the limits in force when they came in;
# re-reading them must not fail because an operator lowered a limit since.
_STORED = Limits(
    max_vertices=10**9, max_footprint_km=40_000.0, max_window_s=1e12, max_volumes=10**9
)


def must(row: T | None) -> T:
    """A row the current transaction has just written or locked; its absence is a bug."""
    if row is None:
        raise RuntimeError("row vanished inside its own transaction")
    return row


def utcnow() -> datetime:
    return datetime.now(UTC)


class Tx:
    """One write transaction as the use cases see it."""

    def __init__(self, repo: Repo, now: datetime) -> None:
        self.repo = repo
        self.now = now
        self.ts = format_ts(now)
        self.woken: set[str] = set()
        self.after_commit: list[Callable[[], None]] = []

    def emit(self, party_id: str, type_: str, data: dict[str, Any]) -> int:
        self.woken.add(party_id)
        return self.repo.append_event(party_id, type_, data, self.ts)


def shape_of(notice: Row) -> NoticeShape:
    """The engine's view of a stored notice (its normalised volumes re-parsed)."""
    volumes = parse_volumes(json.loads(notice["volumes"]), limits=_STORED)
    priority = PROTECTED_SITE_PRIORITY if notice["kind"] == "protected_site" else notice["priority"]
    return NoticeShape(
        id=notice["id"],
        issuer=notice["issuer"],
        kind=notice["kind"],
        volumes=volumes,
        version=notice["version"],
        priority=priority,
    )


class HubCore:
    def __init__(
        self,
        settings: Settings,
        store: Store | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.store = store if store is not None else SqliteStore(settings.db_path)
        self.clock = clock
        self.broker = Broker()
        self.rate = RateLimiter(settings.rate_per_s, settings.rate_burst)
        self.policy = BufferPolicy(
            default=Buffers(
                settings.lateral_buffer_m, settings.vertical_buffer_m, settings.time_buffer_s
            )
        )
        self.index = StrategicIndex(self.policy)
        self._lock = threading.RLock()
        self._parties: dict[str, Row] = {}
        self._keys: dict[str, str] = {}
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None
        self._admin_hash = hash_token(settings.admin_token) if settings.admin_token else None

    # -- lifecycle -----------------------------------------------------------
    def start(self, *, sweep: bool = True) -> None:
        self.store.migrate()
        self._load()
        if sweep:
            self._sweeper = threading.Thread(
                target=self._sweep_loop, name="hub-sweeper", daemon=True
            )
            self._sweeper.start()

    def close(self) -> None:
        self._stop.set()
        if self._sweeper is not None:
            self._sweeper.join(timeout=10)
            self._sweeper = None
        self.store.close()

    def __enter__(self) -> HubCore:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _load(self) -> None:
        """Rebuild what lives in memory (party cache, strategic index) from the store."""
        with self._lock:
            index = StrategicIndex(self.policy)
            with self.store.read() as repo:
                parties = repo.list_parties()
                for batch in repo.iter_active_notices():
                    for row in batch:
                        index.upsert(shape_of(row))
            self._parties = {p["id"]: p for p in parties}
            self._keys = {p["token_key_id"]: p["id"] for p in parties}
            self.index = index
        log.info("loaded %d parties and %d active notices", len(parties), len(index))

    def _sweep_loop(self) -> None:
        while not self._stop.wait(self.settings.sweep_interval_s):
            try:
                self.sweep()
            except Exception:  # a failed sweep is retried next tick, never fatal
                log.exception("sweep failed")

    def sweep(self) -> dict[str, int]:  # overridden by the use-case mixins
        return {}

    @property
    def closing(self) -> bool:
        return self._stop.is_set()

    def now(self) -> datetime:
        return self.clock()

    # -- the write path ------------------------------------------------------
    def _write(self, fn: Callable[[Tx], T]) -> T:
        with self._lock:
            with self.store.write() as repo:
                tx = Tx(repo, self.now())
                result = fn(tx)
            for action in tx.after_commit:
                action()
        if tx.woken:
            self.broker.publish(tx.woken)
        return result

    # -- principals ----------------------------------------------------------
    def authenticate(self, token: str | None) -> Principal:
        if not token:
            raise Unauthorized("missing bearer token")
        if self._admin_hash is not None and tokens_equal(token, self._admin_hash):
            return Principal(ADMIN, is_admin=True)
        key_id = split_token(token)
        if key_id is None:
            raise Unauthorized("malformed token")
        party_id = self._keys.get(key_id)
        party = self._parties.get(party_id) if party_id else None
        if party is None or not tokens_equal(token, party["token_hash"]):
            raise Unauthorized("unknown token")
        return Principal(party["id"])

    def check_rate(self, who: Principal) -> None:
        self.rate.take(who.party_id)

    @staticmethod
    def require_party(who: Principal, action: str) -> None:
        if who.is_admin:
            raise Forbidden(f"the hub operator does not {action}; use a party's token")

    def party_ids(self) -> set[str]:
        return set(self._parties)

    def list_parties(self, who: Principal) -> list[dict[str, Any]]:
        return [
            {"id": p["id"], "name": p["name"], "created_at": p["created_at"]}
            for p in sorted(self._parties.values(), key=lambda p: p["id"])
        ]

    def register_party(self, who: Principal, doc: Any) -> dict[str, Any]:
        if not who.is_admin:
            raise Forbidden("only the hub operator registers parties")
        errs = []
        if not isinstance(doc, dict):
            raise Invalid([("", "must be a JSON object")])
        for name in sorted(set(doc) - {"id", "name"}):
            errs.append((name, "unknown field"))
        party_id, name = doc.get("id"), doc.get("name")
        if not isinstance(party_id, str) or not PARTY_ID_RE.match(party_id):
            errs.append(("id", "must match [a-z0-9][a-z0-9-]{0,63}"))
        elif party_id in (ADMIN, "*"):
            errs.append(("id", f"{party_id!r} is reserved"))
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            errs.append(("name", "must be a non-empty string of at most 200 characters"))
        if errs:
            raise Invalid(errs)
        party_id, name = str(party_id), str(name)
        key_id, token = new_token()

        def run(tx: Tx) -> dict[str, Any]:
            if tx.repo.get_party(party_id) is not None:
                raise StateConflict(f"party {party_id!r} is already registered")
            row = {
                "id": party_id,
                "name": name,
                "token_key_id": key_id,
                "token_hash": hash_token(token),
                "public_key": None,
                "created_at": tx.ts,
            }
            tx.repo.insert_party(row)

            def cache() -> None:
                self._parties[party_id] = row
                self._keys[key_id] = party_id

            tx.after_commit.append(cache)
            return {"id": party_id, "name": name, "token": token, "created_at": tx.ts}

        return self._write(run)

    def ready(self) -> dict[str, Any]:
        with self.store.read() as repo:
            last = repo.last_event_seq()
        return {
            "status": "ok",
            "store": self.store.describe(),
            "parties": len(self._parties),
            "active_notices": len(self.index),
            "last_event_id": last,
        }
