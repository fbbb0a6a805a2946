"""The single writer: every change of the hub goes through `Writer`, with group commit.

Callers queue their change and wait; one writer thread takes every queued change, runs
each in its own SAVEPOINT inside one store transaction, COMMITs once (one fsync for the
whole batch) and only then answers them all.

- A change that fails (a business error, or any exception) is rolled back to its
  savepoint; the others of the batch are unaffected and it gets its error.
- A later change of a batch sees the earlier ones: in the store (same transaction) and
  in memory. In-memory state (the strategic index, the party cache) is changed as each
  change runs, and `Tx.on_undo` records how to revert it, so two conflicting notices
  submitted together are compared with each other. The index is reverted when a
  change's savepoint is rolled back, and the whole batch's changes when the COMMIT
  fails.
- Events are buffered per change and appended to the outbox in one statement per batch;
  stream wake-ups (`on_woken`), `after_commit` actions and answers happen only after the
  COMMIT, so nothing is announced that could still be rolled back.
- The writer holds `lock` for the whole batch (COMMIT included): a reader of in-memory
  state that takes it (a dry run, the tactical screen) never sees an uncommitted change.
- Subscribers of `before_commit` add the rows a batch left for the end of its
  transaction (the ledger's entries).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

from deconflict.service.errors import ServiceError
from deconflict.service.tx import Tx
from deconflict.store import Repo, Store, StoreUnavailable

__all__ = ["Change", "Writer"]

log = logging.getLogger("deconflict.service")
T = TypeVar("T")
Change = Callable[[Tx], T]


class _Request(Generic[T]):
    """A queued change and, once its batch is committed or failed, its outcome."""

    __slots__ = ("done", "error", "fn", "on_done", "result", "tx")

    def __init__(self, fn: Change[T], on_done: Callable[[], None] | None = None) -> None:
        self.fn = fn
        self.done = threading.Event()
        self.on_done = on_done  # called on the writer's thread once the outcome is known
        self.result: T | None = None
        self.error: BaseException | None = None
        self.tx: Tx | None = None

    def finish(self) -> None:
        self.done.set()
        if self.on_done is not None:
            self.on_done()


def _settle(future: asyncio.Future[Any], req: _Request[Any]) -> None:
    if future.done():  # the caller went away (a cancelled request); the change stands
        return
    if req.error is not None:
        future.set_exception(req.error)
    else:
        future.set_result(req.result)


class Writer:
    def __init__(
        self,
        store: Store,
        clock: Callable[[], datetime],
        *,
        batch_max: int,
        on_woken: Callable[[set[str]], None],
    ) -> None:
        self.store = store
        self.clock = clock
        self.batch_max = batch_max
        self.lock = threading.RLock()
        self.before_commit: list[Callable[[Repo], None]] = []
        # Several processes on one database (issue 14): each batch takes the database's
        # write token first; `generation` is the last batch (of any process) this one has
        # caught up with, and `catch_up(repo, generation)` brings what it holds in memory
        # up to the token's, inside the batch's transaction, before any change is decided.
        self.generation = 0
        self.catch_up: Callable[[Repo, int], None] | None = None
        self.after_batch: list[Callable[[], None]] = []  # whatever the outcome
        self._on_woken = on_woken
        self._queue: deque[_Request[Any]] = deque()
        self._queue_cv = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.stats = {"batches": 0, "writes": 0, "largest_batch": 0}

    # -- lifecycle -----------------------------------------------------------
    def start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="hub-writer", daemon=True)
        self._thread.start()

    def close(self) -> None:
        thread = self._thread
        if thread is None:
            return
        with self._queue_cv:
            self._stopping = True  # the writer finishes what is queued, then exits
            self._queue_cv.notify_all()
        thread.join(timeout=30)
        self._thread = None

    @property
    def queued(self) -> int:
        """Changes waiting for the writer (what a test holding it can watch grow)."""
        return len(self._queue)

    # -- running changes -----------------------------------------------------
    def submit(self, fn: Change[T]) -> T:
        """Run `fn` as one change from a thread; its result once it is durable."""
        req: _Request[T] = _Request(fn)
        if not self._enqueue(req):  # not started (or closing): the caller's thread writes
            self._run_batch([req])
        req.done.wait()
        if req.error is not None:
            raise req.error
        return cast(T, req.result)

    async def run(self, fn: Change[T]) -> T:
        """`submit` for the event loop: no thread waits; the writer settles a future."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        req: _Request[T] = _Request(fn)

        def settle() -> None:
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting
                loop.call_soon_threadsafe(_settle, future, req)

        req.on_done = settle
        if not self._enqueue(req):
            return await asyncio.to_thread(self.submit, fn)
        return await future

    def _enqueue(self, req: _Request[Any]) -> bool:
        thread = self._thread
        if thread is not None and thread is threading.current_thread():
            raise RuntimeError("a change may not start another change")
        with self._queue_cv:
            if thread is None or self._stopping:
                return False
            self._queue.append(req)
            self._queue_cv.notify()
        return True

    def _loop(self) -> None:
        while True:
            with self._queue_cv:
                while not self._queue and not self._stopping:
                    self._queue_cv.wait()
                if not self._queue:
                    return
                n = min(self.batch_max, len(self._queue))
                batch = [self._queue.popleft() for _ in range(n)]
            try:
                self._run_batch(batch)
            except BaseException as exc:  # never leave a caller waiting
                if isinstance(exc, StoreUnavailable):  # the database went away: one line
                    log.warning("write batch failed: %s (%s)", exc, exc.__cause__)
                else:
                    log.exception("write batch failed")
                for req in batch:
                    if not req.done.is_set():
                        # A change's own refusal (a ServiceError) stands; any other error of
                        # a change (a driver's, when the connection went under it) is the
                        # batch's failure, answered as such (e.g. 503, not 500).
                        if not isinstance(req.error, ServiceError):
                            req.error = exc
                        req.finish()

    def _run_batch(self, batch: list[_Request[Any]]) -> None:
        """One transaction, one savepoint per change, one COMMIT; then answer them all."""
        done: list[_Request[Any]] = []
        with self.lock:
            try:
                with self.store.write() as repo:
                    previous = repo.coordination.take_write_token()
                    if previous != self.generation and self.catch_up is not None:
                        self.catch_up(repo, self.generation)
                    # caught up (not undone if the batch fails: others' commits stay)
                    self.generation = previous
                    for req in batch:
                        tx = Tx(repo, self.clock())
                        savepoint = repo.savepoint()
                        try:
                            req.result = req.fn(tx)
                        except Exception as exc:
                            tx.revert()
                            req.error = exc
                            savepoint.rollback()  # if this fails, the whole batch fails
                            continue
                        savepoint.commit()
                        req.tx = tx
                        done.append(req)
                    for hook in self.before_commit:
                        hook(repo)
                    repo.events.append_many([e for r in done if r.tx for e in r.tx.events])
                    repo.coordination.record(
                        previous + 1, [c for r in done if r.tx for c in r.tx.changes]
                    )
                self.generation = previous + 1  # committed
            except BaseException as exc:
                # Nothing of the batch is stored: undo its in-memory changes, newest first.
                for req in reversed(done):
                    if req.tx is not None:
                        req.tx.revert()
                    req.error = exc
                    req.result = None
                raise
            finally:
                for hook2 in self.after_batch:
                    hook2()
                stats = self.stats
                stats["batches"] += 1
                stats["writes"] += len(batch)
                stats["largest_batch"] = max(stats["largest_batch"], len(batch))
            woken: set[str] = set()
            for req in done:
                if req.tx is not None:
                    for action in req.tx.after_commit:
                        try:
                            action()
                        except Exception:  # committed: the caller still gets its answer
                            log.exception("after-commit action failed")
                    woken |= req.tx.woken
                    req.tx = None
        if woken:
            self._on_woken(woken)
        for req in batch:
            req.finish()
