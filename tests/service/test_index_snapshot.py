"""Snapshots of the notice index (issue 19): the committed index, read without the writer.

A snapshot holds every change answered before it was taken and nothing a batch in
flight (or a failed one) did; taking and reading one never waits for the writer.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from deconflict.service import Hub
from deconflict.service.tx import Tx
from deconflict.store import Repo
from deconflict.strategic import NoticeShape
from tests.service.helpers import make_settings, notice
from tests.service.test_group_commit import _parties, done


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    h = Hub(make_settings(tmp_path / "hub.db"))
    h.start(sweep=False)
    try:
        yield h
    finally:
        h.close()


def _ids(hub: Hub) -> dict[str, int]:
    with hub.index.snapshot() as index:
        return {s.id: s.version for s in index}


def _committed(hub: Hub) -> dict[str, int]:
    with hub.index.reading() as index:
        return {s.id: s.version for s in index}


def _committed_issuer(hub: Hub, notice_id: str) -> str:
    shape = hub.index.get(notice_id)
    assert shape is not None
    return shape.issuer


class _Held:
    """The writer held inside a change (``fn`` runs first), until `release`."""

    def __init__(self, hub: Hub, fn: Callable[[Tx], None]) -> None:
        self.inside = threading.Event()
        self._release = threading.Event()
        self.error: BaseException | None = None

        def hold(tx: Tx) -> None:
            fn(tx)
            self.inside.set()
            assert self._release.wait(30)

        def submit() -> None:
            try:
                hub.writer.submit(hold)
            except BaseException as exc:
                self.error = exc

        self._thread = threading.Thread(target=submit)
        self._thread.start()
        assert self.inside.wait(10)

    def release(self) -> None:
        self._release.set()
        self._thread.join(10)


def test_a_snapshot_never_waits_for_the_writer_nor_sees_its_batch(hub: Hub) -> None:
    (co,) = _parties(hub, "coalition")
    hub.index.prepare_snapshots(1)
    first = done(hub.notify(co, notice(["*"], lon=40.0)))
    assert first["id"] in _ids(hub)  # answered, so in the next snapshot
    shape = hub.index.get(first["id"])
    assert shape is not None
    ghost = NoticeShape(id="n-ghost", issuer="russia", kind="other", volumes=shape.volumes)

    def swap(tx: Tx) -> None:
        hub.index.put(tx, ghost)
        hub.index.drop(tx, first["id"])

    held = _Held(hub, swap)
    try:
        taken = threading.Event()

        def read() -> None:
            assert _ids(hub) == {first["id"]: 1}  # the batch in flight is not seen
            taken.set()

        reader = threading.Thread(target=read)
        reader.start()
        assert taken.wait(5), "a snapshot waited for the writer"
        reader.join(5)
    finally:
        held.release()
    assert held.error is None
    assert _ids(hub) == {"n-ghost": 1} == _committed(hub)


def test_rolled_back_changes_and_failed_batches_never_reach_a_snapshot(hub: Hub) -> None:
    (co,) = _parties(hub, "coalition")
    hub.index.prepare_snapshots(1)
    kept = done(hub.notify(co, notice(["*"], lon=40.0)))
    shape = hub.index.get(kept["id"])
    assert shape is not None
    ghost = NoticeShape(id="n-ghost", issuer="russia", kind="other", volumes=shape.volumes)

    def put_then_fail(tx: Tx) -> None:
        hub.index.put(tx, ghost)
        hub.index.drop(tx, kept["id"])
        raise RuntimeError("changed its mind")

    with pytest.raises(RuntimeError):
        hub.writer.submit(put_then_fail)
    assert _ids(hub) == {kept["id"]: 1}

    def commit_fails(repo: Repo) -> None:
        raise OSError("disk full")

    hub.writer.before_commit.append(commit_fails)
    try:
        with pytest.raises(OSError, match="disk full"):
            hub.writer.submit(lambda tx: hub.index.put(tx, ghost))
    finally:
        hub.writer.before_commit.remove(commit_fails)
    assert _ids(hub) == {kept["id"]: 1} == _committed(hub)


def test_snapshots_follow_the_committed_index_through_random_changes(hub: Hub) -> None:
    co, ru = _parties(hub, "coalition", "russia")
    rng = random.Random(19)
    live: list[str] = []
    for step in range(60):
        action = rng.random()
        if action < 0.5 or not live:
            who = rng.choice([co, ru])
            live.append(done(hub.notify(who, notice(["*"], lon=rng.uniform(-60, 60))))["id"])
        elif action < 0.75:
            victim = live.pop(rng.randrange(len(live)))
            issuer = _committed_issuer(hub, victim)
            done(hub.cancel(co if issuer == "coalition" else ru, victim, 1, None))
        else:
            # two readers at once get two replicas, each the committed index
            out: list[dict[str, int]] = []
            barrier = threading.Barrier(2)

            def both(barrier: threading.Barrier, out: list[dict[str, int]]) -> None:
                with hub.index.snapshot() as index:
                    barrier.wait(5)
                    out.append({s.id: s.version for s in index})

            readers = [threading.Thread(target=both, args=(barrier, out)) for _ in range(2)]
            for r in readers:
                r.start()
            for r in readers:
                r.join(10)
            assert out == [_committed(hub)] * 2, f"step {step}"
        assert _ids(hub) == _committed(hub) == dict.fromkeys(live, 1), f"step {step}"
    assert hub.index.snapshot_stats["replicas_built"] == 2  # reused, not rebuilt
    assert hub.index.snapshot_lag <= 60
