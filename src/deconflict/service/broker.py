"""In-process wake-ups for live event streams.

The outbox table is the source of truth; the broker only tells waiting SSE
streams that rows were committed so they re-read at once instead of at the
next poll. Publishing happens on whichever thread committed; waiters live on
the server's event loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable

__all__ = ["Broker", "Subscription"]


class Subscription:
    def __init__(self, broker: Broker, party_id: str) -> None:
        self.party_id = party_id
        self._broker = broker
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()

    def _wake(self) -> None:
        self._loop.call_soon_threadsafe(self._event.set)

    async def wait(self, timeout: float) -> bool:
        """True if woken, False on timeout; re-arms itself."""
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            return False
        finally:
            self._event.clear()
        return True

    def close(self) -> None:
        self._broker._remove(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Broker:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: dict[str, set[Subscription]] = {}

    def subscribe(self, party_id: str) -> Subscription:
        sub = Subscription(self, party_id)
        with self._lock:
            self._subs.setdefault(party_id, set()).add(sub)
        return sub

    def _remove(self, sub: Subscription) -> None:
        with self._lock:
            subs = self._subs.get(sub.party_id)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[sub.party_id]

    def publish(self, party_ids: Iterable[str]) -> None:
        with self._lock:
            targets = [s for p in set(party_ids) for s in self._subs.get(p, ())]
        for sub in targets:
            try:
                sub._wake()
            except RuntimeError:  # the loop closed under a stream being torn down
                sub.close()

    def connected(self, party_id: str) -> bool:
        with self._lock:
            return bool(self._subs.get(party_id))
