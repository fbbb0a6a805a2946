"""Tactical use cases: ingest tracks, screen them, raise/update/clear/acknowledge alerts.

State: tracks are in memory only (`TrackTable`; they are high-rate and stale
within seconds; a restart starts with an empty picture). Alerts are
persisted: every raise, update, acknowledgement, escalation and clearing is
one change through the hub's writer (`Writer.submit`), together with the
events that announce it on each involved party's stream. After a restart the
alerts still active are taken back and cleared once their tracks stay absent.
With several processes on one database (issue 14, `TrackShare`), each holds every
process's tracks, only the leader screens, and a process that takes the lead takes
the stored alerts back in the same way.

The screening loop runs every ``screen_interval_s`` (1 Hz by default) in its
own thread: prune stale tracks, snapshot, screen, digest, write, escalate.

Between cycles, a quick screen keeps a new conflict from waiting for the next
one: ingestion marks each track whose report changed its prediction (a new
track, a manoeuvre, a jump; not a report that merely confirms where the track
was going), and a second thread screens the marked tracks against the whole
picture at most every ``quick_interval_s`` (50 ms by default), coalescing
whatever arrived meanwhile. It may raise and update alerts through the same
alert book and write path, never clear them: clearing, with its hysteresis,
stays the cycle's. Each pass screens its own snapshot without locks, then
holds one lock (``book_lock``) while it digests its findings in the alert book
and hands the transitions to the writer, so the two never interleave on the book; a pass
whose snapshot is older than what the book already holds yields to it (a quick
pass older than the last cycle is dropped; a cycle leaves alone the alerts a
newer quick pass raised or updated), so a slow cycle neither delays a quick
alert nor undoes it.

Neither pass waits for the writer, nor the writer for them (issue 19): intrusions
are screened against a snapshot of the notice index (`NoticeIndex.snapshot`:
every notice whose submission was answered before the pass began, nothing of a
batch in flight), not under the writer's lock; and the transitions a pass hands
over are written by a thread of their own (``tactical-writes``), in order, in one
change per batch of them, while the next pass screens.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from deconflict.service.auth import Principal
from deconflict.service.errors import Forbidden, Invalid, NotFound
from deconflict.service.event_types import (
    ALERT_ACKNOWLEDGED,
    ALERT_CLEARED,
    ALERT_RAISED,
    ALERT_UNACKNOWLEDGED,
    ALERT_UPDATED,
    EventType,
    View,
)
from deconflict.service.ids import new_id
from deconflict.service.index import NoticeIndex
from deconflict.service.ledger import Ledger
from deconflict.service.tx import Tx
from deconflict.service.writer import Writer
from deconflict.store import Row, Store
from deconflict.tactical.alerts import Alert, AlertBook, Transition, party_view
from deconflict.tactical.changes import PathTolerance, path_changed
from deconflict.tactical.cycle import (
    CycleFindings,
    SeparationMemory,
    find_intrusions,
    find_quick,
    find_separations,
)
from deconflict.tactical.grid import warm_up  # issue 19
from deconflict.tactical.settings import TacticalSettings
from deconflict.tactical.tracks import TrackState, TrackTable
from deconflict.utc import epoch_of, format_epoch

__all__ = ["Tactical"]

log = logging.getLogger("deconflict.tactical")
ALERT_STATES = ("active", "cleared")
ALERT_KINDS = ("separation", "intrusion", "nonconformance")
# A report "changes" its track (and earns it a quick screen) when it moves the
# track's predicted path, anywhere within the lookahead, by more than this
# share of the smallest minima configured; see `path_changed`.
QUICK_CHANGE_SHARE = 0.05


# The alert writer (`Tactical._write_loop`): what goes first, and how much at once.
_URGENT = frozenset({"raised", "escalated"})
_WRITE_CHUNK = 256

_ALERT_EVENTS: dict[str, EventType[View]] = {
    "raised": ALERT_RAISED,
    "updated": ALERT_UPDATED,
    "cleared": ALERT_CLEARED,
}


def _new_alert_id() -> str:
    return new_id("a")


class Tactical:
    def __init__(
        self,
        settings: TacticalSettings,
        *,
        writer: Writer,
        store: Store,
        index: NoticeIndex,
        ledger: Ledger,
        clock: Callable[[], datetime],
    ) -> None:
        self.cfg = settings
        self.writer = writer
        self.store = store
        self.index = index
        self.ledger = ledger
        self.clock = clock
        self.tracks = TrackTable(self.cfg.limits)
        self.book = AlertBook(
            clear_cycles=self.cfg.clear_cycles,
            update_interval_s=self.cfg.update_interval_s,
            new_id=_new_alert_id,
        )
        self._cycle_lock = threading.Lock()  # one cycle at a time
        # Incremental cycles (issue 19): the cycle's separation screens, kept between
        # cycles (the quick pass screens only its changed tracks and needs none).
        self.memory = (
            SeparationMemory(self.cfg.full_interval_s, self.cfg.incremental_tolerance)
            if self.cfg.full_interval_s > 0
            else None
        )
        self._quick_lock = threading.Lock()  # one quick pass at a time
        self.book_lock = threading.Lock()  # the alert book and its writes: one pass at a time
        self.book_time = -math.inf  # snapshot time of the latest cycle digested by the book
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._addressees: dict[tuple[str, int], list[str]] = {}
        self.stats: dict[str, float] = {
            "cycles": 0,
            "last_cycle_s": 0.0,
            "max_cycle_s": 0.0,
            "quick_runs": 0,
            "quick_tracks": 0,
            "last_quick_s": 0.0,
            "max_quick_s": 0.0,
            "writes_queued_max": 0,
            "writes_pending": 0,  # transitions handed over, not yet written
            "updates_superseded": 0,  # updates dropped for a later row of the same alert
            "last_raise_write_s": 0.0,  # a raise handed to the writer until committed
            "max_raise_write_s": 0.0,
            "full_passes": 0,  # separation runs screened in full (incremental cycles)
            "incremental_runs": 0,  # ... and incrementally
            "writes_fenced": 0,  # transitions dropped: written after the lead was lost
        }
        # Tracks whose latest report changed their prediction since the last pass.
        self._changed: set[tuple[str, str]] = set()
        self._changed_lock = threading.Lock()
        self._wake = threading.Event()
        self._quick_thread: threading.Thread | None = None
        # Alert transitions on their way to the writer (issue 19: a pass never waits
        # behind a batch of submits to write them); None stops the thread.
        self._writes: queue.SimpleQueue[list[_Write] | None] = queue.SimpleQueue()
        self._write_thread: threading.Thread | None = None
        profiles = [*self.cfg.profiles.values(), *self.cfg.pair_profiles.values()]
        self.path_tolerance = PathTolerance(
            QUICK_CHANGE_SHARE * min(p.h_sep_m for p in profiles),
            QUICK_CHANGE_SHARE * min(p.v_sep_m for p in profiles),
            max(p.lookahead_s for p in profiles),
        )
        # Called with (alert id, party, event type, hub time) after each commit (benchmarks).
        self.on_event: Callable[[str, list[str], str, float], None] | None = None
        # Several processes on one database (issue 14; the hub wires these, see
        # `TrackShare`): where accepted states go to be passed on, whether this process
        # is the one that screens, and, inside an alert write, whether it still is.
        self.publish: Callable[[list[TrackState]], None] | None = None
        self.leads: Callable[[], bool] = lambda: True
        self.fence: Callable[[Tx], bool] | None = None
        self._leading = True  # as of the last cycle; a process that takes over re-reads the book

    # -- lifecycle -----------------------------------------------------------
    def start(self, *, loop: bool = True) -> None:
        with self.store.read() as repo:
            rows = repo.alerts.active()
        for row in rows:
            self.book.adopt(self._alert_of(row))
        if loop:
            # issue 19: load (or compile) the screening kernels now, not inside the
            # first cycle, where a compile would hold the GIL for seconds.
            began = time.perf_counter()
            warm_up()
            took = time.perf_counter() - began
            if took > 2.0:  # a compile, not a load from the cache: say why the start was slow
                log.info("compiled the screening kernels in %.0f s (cached for later starts)", took)
            self._write_thread = threading.Thread(
                target=self._write_loop, name="tactical-writes", daemon=True
            )
            self._write_thread.start()
            self._thread = threading.Thread(target=self._loop, name="tactical", daemon=True)
            self._thread.start()
            if self.cfg.quick_interval_s > 0:
                self._quick_thread = threading.Thread(
                    target=self._quick_loop, name="tactical-quick", daemon=True
                )
                self._quick_thread.start()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        for thread in (self._thread, self._quick_thread):
            if thread is not None:
                thread.join(timeout=10)
        self._thread = self._quick_thread = None
        if self._write_thread is not None:  # after the passes: what they found is written
            self._writes.put(None)
            self._write_thread.join(timeout=30)
            self._write_thread = None

    def now(self) -> float:
        return self.clock().timestamp()

    def _loop(self) -> None:
        # One replica of the notice index for the cycle, one for the quick pass: built
        # here, not in `start` (a few seconds per 100k notices), before the first cycle.
        try:
            self.index.prepare_snapshots(2)
        except Exception:  # the passes build their own when they first need one
            log.exception("preparing index snapshots failed")
        interval = self.cfg.screen_interval_s
        next_at = time.monotonic()
        while not self._stop.is_set():
            next_at += interval
            try:
                if self.leads():
                    if not self._leading:
                        self.take_over()
                    self.cycle()
                else:  # another process screens; this one keeps its picture trim
                    self._leading = False
                    self.tracks.prune(self.now())
            except Exception:  # a failed cycle is retried at the next tick, never fatal
                log.exception("screening cycle failed")
            delay = next_at - time.monotonic()
            if delay < 0:  # overran: start the next cycle now, do not pile up
                next_at = time.monotonic()
                delay = 0
            if self._stop.wait(delay):
                return

    def _quick_loop(self) -> None:
        interval = self.cfg.quick_interval_s
        last = -math.inf
        while not self._stop.is_set():
            if not self._wake.wait(1.0):
                continue
            # Coalesce: whatever arrives until the interval is up joins this pass.
            delay = last + interval - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            if self._stop.is_set():
                return
            self._wake.clear()
            last = time.monotonic()
            if not self.leads() or not self._leading:  # the leader's cycle takes over first
                with self._changed_lock:
                    self._changed.clear()
                continue
            try:
                self.quick()
            except Exception:  # the cycle screens everything anyway; never fatal
                log.exception("quick screen failed")

    # -- ingestion -----------------------------------------------------------
    async def ingest(self, who: Principal, doc: Any) -> dict[str, Any]:
        """A batch of the caller's own track reports; each accepted or rejected on its own."""
        result: dict[str, Any] = await asyncio.to_thread(self.ingest_now, who, doc)
        return result

    def ingest_now(self, who: Principal, doc: Any) -> dict[str, Any]:
        """`ingest` on the caller's thread (the screening state is locked, not the loop's)."""
        if who.is_admin:
            raise Forbidden("the hub operator reports no tracks; use a party's token")
        if isinstance(doc, dict) and set(doc) <= {"reports"}:
            reports = doc.get("reports")
        elif isinstance(doc, list):
            reports = doc
        else:
            raise Invalid([("", 'must be {"reports": [...]} or a JSON array of reports')])
        if not isinstance(reports, list):
            raise Invalid([("reports", "must be an array of track reports")])
        prefix = "reports" if isinstance(doc, dict) else ""
        party = who.party_id
        outcomes, applied = self.tracks.ingest_batch(party, reports, self.now(), self.cfg.max_batch)
        tolerance = self.path_tolerance
        changed = {tid for tid, (was, now) in applied.items() if path_changed(was, now, tolerance)}
        if applied and self.publish is not None:
            self.publish([now for _, now in applied.values()])
        if changed:
            with self._changed_lock:
                self._changed.update((party, tid) for tid in changed)
            self._wake.set()
        accepted, rejected = [], []
        for o in outcomes:
            if o.status == "rejected":
                for path, reason in o.errors:
                    rejected.append(
                        {
                            "index": o.index,
                            "track_id": o.track_id,
                            "path": _join(f"body.{prefix}" if prefix else "body", o.index, path),
                            "reason": reason,
                        }
                    )
            else:
                accepted.append({"index": o.index, "track_id": o.track_id, "status": o.status})
        return {
            "accepted": accepted,
            "rejected": rejected,
            "accepted_count": len(accepted),
            "rejected_count": len({r["index"] for r in rejected}),
        }

    def merge(self, states: list[TrackState]) -> int:
        """States another process accepted (issue 14): taken when newer than ours, and
        screened at once like this process's own when they change a prediction."""
        before = {(s.party, s.track_id): self.tracks.get(s.party, s.track_id) for s in states}
        taken = self.tracks.merge(states, self.now())
        changed = {
            (s.party, s.track_id)
            for s in taken
            if path_changed(before.get((s.party, s.track_id)), s, self.path_tolerance)
        }
        if changed:
            with self._changed_lock:
                self._changed.update(changed)
            self._wake.set()
        return len(taken)

    def share(
        self,
        *,
        publish: Callable[[list[TrackState]], None],
        leads: Callable[[], bool],
        fence: Callable[[Tx], bool],
    ) -> None:
        """Run as one of several processes on one database (issue 14): pass accepted
        states to `publish`, screen only while `leads()`, write alerts only while `fence`
        holds inside the write; the first cycle it leads starts from the stored alerts."""
        self.publish, self.leads, self.fence = publish, leads, fence
        self._leading = False

    def take_over(self) -> None:
        """This process has become the one that screens: start from the alerts as the
        database has them (raised by the previous leader, acknowledged anywhere), not
        from what this process last held, and screen in full first."""
        with self._cycle_lock, self.book_lock:
            with self.store.read() as repo:
                rows = repo.alerts.active()
            book = AlertBook(
                clear_cycles=self.cfg.clear_cycles,
                update_interval_s=self.cfg.update_interval_s,
                new_id=_new_alert_id,
            )
            for row in rows:
                book.adopt(self._alert_of(row))
            self.book = book
            self.book_time = -math.inf
            if self.memory is not None:
                self.memory = SeparationMemory(
                    self.cfg.full_interval_s, self.cfg.incremental_tolerance
                )
            self._leading = True
        log.info("screening here now, with %d active alerts taken over", len(rows))

    def my_tracks(self, who: Principal) -> dict[str, Any]:
        if who.is_admin:
            return {"tracks": [], "count": len(self.tracks)}
        states = sorted(self.tracks.tracks_of(who.party_id), key=lambda s: s.track_id)
        return {"tracks": [s.public() for s in states], "count": len(states)}

    # -- the screening cycle -------------------------------------------------
    def cycle(self, now: float | None = None) -> dict[str, Any]:
        with self._cycle_lock:
            started = time.perf_counter()
            t = self.now() if now is None else now
            with self._changed_lock:  # this cycle screens them all anyway
                self._changed.clear()
            self.tracks.prune(t)
            snap = self.tracks.snapshot(t)
            found = CycleFindings()
            find_separations(snap, self.cfg, found, memory=self.memory)
            if self.memory is not None:
                self.stats["full_passes"] = self.memory.stats["full"]
                self.stats["incremental_runs"] = self.memory.stats["incremental"]
            if len(snap) and (self.cfg.intrusion or self.cfg.nonconformance_parties):
                with self.index.snapshot() as index:  # not the writer's lock (issue 19)
                    find_intrusions(snap, self.cfg, index, self._addressed, found)
            live = set(snap.keys)

            def reason(alert: Alert) -> str:
                k = alert.key
                tracks = [(k[1], k[2]), (k[3], k[4])] if k[0] == "separation" else [(k[1], k[2])]
                return "clear" if all(tr in live for tr in tracks) else "track_lost"

            with self.book_lock:
                # Alerts a quick pass raised or updated from a newer snapshot
                # than ours: keep them as they are (held, not re-judged).
                newer = {k for k, a in self.book.active.items() if a.updated_at > t}
                strict = [f for f in found.strict if f.key not in newer]
                transitions = self.book.cycle(t, strict, found.held | newer, reason)
                self.book_time = max(self.book_time, t)
                escalations = self._due_escalations(t)
                if transitions or escalations:
                    self._persist(transitions, escalations)
            elapsed = time.perf_counter() - started
            self.stats["cycles"] += 1
            self.stats["last_cycle_s"] = elapsed
            self.stats["max_cycle_s"] = max(self.stats["max_cycle_s"], elapsed)
            return {
                "tracks": len(snap),
                "transitions": len(transitions),
                "escalations": len(escalations),
                "elapsed_s": elapsed,
            }

    def quick(self, now: float | None = None) -> dict[str, Any]:
        """Screen the tracks changed since the last pass against the whole picture.

        Raises and updates alerts (same book, same write path as the cycle);
        never clears one, never advances the cycle's clearing count.
        """
        with self._quick_lock:
            with self._changed_lock:
                keys, self._changed = self._changed, set()
            if not keys:
                return {"tracks": 0, "changed": 0, "transitions": 0, "elapsed_s": 0.0}
            started = time.perf_counter()
            t = self.now() if now is None else now
            snap = self.tracks.snapshot(t, rows_of=keys)
            changed = snap.rows
            if self.cfg.intrusion or self.cfg.nonconformance_parties:
                with self.index.snapshot() as index:
                    found = find_quick(snap, changed, self.cfg, index, self._addressed)
            else:
                found = find_quick(snap, changed, self.cfg, None, self._addressed)
            transitions: list[Transition] = []
            with self.book_lock:
                # A cycle that screened a newer snapshot (these reports included)
                # has had its say: ours is out of date.
                if t >= self.book_time:
                    newer = {k for k, a in self.book.active.items() if a.updated_at > t}
                    strict = [f for f in found.strict if f.key not in newer]
                    transitions = self.book.raise_only(t, strict)
                    if transitions:
                        self._persist(transitions, [])
            elapsed = time.perf_counter() - started
            self.stats["quick_runs"] += 1
            self.stats["quick_tracks"] += len(changed)
            self.stats["last_quick_s"] = elapsed
            self.stats["max_quick_s"] = max(self.stats["max_quick_s"], elapsed)
            return {
                "tracks": len(snap),
                "changed": len(changed),
                "transitions": len(transitions),
                "elapsed_s": elapsed,
            }

    def _addressed(self, notice_id: str, party: str) -> bool:
        shape = self.index.get(notice_id)
        version = shape.version if shape is not None else 0
        key = (notice_id, version)
        if key not in self._addressees:
            with self.store.read() as repo:
                row = repo.notices.get(notice_id)
            self._addressees[key] = json.loads(row["addressees"]) if row else []
        addressees = self._addressees[key]
        return "*" in addressees or party in addressees

    def _due_escalations(self, now: float) -> list[tuple[Alert, str]]:
        due = []
        for alert in list(self.book.active.values()):
            if now - alert.raised_at < self.cfg.escalate_after_s:
                continue
            for p in alert.parties:
                if p not in alert.acks and p not in alert.escalated:
                    due.append((alert, p))
        return due

    def _persist(self, transitions: list[Transition], escalations: list[tuple[Alert, str]]) -> None:
        """Hand the alert book's transitions to the writer (the caller holds ``book_lock``).

        The rows are taken now, as the book has them, so a later transition of the
        same alert cannot change what this one writes. While the loop runs they are
        written by a thread of their own (`_write_loop`), in the order they came, and
        the screening goes on meanwhile; otherwise (a cycle run by hand) at once.
        """
        writes: list[_Write] = []
        for tr in transitions:
            a = tr.alert
            row = self._row(a, "cleared" if tr.action == "cleared" else "active", tr.reason)
            writes.append(_Write(tr.action, a.id, _uniq(a.parties), row, tr.reason, None))
        for a, p in escalations:
            a.escalated.add(p)  # now, so that the next pass does not escalate it again
            writes.append(
                _Write("escalated", a.id, _uniq(a.parties), self._row(a, "active", None), None, p)
            )
        if not writes:
            return
        if self._write_thread is not None:
            self._writes.put(writes)
            self.stats["writes_queued_max"] = max(
                self.stats["writes_queued_max"], self._writes.qsize()
            )
        else:
            self._write(writes)

    def _write_loop(self) -> None:
        """Write what the passes hand over: new alerts first, then the rest, in chunks.

        A raise (or an escalation) is what someone waits for; the updates of a few
        thousand standing alerts are not. So what is queued is split as it comes:
        raises and escalations, in their order, are written before anything else,
        the rest after them; both in changes of at most `_WRITE_CHUNK`, looking for
        new raises between changes. An alert's raise is always queued before its
        updates and its clearing, so the order per alert holds. When updates pile
        up (the writer busier than the alerts change), an update followed by a later
        update or the clearing of the same alert is dropped: the later row holds it.
        """
        urgent: deque[_Write] = deque()
        rest: deque[_Write] = deque()
        stop = False
        while True:
            idle = not urgent and not rest
            stop = self._take(urgent, rest, block=idle and not stop) or stop
            if not urgent and not rest:
                self.stats["writes_pending"] = 0
                if stop:
                    return
                continue
            if urgent:
                chunk = [urgent.popleft() for _ in range(min(len(urgent), _WRITE_CHUNK))]
            else:
                if len(rest) > _WRITE_CHUNK:
                    rest = self._superseded_dropped(rest)
                chunk = [rest.popleft() for _ in range(min(len(rest), _WRITE_CHUNK))]
            self.stats["writes_pending"] = len(urgent) + len(rest) + len(chunk)
            self._write_logged(chunk)

    def _take(self, urgent: deque[_Write], rest: deque[_Write], *, block: bool) -> bool:
        """Move what is queued into the two lines (waiting for it if ``block``); stop?"""
        try:
            item = self._writes.get() if block else self._writes.get_nowait()
            while True:
                if item is None:
                    return True
                for w in item:
                    (urgent if w.action in _URGENT else rest).append(w)
                item = self._writes.get_nowait()
        except queue.Empty:
            return False

    def _superseded_dropped(self, rest: deque[_Write]) -> deque[_Write]:
        later: set[str] = set()
        kept: list[_Write] = []
        for w in reversed(rest):
            if w.action == "updated" and w.alert_id in later:
                self.stats["updates_superseded"] += 1
                continue
            if w.action in ("updated", "cleared"):
                later.add(w.alert_id)
            kept.append(w)
        kept.reverse()
        return deque(kept)

    def _write_logged(self, writes: list[_Write]) -> None:
        try:
            self._write(writes)
        except Exception:  # the book has moved on; the next transition rewrites the row
            log.exception("writing alert transitions failed")

    def _write(self, writes: list[_Write]) -> None:
        sent: list[tuple[str, list[str], str]] = []

        def run(tx: Tx) -> None:
            if self.fence is not None and not self.fence(tx):
                # No longer the process that screens: the new leader writes from the
                # database's alerts; writing this pass's view as well would fork them.
                self.stats["writes_fenced"] += len(writes)
                return
            alerts = tx.repo.alerts
            # Acknowledgements as stored: an escalation is for a party that has not
            # acknowledged by the time it is written (not by the time it was found), and
            # with several processes an acknowledgement may have come through another.
            shared = self.store.shared
            acks = alerts.acks_of(
                [
                    w.alert_id
                    for w in writes
                    if w.action == "escalated" or (shared and w.action not in ("marker", "raised"))
                ]
            )
            updates: list[Row] = []  # consecutive updates, run as one statement
            for w in writes:
                row = w.row
                if w.action == "marker":
                    continue
                if w.alert_id in acks:  # acknowledged through another process, perhaps
                    row = {**row, "acks": self._acks_taken(w.alert_id, row, acks[w.alert_id])}
                if w.action == "escalated":
                    overdue = str(w.party)
                    if any(a["party_id"] == overdue and a["acknowledged_at"] for a in row["acks"]):
                        continue  # acknowledged meanwhile: nobody is overdue
                    alerts.update_many(updates)
                    updates.clear()
                    alerts.record_ack(w.alert_id, overdue, escalated_at=tx.ts)
                    for q in w.parties:
                        view = {**self.view(row, q), "unacknowledged_by": overdue}
                        tx.emit(q, ALERT_UNACKNOWLEDGED, view)
                    sent.append((w.alert_id, w.parties, ALERT_UNACKNOWLEDGED.name))
                    continue
                if w.action == "raised":
                    alerts.update_many(updates)  # the updates found before it go first
                    updates.clear()
                    alerts.insert({**row, "detail": json.dumps(row["detail"])}, w.parties)
                else:
                    updates.append({**row, "id": w.alert_id, "detail": json.dumps(row["detail"])})
                event = _ALERT_EVENTS[w.action]
                if w.action in ("raised", "cleared"):
                    self.ledger.log(
                        tx,
                        event.name,
                        alert_id=w.alert_id,
                        kind=row["kind"],
                        parties=w.parties,
                        severity=row["severity"],
                        # the screening's own time, which the alert shows (issue 12)
                        **{f"{w.action}_at": row[f"{w.action}_at"]},
                        **({"reason": w.reason} if w.reason else {}),
                    )
                for p in w.parties:
                    tx.emit(p, event, self.view(row, p))
                sent.append((w.alert_id, w.parties, event.name))
            alerts.update_many(updates)

        try:
            if any(w.action != "marker" for w in writes):
                self.writer.submit(run)
                # how long a new alert waited between its pass and its COMMIT
                waits = [time.perf_counter() - w.queued_at for w in writes if w.action == "raised"]
                if waits:
                    self.stats["last_raise_write_s"] = max(waits)
                    self.stats["max_raise_write_s"] = max(self.stats["max_raise_write_s"], *waits)
        finally:
            for w in writes:
                if w.done is not None:
                    w.done.set()
        hook = self.on_event
        if hook is not None:
            t = time.time()
            for alert_id, parties, event in sent:
                hook(alert_id, parties, event, t)

    def _acks_taken(self, alert_id: str, row: Row, stored: list[Row]) -> list[Row]:
        """The acknowledgements as stored, into the row to write and into the book."""
        alert = self.book.by_id.get(alert_id)
        if alert is not None:
            for a in stored:
                if a["acknowledged_at"]:
                    alert.acks.setdefault(a["party_id"], a["acknowledged_at"])
        by_party = {a["party_id"]: a for a in stored}
        return [
            {**a, "acknowledged_at": by_party.get(a["party_id"], a)["acknowledged_at"]}
            for a in row["acks"]
        ]

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until the transitions handed to the writer so far are written (tests)."""
        if self._write_thread is None:
            return
        done = threading.Event()
        self._writes.put([_Write("marker", "", [], {}, None, None, done)])
        if not done.wait(timeout):
            raise TimeoutError("alert writes still queued")

    # -- rows and views ------------------------------------------------------
    def _row(self, a: Alert, state: str, reason: str | None) -> Row:
        parties = list(a.parties)
        return {
            "id": a.id,
            "kind": a.kind,
            "key": json.dumps(list(a.key)),
            "party_a": parties[0],
            "party_b": parties[1] if len(parties) > 1 and parties[1] != parties[0] else None,
            "state": state,
            "severity": a.severity,
            "revision": a.revision,
            "detail": a.described(),
            "raised_at": format_epoch(a.raised_at),
            "updated_at": format_epoch(a.updated_at),
            "cleared_at": format_epoch(a.updated_at) if state == "cleared" else None,
            "clear_reason": reason,
            "acks": [
                {
                    "party_id": p,
                    "acknowledged_at": a.acks.get(p),
                    "comment": None,
                    "escalated_at": None,
                }
                for p in _uniq(a.parties)
            ],
        }

    def _alert_of(self, row: Row) -> Alert:
        parties = (row["party_a"],) if row["party_b"] is None else (row["party_a"], row["party_b"])
        detail = row["detail"]
        if row["kind"] == "separation":
            parties = (detail["a"]["party"], detail["b"]["party"])
        elif row["kind"] == "intrusion":
            parties = (detail["track"]["party"], detail["notice"]["issuer"])
        return Alert(
            id=row["id"],
            key=tuple(json.loads(row["key"])),
            kind=row["kind"],
            parties=parties,
            severity=row["severity"],
            detail=detail,
            raised_at=epoch_of(row["raised_at"]),
            updated_at=epoch_of(row["updated_at"]),
            revision=row["revision"],
            acks={a["party_id"]: a["acknowledged_at"] for a in row["acks"] if a["acknowledged_at"]},
            escalated={a["party_id"] for a in row["acks"] if a["escalated_at"]},
        )

    def view(self, row: Row, party: str | None) -> dict[str, Any]:
        """An alert as ``party`` may see it (``None``: the hub operator, who sees both sides)."""
        detail = row["detail"]
        parties = _uniq([row["party_a"]] + ([row["party_b"]] if row["party_b"] else []))
        out: dict[str, Any] = {
            "id": row["id"],
            "kind": row["kind"],
            "state": row["state"],
            "severity": row["severity"],
            "revision": row["revision"],
            "parties": parties,
            "raised_at": row["raised_at"],
            "updated_at": row["updated_at"],
            "cleared_at": row["cleared_at"],
            "clear_reason": row["clear_reason"],
            "acks": {a["party_id"]: a["acknowledged_at"] for a in row["acks"]},
            "acknowledged_by": sorted(a["party_id"] for a in row["acks"] if a["acknowledged_at"]),
            # Who was already told they are overdue, so a reloaded page shows it too.
            "escalated": sorted(a["party_id"] for a in row["acks"] if a["escalated_at"]),
        }
        if party is None:
            out["detail"] = detail
            return out
        others = [p for p in parties if p != party]
        share = bool(others) and self.cfg.shares(party, others[0])
        if row["kind"] == "separation" and detail["a"]["party"] == detail["b"]["party"]:
            share = True  # pragma: no cover - pairs of one party are never screened
        seen = party_view(row["kind"], tuple(parties), detail, party, share)
        out.update(seen)
        own = seen.get("own_track")
        if own is not None:
            out["track_id"] = own["track_id"]
            out["position"] = {"lat": own["lat"], "lon": own["lon"]}
        return out

    # -- reading and acknowledging -------------------------------------------
    async def list_alerts(
        self,
        who: Principal,
        *,
        states: list[str] | None,
        kind: str | None,
        limit: int,
    ) -> dict[str, Any]:
        errs = [("state", f"unknown state {s!r}") for s in states or [] if s not in ALERT_STATES]
        if kind is not None and kind not in ALERT_KINDS:
            errs.append(("kind", f"must be one of {', '.join(ALERT_KINDS)}"))
        if errs:
            raise Invalid(errs, location="query")
        party = None if who.is_admin else who.party_id

        def read() -> list[Row]:
            with self.store.read() as repo:
                return repo.alerts.find(party, states, limit, kind)

        return {"alerts": [self.view(r, party) for r in await asyncio.to_thread(read)]}

    def _visible(self, who: Principal, alert_id: str, row: Row | None) -> Row:
        if row is None or (
            not who.is_admin and who.party_id not in (row["party_a"], row["party_b"])
        ):
            raise NotFound(f"no alert {alert_id!r} visible to you")
        return row

    def _read_alert(self, alert_id: str) -> Row | None:
        with self.store.read() as repo:
            return repo.alerts.get(alert_id)

    async def get_alert(self, who: Principal, alert_id: str) -> dict[str, Any]:
        row = self._visible(who, alert_id, await asyncio.to_thread(self._read_alert, alert_id))
        return self.view(row, None if who.is_admin else who.party_id)

    async def ack_alert(self, who: Principal, alert_id: str, doc: Any) -> dict[str, Any]:
        if doc is None:
            doc = {}
        if not isinstance(doc, dict):
            raise Invalid([("", "must be a JSON object")])
        errs = [(str(k), "unknown field") for k in sorted(set(doc) - {"comment"}, key=str)]
        comment = doc.get("comment")
        if comment is not None and (not isinstance(comment, str) or len(comment) > 2000):
            errs.append(("comment", "must be a string of at most 2000 characters"))
        if who.is_admin:
            self._visible(who, alert_id, await asyncio.to_thread(self._read_alert, alert_id))
            raise Forbidden("the hub operator does not acknowledge alerts; use a party's token")
        if errs:
            raise Invalid(errs)

        def run(tx: Tx) -> dict[str, Any]:
            alerts = tx.repo.alerts
            row = self._visible(who, alert_id, alerts.get(alert_id))
            mine = next(a for a in row["acks"] if a["party_id"] == who.party_id)
            if mine["acknowledged_at"] is None:
                alerts.record_ack(alert_id, who.party_id, acknowledged_at=tx.ts, comment=comment)
                row = self._visible(who, alert_id, alerts.get(alert_id))
                parties = [p for p in (row["party_a"], row["party_b"]) if p]
                self.ledger.log(
                    tx,
                    "alert_acknowledged",
                    alert_id=alert_id,
                    party=who.party_id,
                    parties=parties,
                    **({"comment": comment} if comment else {}),
                )
                for p in parties:
                    tx.emit(
                        p, ALERT_ACKNOWLEDGED, {**self.view(row, p), "acknowledged": who.party_id}
                    )
                stamp = tx.ts

                def remember() -> None:
                    alert = self.book.by_id.get(alert_id)
                    if alert is not None:
                        alert.acks[who.party_id] = stamp

                tx.after_commit.append(remember)
            return self.view(row, who.party_id)

        return await self.writer.run(run)


@dataclass(frozen=True, slots=True)
class _Write:
    """One alert transition as it is to be written (rows taken when it happened)."""

    action: str  # raised, updated, cleared, escalated; "marker": `flush` waits for it
    alert_id: str
    parties: list[str]
    row: Row
    reason: str | None
    party: str | None  # escalated: the party overdue
    done: threading.Event | None = None
    queued_at: float = field(default_factory=time.perf_counter)


def _uniq(parties: Any) -> list[str]:
    out: list[str] = []
    for p in parties:
        if p not in out:
            out.append(p)
    return out


def _join(prefix: str, index: int, path: str) -> str:
    base = f"{prefix}[{index}]"
    return f"{base}.{path}" if path else base
