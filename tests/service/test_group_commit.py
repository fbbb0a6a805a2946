"""Group commit: changes queued together share one transaction, yet behave as if alone.

A later change of a batch sees the earlier ones (in the store and in the strategic
index), a failing change is rolled back to its own savepoint, and a failed COMMIT
leaves nothing behind, in the store or in memory.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from deconflict.service import Hub, Principal, StaleVersion, StateConflict
from deconflict.service.event_types import NOTICE_RECEIVED
from deconflict.service.tx import Tx
from deconflict.store import Repo, SqliteStore
from deconflict.strategic import NoticeShape
from tests.service.helpers import ADMIN_TOKEN, World, make_settings, notice


def test_concurrent_conflicting_notices_always_conflict(world: World) -> None:
    """Notices submitted at the same instant by different parties are compared with each
    other: every pair is reported exactly once, to whichever was stored second."""
    admin = world.admin
    names = [f"party{i}" for i in range(8)]
    tokens = {n: admin.ok("POST", "/v1/parties", {"id": n, "name": n}, 201)["token"] for n in names}
    rounds = 12

    def submit(name: str, lon: float, barrier: threading.Barrier, answers: dict[str, Any]) -> None:
        api = world.client(tokens[name], name)
        barrier.wait()
        answers[name] = api.ok("POST", "/v1/notices", notice(["*"], lon=lon), 201)

    for r in range(rounds):
        barrier = threading.Barrier(len(names))
        answers: dict[str, Any] = {}
        threads = [
            threading.Thread(target=submit, args=(n, 30.0 + r, barrier, answers)) for n in names
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ids = {a["id"] for a in answers.values()}
        reported = [
            frozenset((a["id"], c["other"]["notice"]))
            for a in answers.values()
            for c in a["conflicts"]
        ]
        assert len(reported) == len(set(reported)), "a pair was reported twice"
        expected = {frozenset((x, y)) for x in ids for y in ids if x != y}
        assert set(reported) == expected, f"round {r}: missed {len(expected - set(reported))}"
        stored = admin.ok("GET", "/v1/conflicts?state=open")["conflicts"]
        assert {frozenset(c["notices"]) for c in stored if set(c["notices"]) <= ids} == expected
    batches = admin.ok("GET", "/healthz")["write_batches"]
    assert batches["largest_batch"] >= 2, "the submissions never shared a commit"


# -- the service layer, with batches built on purpose ---------------------------------


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    h = Hub(make_settings(tmp_path / "hub.db"))
    h.start(sweep=False)
    try:
        yield h
    finally:
        h.close()


def done(coro: Coroutine[Any, Any, Any]) -> Any:
    """A use case awaited from a plain thread (each batch member runs on its own)."""
    return asyncio.run(coro)


def _parties(hub: Hub, *names: str) -> list[Principal]:
    admin = hub.authenticate(ADMIN_TOKEN)
    return [
        hub.authenticate(done(hub.register_party(admin, {"id": n, "name": n}))["token"])
        for n in names
    ]


class _Batch:
    """Hold the writer inside a change while others queue, so that they form one batch."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.results: dict[str, Any] = {}
        self._threads: list[threading.Thread] = []
        self._release = threading.Event()
        self._holding = threading.Event()

        def hold(tx: Tx) -> None:
            self._holding.set()
            self._release.wait(10)

        self._before = dict(hub.writer.stats)
        self._blocker = threading.Thread(target=hub.writer.submit, args=(hold,))
        self._blocker.start()
        assert self._holding.wait(10)

    def add(self, name: str, call: Callable[[], Any]) -> None:
        def run() -> None:
            try:
                result = call()
                self.results[name] = done(result) if asyncio.iscoroutine(result) else result
            except Exception as exc:
                self.results[name] = exc

        queued = self.hub.writer.queued
        t = threading.Thread(target=run)
        t.start()
        self._threads.append(t)
        deadline = time.monotonic() + 10
        while self.hub.writer.queued <= queued:  # queued in this order
            assert time.monotonic() < deadline
            time.sleep(0.001)

    def run(self) -> dict[str, Any]:
        before = self._before
        self._release.set()
        self._blocker.join(10)
        for t in self._threads:
            t.join(10)
        after = self.hub.writer.stats
        # the holding change's batch, then one batch for all the others
        assert after["batches"] - before["batches"] == 2, "the changes did not share a batch"
        assert after["writes"] - before["writes"] == len(self._threads) + 1
        return self.results


def test_a_later_change_of_a_batch_sees_the_earlier_ones(hub: Hub) -> None:
    co, ru, un = _parties(hub, "coalition", "russia", "un")
    batch = _Batch(hub)
    batch.add("a", lambda: hub.notify(co, notice(["russia"])))
    batch.add("b", lambda: hub.notify(ru, notice(["coalition"], lon=36.2)))
    batch.add("c", lambda: hub.notify(un, notice(["*"], lon=36.15)))
    out = batch.run()
    assert out["a"]["conflicts"] == []
    assert [c["other"]["issuer"] for c in out["b"]["conflicts"]] == ["coalition"]
    assert sorted(c["other"]["issuer"] for c in out["c"]["conflicts"]) == ["coalition", "russia"]
    assert len(hub.index) == 3


def test_a_failing_change_does_not_affect_the_others(hub: Hub) -> None:
    co, ru = _parties(hub, "coalition", "russia")
    first = done(hub.notify(co, notice(["russia"], lon=50.0)))
    events_before = hub.events.page(ru, 0)

    def half_done_then_fails(tx: Tx) -> None:
        # writes rows, indexes a notice, emits an event, registers a party ... then fails
        shape = hub.index.get(first["id"])
        assert shape is not None
        ghost = NoticeShape(id="n-ghost", issuer="russia", kind="other", volumes=shape.volumes)
        hub.index.put(tx, ghost)
        hub.index.drop(tx, first["id"])
        tx.repo.parties.insert(
            {
                "id": "ghost",
                "name": "ghost",
                "token_key_id": "0" * 16,
                "token_hash": "x",
                "public_key": None,
                "created_at": tx.ts,
            }
        )
        tx.emit("russia", NOTICE_RECEIVED, {"id": "n-ghost"})
        hub.ledger.log(tx, "party_registered", party="ghost", name="ghost")  # held until COMMIT
        raise StateConflict("changed its mind")

    batch = _Batch(hub)
    batch.add("a", lambda: hub.notify(co, notice(["russia"])))
    batch.add("stale", lambda: hub.amend(co, first["id"], {**notice(["russia"]), "version": 7}))
    batch.add("fails", lambda: hub.writer.submit(half_done_then_fails))
    batch.add("b", lambda: hub.notify(ru, notice(["coalition"], lon=36.2)))
    batch.add("ack", lambda: hub.acknowledge(ru, first["id"], {"version": 1}))
    out = batch.run()
    assert isinstance(out["stale"], StaleVersion)
    assert isinstance(out["fails"], StateConflict)
    assert out["a"]["id"] and out["ack"]["state"] == "acknowledged"
    assert [c["other"]["issuer"] for c in out["b"]["conflicts"]] == ["coalition"]
    # nothing of the failed change survives: not in the store, the index or the outbox
    assert "n-ghost" not in hub.index
    assert first["id"] in hub.index
    assert hub.index.active_count("russia") == 1
    assert "ghost" not in {p["id"] for p in done(hub.list_parties(co))["parties"]}
    with hub.store.read() as repo:
        assert repo.parties.get("ghost") is None
    new_events = hub.events.page(ru, events_before[-1]["id"] if events_before else 0)
    assert "n-ghost" not in str(new_events)
    assert [e["data"]["id"] for e in new_events if e["type"] == "notice_received"] == [
        out["a"]["id"]
    ]
    # the ledger holds the survivors' entries, contiguous, and not the ghost's: the tree
    # stored matches the one in memory that the next append extends
    with hub.store.read() as repo:
        size = repo.ledger.size()
        stored = repo.ledger.entries(0, size)
        assert size == hub.ledger.tree.frontier.size > 0
        assert hub.ledger.tree.root(repo.ledger, size) == hub.ledger.tree.frontier.root()
    assert [e["idx"] for e in stored] == list(range(size))
    assert b"ghost" not in b"".join(e["entry"] for e in stored)
    # the survivors are durable and consistent after a restart
    hub.close()
    hub.start(sweep=False)
    assert sorted(n.id for n in hub.index) == sorted([first["id"], out["a"]["id"], out["b"]["id"]])


class _FailingCommitStore(SqliteStore):
    fail_in = 0  # the n-th transaction from now fails at its COMMIT

    @contextmanager
    def write(self) -> Iterator[Repo]:
        with super().write() as repo:
            yield repo
            if self.fail_in:
                self.fail_in -= 1
                if not self.fail_in:
                    raise OSError("disk full")


def test_a_failed_commit_reverts_the_whole_batch_in_memory(tmp_path: Path) -> None:
    store = _FailingCommitStore(tmp_path / "hub.db")
    hub = Hub(make_settings(tmp_path / "hub.db"), store=store)
    hub.start(sweep=False)
    try:
        co, ru, un = _parties(hub, "coalition", "russia", "un")
        kept = done(hub.notify(un, notice(["coalition"], lon=36.3)))
        amended_shape = hub.index.get(kept["id"])
        batch = _Batch(hub)
        batch.add("a", lambda: hub.notify(co, notice(["russia"])))
        batch.add("amend", lambda: hub.amend(un, kept["id"], {**notice(["russia"]), "version": 1}))
        batch.add(
            "party",
            lambda: hub.register_party(hub.authenticate(ADMIN_TOKEN), {"id": "x", "name": "x"}),
        )
        store.fail_in = 2  # the holding change's batch commits, the next one fails
        out = batch.run()
        assert all(isinstance(v, OSError) for v in out.values()), out
        # the index is as before the batch: no new notice, the amendment undone
        assert sorted(n.id for n in hub.index) == [kept["id"]]
        assert hub.index.get(kept["id"]) is amended_shape
        assert hub.index.active_count("coalition") == 0
        assert "x" not in hub.parties.ids()
        # and the hub goes on: a new notice conflicts with what is stored, nothing else
        b = done(hub.notify(ru, notice(["coalition"], lon=36.2)))
        assert [c["other"]["issuer"] for c in b["conflicts"]] == ["un"]
    finally:
        hub.close()


def test_registration_and_broadcast_in_one_batch(hub: Hub) -> None:
    """A party registered earlier in a batch is an addressee of a later notice to "*",
    and a party registered later in the batch gets the earlier notice to "*"."""
    (co,) = _parties(hub, "coalition")
    admin = hub.authenticate(ADMIN_TOKEN)
    batch = _Batch(hub)
    batch.add("early", lambda: hub.register_party(admin, {"id": "early", "name": "E"}))
    batch.add("n", lambda: hub.notify(co, notice(["*"])))
    batch.add("late", lambda: hub.register_party(admin, {"id": "late", "name": "L"}))
    out = batch.run()
    assert [a["addressee"] for a in out["n"]["acks"]] == ["early"]
    for name in ("early", "late"):
        who = hub.authenticate(out[name]["token"])
        events = hub.events.page(who, 0)
        assert [(e["type"], e["data"]["id"]) for e in events] == [
            ("notice_received", out["n"]["id"])
        ]
        assert done(hub.acknowledge(who, out["n"]["id"], {"version": 1}))["state"] == "acknowledged"
