"""Principals, tokens and the per-token rate limit.

A token is ``dcf_<key id>_<secret>``. Only the SHA-256 of the whole token is
stored; the key id finds the row without a timing side channel on the secret,
and the hashes are compared with `hmac.compare_digest`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from deconflict.service.errors import RateLimited

__all__ = [
    "ADMIN",
    "PARTY_ID_RE",
    "Principal",
    "RateLimiter",
    "hash_token",
    "new_token",
    "split_token",
    "tokens_equal",
]

PARTY_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_TOKEN_RE = re.compile(r"^dcf_([0-9a-f]{16})_([A-Za-z0-9_-]{20,100})$")
ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    party_id: str
    is_admin: bool = False
    unit: str | None = None  # issue 15: a unit's token (``party/name``), only /v1/unit/...
    token_key: str | None = None  # which of a unit's tokens: a rotated one ends its streams

    @property
    def outbox(self) -> str:
        """Whose event stream this principal reads: its party's, or its unit's own."""
        return self.unit or self.party_id


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> tuple[str, str]:
    """(key id, token)."""
    key_id = secrets.token_hex(8)
    return key_id, f"dcf_{key_id}_{secrets.token_urlsafe(32)}"


def split_token(token: str) -> str | None:
    """The key id of a well-formed party token, else None."""
    m = _TOKEN_RE.match(token)
    return m.group(1) if m else None


def tokens_equal(token: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_token(token).encode(), stored_hash.encode())


class RateLimiter:
    """A token bucket per principal: `rate` requests/s sustained, bursts up to `burst`.

    The paper check keys its buckets by client address, unauthenticated: one bucket per
    address ever seen would let anyone with many addresses (an IPv6 prefix is 2^64 of them)
    grow the process's memory without end. A bucket that has refilled is the same as none,
    so once there are `keep` of them or more, the full ones are dropped: what is kept is
    bounded by the addresses seen in one refill time (`burst / rate`), and no answer changes.
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        keep: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        per: str = "token",
    ) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.keep = keep
        self.clock = clock
        self.per = per  # what a bucket is for, as the 429 says
        self._buckets: dict[str, tuple[float, float]] = {}
        self._sweep_at = keep
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many buckets are held (the ones not refilled yet, and some that are)."""
        return len(self._buckets)

    def _sweep(self, now: float) -> None:
        """Drop the refilled buckets; sweep again when the rest has doubled (amortised)."""
        if self.rate > 0:  # else nothing ever refills
            full = now - self.burst / self.rate
            self._buckets = {k: v for k, v in self._buckets.items() if v[1] > full}
        self._sweep_at = max(self.keep, 2 * len(self._buckets))

    def take(self, key: str) -> None:
        now = self.clock()
        with self._lock:
            if len(self._buckets) >= self._sweep_at:
                self._sweep(now)
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                raise RateLimited(
                    f"more than {self.rate:g} requests/s (burst {self.burst:g}) "
                    f"for this {self.per}",
                    retry_after_s=(1.0 - tokens) / self.rate,
                )
            self._buckets[key] = (tokens - 1.0, now)
