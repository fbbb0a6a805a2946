"""Several hub processes on one database (issue 14): catching up, following, leading.

Every process answers every request. What makes that correct:

- **Writes are serialized by the database.** Each write batch takes the one-row write
  token first (`CoordinationRepo.take_write_token`, ``SELECT ... FOR UPDATE``) and holds
  it to its COMMIT; the token's generation numbers the batches in commit order. Event
  ids, ledger indices and notice versions are assigned under it, so they too follow
  commit order across processes.
- **A batch decides on the committed state.** If the token's generation is past the one
  this process last saw, `catch_up` runs first, inside the batch's transaction and under
  the token: the notices changed since (`hub_changes`) are read again into the strategic
  index, the party (and unit) directory is reloaded if one was changed, and the ledger's
  border is read again if the log grew. Two conflicting notices sent at the same moment
  to two processes are therefore decided one after the other, the second against the
  first.
- **Reads follow within a bounded delay.** `follow` (every `follow_interval_s`, and
  before every dry run on a shared store) does the same from a read snapshot, under this
  process's writer lock; a token registered through another process is honoured here
  within `follow_interval_s`.
- **Periodic work runs on one leader**: escalation, expiry and head signing run on the
  process that holds the lease row (`hub_leader`), renewed every third of
  `leader_lease_s`; when it dies the lease expires and another process takes it within
  `leader_lease_s` plus one renewal. The lease is only an economy: every sweep runs as a
  write batch under the token, on state in the database, so a deposed leader's late
  sweep does nothing twice. Leases are judged on the processes' clocks (UTC): they must
  agree to well within `leader_lease_s`. A lease that runs out further ahead than any
  holder could have renewed it (`Follower.implausible_after`: twice `leader_lease_s` past
  now) was not written by a hub: it is taken over as if expired, and a process starting
  beside it does not take it for a running hub (see `Hub._load`).

No correctness rests on advisory locks or LISTEN/NOTIFY; there are none.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta

from deconflict.service.index import NoticeIndex
from deconflict.service.ledger import Ledger
from deconflict.service.parties import Parties
from deconflict.service.writer import Writer
from deconflict.store import CHANGES_PRUNED, Repo, Store, StoreUnavailable
from deconflict.utc import format_ts

__all__ = ["Follower"]

log = logging.getLogger("deconflict.service")


class Follower:
    def __init__(
        self,
        store: Store,
        writer: Writer,
        index: NoticeIndex,
        parties: Parties,
        ledger: Ledger,
        clock: Callable[[], datetime],
        *,
        interval_s: float,
        lease_s: float,
        keep_s: float = 600.0,
    ) -> None:
        self.store = store
        self.writer = writer
        self.index = index
        self.parties = parties
        self.ledger = ledger
        self.clock = clock
        self.interval_s = interval_s
        self.lease_s = lease_s
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.leading = False
        self.caught_up = 0  # catch-ups that found another process's changes (statistics)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._renewed = 0.0
        # What else a process holds in memory, by the kind of change (`Tx.changed`) that
        # makes it reload: the party directory here, the units' directory (issue 15) added
        # by the hub. Notices are followed one by one (`NoticeIndex.follow`).
        self.reloads: dict[str, Callable[[Repo], None]] = {"party": parties.load}
        writer.catch_up = self.catch_up
        self.keep_s = keep_s
        # (monotonic time, generation) as the leader's sweeps saw them: what `prune` needs
        # to turn "older than keep_s" into a generation (the log holds no times).
        self._marks: deque[tuple[float, int]] = deque()
        self._pruned_below = 0

    # -- catching up ---------------------------------------------------------
    def catch_up(self, repo: Repo, since: int) -> None:
        """Bring what this process holds in memory up to `repo`'s snapshot from generation
        `since` (the caller holds the writer's lock)."""
        changes = repo.coordination.changed_since(since)
        kinds = {kind for kind, _ in changes}
        if CHANGES_PRUNED in kinds:
            # Behind the pruned log (suspended or cut off for longer than changes_keep_s):
            # what changed is no longer listed, so everything is read again.
            log.warning(
                "this process saw generation %d last, before the change log's pruned "
                "horizon: reloading its index, parties and units whole",
                since,
            )
            self.index.load(repo, 1)
            kinds = set(self.reloads)
        else:
            notices = [key for kind, key in changes if kind == "notice"]
            if notices:
                self.index.follow(repo, notices)
        for kind in sorted(kinds & set(self.reloads)):
            self.reloads[kind](repo)
        if repo.ledger.size() != self.ledger.tree.frontier.size:
            self.ledger.tree.open(repo.ledger)
        self.caught_up += 1

    def follow(self) -> None:
        """Catch up with what other processes committed (a no-op when none did)."""
        with self.writer.lock, self.store.read() as repo:
            generation = repo.coordination.generation()
            if generation != self.writer.generation:
                self.catch_up(repo, self.writer.generation)
                self.writer.generation = generation

    # -- leading -------------------------------------------------------------
    def implausible_after(self, now: datetime) -> str:
        """The latest expiry an honest holder's renewal can have written by `now` (with
        the clock skew the lease tolerates); a lease expiring after it was forged or
        edited, and stands for no running process."""
        return format_ts(now + timedelta(seconds=2 * self.lease_s))

    def renew(self) -> bool:
        """Take or renew the lease; whether this process leads."""
        now = self.clock()
        with self.store.write() as repo:
            held = repo.coordination.lease(
                self.holder,
                format_ts(now),
                format_ts(now + timedelta(seconds=self.lease_s)),
                self.implausible_after(now),
            )
        if held and not self.leading:  # every start takes it: worth a line, not a warning
            log.info("took the lead (%s)", self.holder)
        elif self.leading and not held:  # another process took over while this one lived
            log.warning("lost the lead (%s)", self.holder)
        self.leading = held
        self._renewed = time.monotonic()
        return held

    def prune(self, repo: Repo) -> int:
        """Inside the leader's sweep: forget the changes written more than `keep_s` ago
        (no process still follows from there). Returns the generation pruned below (0:
        nothing yet; a new leader keeps everything for its first `keep_s`)."""
        now = time.monotonic()
        self._marks.append((now, self.writer.generation))
        below = 0
        while self._marks and now - self._marks[0][0] >= self.keep_s:
            below = self._marks.popleft()[1]
        if below > self._pruned_below:
            repo.coordination.prune_changes(below)
            self._pruned_below = below
        return self._pruned_below

    def holds_lease(self, repo: Repo, ts: str) -> bool:
        """Inside a write batch: whether this process holds the lease at `ts`."""
        holder, expires = repo.coordination.leader()
        return holder == self.holder and expires > ts

    # -- the background thread -----------------------------------------------
    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="hub-follower", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self.leading:  # hand over at once rather than after the lease expires
            try:
                with self.store.write() as repo:
                    repo.coordination.release(self.holder)
            except Exception:  # the lease expires by itself
                log.exception("releasing the lead failed")
            self.leading = False

    def _loop(self) -> None:
        while True:
            try:
                if time.monotonic() - self._renewed >= self.lease_s / 3:
                    self.renew()
                self.follow()
            except StoreUnavailable as exc:  # the database is away: retried next tick
                self.leading = False
                log.warning("following the database failed: %s (%s)", exc, exc.__cause__)
            except Exception:  # retried next tick
                self.leading = False
                log.exception("following the database failed")
            if self._stop.wait(min(self.interval_s, self.lease_s / 3)):
                return
