"""Validating submitted volumes in worker processes, off the event loop's core.

The hub is one Python process: its event loop (HTTP, streams) and its writer share
one interpreter lock, so on its own it uses one core whatever the machine has. The
geodesic validation of a notice's volumes is the largest piece of pure computation on
the submit path and needs nothing from the hub's state, so it runs here, in processes
of its own, while the event loop serves other requests.

The hand-over is kept cheap on purpose (it is paid on the busy core): one pipe per
worker watched by the event loop itself (no helper threads, unlike
`concurrent.futures`), the raw volumes out and the parsed `Volume4D`s back, pickled.
Whenever a worker is not available (starting, busy with too much, gone) the volumes
are parsed inline, exactly as before: this is an accelerator, never a dependency. A
worker that dies is replaced (unless they keep dying).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import multiprocessing
import pickle
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from deconflict.geo import GeoValidationError, Limits, Volume4D, parse_volumes
from deconflict.geo.coarse import Grain, coarse_volume

__all__ = ["ParsedVolumes", "VolumeParsers"]

log = logging.getLogger(__name__)

_READY = b"ready"
# Bytes in flight to one worker. A socketpair buffers far more than this, so sending
# never blocks the event loop; bigger documents are parsed inline (or, over 64 KiB,
# in a worker thread by the API).
_MAX_IN_FLIGHT_BYTES = 128 * 1024
# A worker that dies is replaced, at most this many times in this many seconds.
_MAX_RESPAWNS, _RESPAWN_WINDOW_S = 3, 60
# A worker's exit code when a stopping signal ended it (multiprocessing: minus the signal).
_TOLD_TO_STOP = frozenset({-signal.SIGTERM, -signal.SIGINT, -signal.SIGHUP})


@dataclass(frozen=True)
class ParsedVolumes:
    """The outcome of parsing one notice's ``volumes`` value.

    ``raw`` is the very object that was parsed: `parse_notice` uses the result only for
    that object, so a pre-parse can never stand in for different coordinates. ``coarse``
    are the volumes grown to ``grain`` (None: not asked for, or a grain the footprint is
    too large for, which `parse_notice` then reports itself); it uses them only when the
    notice's own disclosure asks for that very grain.
    """

    raw: object
    volumes: tuple[Volume4D, ...] = ()
    error: GeoValidationError | None = None
    grain: Grain | None = None
    coarse: tuple[Volume4D, ...] | None = None


def _parse(
    raw: object, limits: Limits, reaches: Sequence[float], grain: Grain | None
) -> tuple[tuple[Volume4D, ...], tuple[Volume4D, ...] | None]:
    volumes = parse_volumes(raw, path="volumes", limits=limits)
    coarse = None
    if grain is not None:
        # The coarse cover (H3 fill, merged outline) costs more than the parse itself;
        # the index files a coarse notice under it, so its cells are computed here too.
        try:
            coarse = tuple(coarse_volume(v, grain) for v in volumes)
        except ValueError:
            coarse = None
    for vol in (*volumes, *(coarse or ())):  # computed here, they travel with the footprints
        for reach in reaches:
            vol.footprint.cells(reach)
    return volumes, coarse


def _serve(conn: Connection, limits: Limits, reaches: Sequence[float]) -> None:
    """A worker's life: parse what arrives until the hub closes the pipe."""
    # Ctrl-C in a terminal reaches the whole process group: the hub stops its workers
    # itself (closing the pipe), so a worker must not die of it with a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        conn.send_bytes(_READY)
    except OSError:  # the hub closed before this worker finished importing
        return
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        task, raw, grain = pickle.loads(data)  # noqa: S301 - our own process, over our own pipe
        try:
            answer: Any = (task, _parse(raw, limits, reaches, grain), None)
        except GeoValidationError as exc:
            answer = (task, ((), None), exc.errors)
        except Exception as exc:  # reported to the hub, which parses that notice inline
            answer = (task, None, repr(exc))
        try:
            conn.send_bytes(pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError:
            return


@dataclass
class _Worker:
    process: Any
    conn: Connection
    ready: bool = False
    in_flight: int = 0  # bytes sent and not yet answered
    pending: dict[int, tuple[asyncio.Future[ParsedVolumes], object, Grain | None, int]] = field(
        default_factory=dict
    )


class VolumeParsers:
    """A few worker processes that validate volumes for the event loop that uses them."""

    def __init__(self, processes: int, limits: Limits, reaches: Sequence[float] = (0.0,)) -> None:
        self.processes = processes
        self.limits = limits
        self.reaches = tuple(reaches)  # the index covers to compute with each footprint
        self._workers: list[_Worker] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks = itertools.count()
        self._deaths: list[float] = []
        self._closed = False
        self.stats = {"offloaded": 0, "inline": 0, "respawned": 0}

    def parse_inline(self, raw: object) -> ParsedVolumes:
        self.stats["inline"] += 1
        try:
            return ParsedVolumes(raw, parse_volumes(raw, path="volumes", limits=self.limits))
        except GeoValidationError as exc:
            return ParsedVolumes(raw, error=exc)

    async def parse(self, raw: object, grain: Grain | None = None) -> ParsedVolumes:
        """Parse ``raw`` (a notice's ``volumes``) in a worker if one is free, else here;
        in a worker, also grow them to ``grain`` (the coarse cover, see `ParsedVolumes`)."""
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self.start(loop)
        worker = self._pick(loop)
        if worker is None:
            return self.parse_inline(raw)
        data = pickle.dumps(
            (task := next(self._tasks), raw, grain), protocol=pickle.HIGHEST_PROTOCOL
        )
        if worker.in_flight + len(data) > _MAX_IN_FLIGHT_BYTES:
            return self.parse_inline(raw)
        future: asyncio.Future[ParsedVolumes] = loop.create_future()
        try:
            worker.conn.send_bytes(data)
        except OSError:
            self._lose(worker, "its pipe broke")
            return self.parse_inline(raw)
        worker.pending[task] = (future, raw, grain, len(data))
        worker.in_flight += len(data)
        self.stats["offloaded"] += 1
        return await future

    def _pick(self, loop: asyncio.AbstractEventLoop) -> _Worker | None:
        if loop is not self._loop:  # workers answer through one loop's reader callbacks
            return None
        ready = [w for w in self._workers if w.ready]
        return min(ready, key=lambda w: w.in_flight) if ready else None

    def status(self) -> dict[str, int]:
        """For /healthz: workers ready, notices parsed by them and by the hub itself,
        workers replaced."""
        return {"ready": sum(w.ready for w in self._workers), **self.stats}

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Launch the workers, answering through ``loop`` (once; later calls do nothing)."""
        # spawn, not fork: the hub has threads (writer, sweeper) that a fork would copy
        # mid-flight. The children import this module and deconflict.geo only (~0.3 s:
        # the package's names load lazily, service/__init__); until one says it is
        # ready, submits are parsed inline.
        if self._loop is not None or self.processes == 0:
            return
        self._loop = loop
        for i in range(self.processes):
            self._spawn(loop, f"hub-parser-{i}")

    def _spawn(self, loop: asyncio.AbstractEventLoop, name: str) -> None:
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe(duplex=True)
        process = context.Process(
            target=_serve, args=(theirs, self.limits, self.reaches), name=name, daemon=True
        )
        # From the main thread (`serve`), the child starts with SIGINT ignored (an ignored
        # signal stays ignored through exec), so that a Ctrl-C while it still imports does
        # not kill it with a traceback either; elsewhere `_serve` ignores it once running.
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
        try:
            process.start()
        finally:
            if main:
                signal.signal(signal.SIGINT, previous)
        theirs.close()
        worker = _Worker(process, ours)
        self._workers.append(worker)
        loop.add_reader(ours.fileno(), self._readable, worker)

    def _readable(self, worker: _Worker) -> None:
        # One message per call: the loop calls again while the pipe holds more, so no
        # extra poll() system call is spent to find out.
        try:
            data = worker.conn.recv_bytes()
        except (EOFError, OSError):
            self._lose(worker, "it exited")
            return
        if data == _READY:
            worker.ready = True
            return
        try:
            answer = pickle.loads(data)  # noqa: S301 - our own worker, over our own pipe
        except Exception as exc:  # never leave a request waiting on a garbled answer
            self._lose(worker, f"it sent an unreadable answer: {exc!r}")
            return
        self._answer(worker, answer)

    def _answer(self, worker: _Worker, answer: tuple[int, Any, Any]) -> None:
        task, parsed, problem = answer
        future, raw, grain, size = worker.pending.pop(task)
        worker.in_flight -= size
        if future.done():  # the request was cancelled (client gone)
            return
        if parsed is None:
            log.warning("a volume parser failed (%s); parsing that notice inline", problem)
            future.set_result(self.parse_inline(raw))
        elif problem is not None:
            future.set_result(ParsedVolumes(raw, error=GeoValidationError(problem)))
        else:
            volumes, coarse = parsed
            future.set_result(ParsedVolumes(raw, tuple(volumes), None, grain, coarse))

    def _lose(self, worker: _Worker, why: str) -> None:
        if worker not in self._workers:
            return
        self._workers.remove(worker)
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(worker.conn.fileno())
        worker.conn.close()  # (the next Process.start() reaps the dead one)
        for future, raw, _, _ in worker.pending.values():
            if not future.done():
                future.set_result(self.parse_inline(raw))
        worker.pending.clear()
        # Told to stop (the hub's own stop, or a terminal's or service manager's signal to the
        # whole process group), not crashed: replacing it would start a child as the parent
        # goes away. The hub parses meanwhile either way.
        worker.process.join(timeout=1.0)  # it closed its end: it is exiting, or exited
        if worker.process.exitcode in _TOLD_TO_STOP:
            log.info("%s stopped by a signal; not replaced", worker.process.name)
            return
        # Replace it, unless workers keep dying (then the hub parses, and says so).
        now = time.monotonic()
        self._deaths = [t for t in self._deaths if now - t < _RESPAWN_WINDOW_S] + [now]
        loop = self._loop
        if loop is None or loop.is_closed() or self._closed or len(self._deaths) > _MAX_RESPAWNS:
            log.error(
                "%s stopped (%s); not replaced (%d deaths in %d s): the hub parses volumes",
                worker.process.name,
                why,
                len(self._deaths),
                _RESPAWN_WINDOW_S,
            )
            return
        log.warning("%s stopped (%s); starting another", worker.process.name, why)
        self.stats["respawned"] += 1
        self._spawn(loop, worker.process.name)

    def close(self) -> None:
        """Stop the workers; call it from the loop's thread, or once the loop has ended."""
        self._closed = True
        for worker in list(self._workers):
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(worker.conn.fileno())
            worker.conn.close()  # a ready worker sees EOF and exits
            if not worker.ready:  # still importing: nothing of ours to finish
                worker.process.kill()
        for worker in self._workers:
            worker.process.join(timeout=2)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
        self._workers.clear()
