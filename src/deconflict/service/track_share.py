"""Live tracks across several hub processes on one database (issue 14).

A party's reports may reach any process (a proxy spreads them), but a loss of
separation between a track posted to one process and a track posted to another
must be found all the same. So every process passes on the states it accepted and
takes in everyone else's: each holds the whole picture (a party's `GET
/v1/tracks`, the jump check of its next report and its track limit see what the
other processes accepted), and the leader, the one process that screens, screens
all of it.

The channel is the database, like everything else between processes (no advisory
locks, no LISTEN/NOTIFY): a thread of each process writes what its reports changed
as one `track_batches` row every `track_share_interval_s`, numbered by a sequence
of its own, and reads the other processes' rows after the last it read of each.
One thread writes a process's rows one after another, so a reader's "above the
last I read" never skips a row. A row lost with its connection is written again
under the next number (merging is idempotent: a state replaces another only when
it is newer). Rows are pruned once older than twice `stale_after_s`, when every
track in them has gone stale anyway.

The delay this adds: a report accepted by one process is screened by the leader
about two intervals later (its write, the leader's read), 0.2 s by default,
plus the leader's quick pass. Those rows are written outside the write token,
in transactions of their own: tracks are not decided on, and are not in the ledger.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from deconflict.service.tactical import Tactical
from deconflict.store import Store, StoreUnavailable
from deconflict.tactical.tracks import TrackState, state_of, state_row

__all__ = ["TrackShare"]

log = logging.getLogger("deconflict.tactical")

# How often the rows of stale tracks are deleted (any process may; it is idempotent).
_PRUNE_EVERY_S = 10.0


class TrackShare:
    def __init__(self, store: Store, tactical: Tactical, origin: str, *, interval_s: float) -> None:
        self.store = store
        self.tactical = tactical
        self.origin = origin
        self.interval_s = interval_s
        self._outbox: dict[tuple[str, str], TrackState] = {}
        self._outbox_lock = threading.Lock()
        self._seq = 0
        # origin -> (the last seq read, the POSIX time it was written)
        self._cursors: dict[str, tuple[int, float]] = {}
        self._pruned_at = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.stats: dict[str, int] = {
            "batches_sent": 0,
            "states_sent": 0,
            "batches_read": 0,
            "states_taken": 0,
            "batches_damaged": 0,
        }

    def offer(self, states: list[TrackState]) -> None:
        """States this process just accepted, to be passed on (the latest of each track)."""
        if not states:
            return
        with self._outbox_lock:
            for s in states:
                self._outbox[(s.party, s.track_id)] = s

    # -- one step: send, then take ------------------------------------------
    def step(self) -> dict[str, int]:
        """Write what is waiting, read what the others wrote; counts of both."""
        sent = self._send()
        taken = self._take()
        now = self.tactical.now()
        if now - self._pruned_at >= _PRUNE_EVERY_S:
            self._pruned_at = now
            with self.store.write() as repo:
                repo.track_batches.prune(now - 2 * self.tactical.cfg.limits.stale_after_s)
        return {"sent": sent, "taken": taken}

    def _send(self) -> int:
        with self._outbox_lock:
            pending, self._outbox = self._outbox, {}
        if not pending:
            return 0
        self._seq += 1
        body = json.dumps([state_row(s) for s in pending.values()], separators=(",", ":"))
        try:
            with self.store.write() as repo:
                repo.track_batches.publish(self.origin, self._seq, self.tactical.now(), body)
        except BaseException:
            # Not written (or not known to be): send them again with what comes next,
            # unless a newer state of the same track came meanwhile. The next row takes
            # the next number, so a row that was committed after all is merely doubled.
            with self._outbox_lock:
                for key, s in pending.items():
                    self._outbox.setdefault(key, s)
            raise
        self.stats["batches_sent"] += 1
        self.stats["states_sent"] += len(pending)
        return len(pending)

    def _take(self) -> int:
        now = self.tactical.now()
        stale = self.tactical.cfg.limits.stale_after_s
        # An origin silent for longer than its rows are kept is forgotten; should it
        # write again, its rows are read from the horizon like a new origin's.
        self._cursors = {o: c for o, c in self._cursors.items() if c[1] >= now - 2 * stale}
        with self.store.read() as repo:
            rows = repo.track_batches.since(
                self.origin, {o: c[0] for o, c in self._cursors.items()}, now - stale
            )
        states: list[TrackState] = []
        for origin, seq, at, body in rows:
            self._cursors[origin] = (seq, at)
            try:
                states.extend(state_of(r) for r in json.loads(body))
            except ValueError:  # json's errors are ValueErrors too
                # Written by a hub process of the same operator: damage is an operator's
                # problem to see, not a reason to stop taking the others' tracks.
                self.stats["batches_damaged"] += 1
                log.error("track batch %s/%d is damaged; skipped", origin, seq)
        self.stats["batches_read"] += len(rows)
        taken = self.tactical.merge(states) if states else 0
        self.stats["states_taken"] += taken
        return taken

    # -- the background thread -----------------------------------------------
    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="track-share", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def status(self) -> dict[str, Any]:
        return {**self.stats, "origins": len(self._cursors)}

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.step()
            except StoreUnavailable as exc:  # the database is away: retried next tick
                log.warning("sharing tracks failed: %s (%s)", exc, exc.__cause__)
                time.sleep(min(1.0, self.interval_s * 5))
            except Exception:  # retried next tick
                log.exception("sharing tracks failed")
