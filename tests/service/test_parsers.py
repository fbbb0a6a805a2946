"""Volumes validated in a parser process: the same answers as the hub's own parse.

`VolumeParsers` exists for speed only (it takes the geodesic validation off the core
the event loop and the writer share), so every test here asks one thing: does a
notice fare exactly as it would without it, including when the worker is gone?
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from deconflict.config import Settings
from deconflict.geo import Limits, parse_volumes
from deconflict.geo.coarse import Grain, coarse_volume
from deconflict.service.documents import parse_notice
from deconflict.service.parsers import ParsedVolumes, VolumeParsers, _Worker
from tests.service.helpers import World, notice, volume


def _parsers(world: World) -> dict[str, int]:
    status: dict[str, int] = world.admin.ok("GET", "/healthz")["volume_parsers"]
    return status


def _wait_ready(world: World, timeout: float = 30.0) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while (status := _parsers(world))["ready"] < 1:
        assert time.monotonic() < deadline, f"no parser process became ready: {status}"
        time.sleep(0.05)
    return status


def test_a_notice_parsed_by_a_worker_is_stored_as_the_hub_would_parse_it(world: World) -> None:
    before = _wait_ready(world)
    co, ru = world.party("coalition"), world.party("russia")
    body = notice(["russia"], title="worker")
    body["volumes"].append(
        {**volume(36.5), "geometry": {"type": "Point", "coordinates": [36.9, 35.4]}}
    )
    body["volumes"][1]["radius_m"] = 2500.0
    n = co.ok("POST", "/v1/notices", body, 201)
    assert _parsers(world)["offloaded"] == before["offloaded"] + 1
    stored = ru.ok("GET", f"/v1/notices/{n['id']}")["volumes"]
    expected = [v.to_json() for v in parse_volumes(body["volumes"], limits=Limits())]
    assert json.loads(json.dumps(stored)) == json.loads(json.dumps(expected))
    # and it conflicts with an overlapping notice, as the index knows its real shape
    other = ru.ok("POST", "/v1/notices", notice(["coalition"], lon=36.2), 201)
    assert [c["other"]["notice"] for c in other["conflicts"]] == [n["id"]]


def test_bad_volumes_found_by_a_worker_are_named_and_nothing_is_stored(world: World) -> None:
    _wait_ready(world)
    co = world.party("coalition")
    body = notice(["russia"])
    ring = body["volumes"][0]["geometry"]["coordinates"][0]
    ring[2] = [200.0, 35.5]  # longitude out of range
    body["volumes"][0]["time_end"] = "yesterday"
    before = _parsers(world)["offloaded"]
    r = co.post("/v1/notices", body)
    assert r.status_code == 422, r.text
    fields = {e["path"] for e in r.json()["errors"]}
    assert fields == {"body.volumes[0].geometry.coordinates[0][2]", "body.volumes[0].time_end"}
    assert _parsers(world)["offloaded"] == before + 1
    assert co.ok("GET", "/v1/notices")["notices"] == []


def _kill_worker() -> None:
    # the server runs in this process, so its parser is one of our children
    (worker,) = [p for p in multiprocessing.active_children() if p.name == "hub-parser-0"]
    assert worker.pid is not None
    os.kill(worker.pid, signal.SIGKILL)


def _wait(world: World, what: str, ok: Any, timeout: float = 30.0) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while not ok(status := _parsers(world)):
        assert time.monotonic() < deadline, f"{what}: {status}"
        time.sleep(0.05)
    return status


def test_a_dead_worker_is_replaced_and_nothing_is_lost_meanwhile(world: World) -> None:
    _wait_ready(world)
    co = world.party("coalition")
    _kill_worker()
    _wait(world, "the hub did not notice", lambda s: s["respawned"] == 1)
    # whether the new worker is ready yet or not, notices are validated and stored
    co.ok("POST", "/v1/notices", notice(["russia"]), 201)
    assert co.post("/v1/notices", {**notice(["russia"]), "volumes": []}).status_code == 422
    before = _wait(world, "no worker came back", lambda s: s["ready"] == 1)["offloaded"]
    co.ok("POST", "/v1/notices", notice(["russia"], lon=40.0), 201)
    assert _parsers(world)["offloaded"] == before + 1


def test_workers_that_keep_dying_are_given_up_and_the_hub_parses(world: World) -> None:
    _wait_ready(world)
    co = world.party("coalition")
    for n in range(1, 4):
        _kill_worker()
        _wait(world, "not replaced", lambda s, n=n: s["respawned"] == n and s["ready"] == 1)
    _kill_worker()  # the fourth death within a minute
    _wait(world, "the hub did not notice", lambda s: s["ready"] == 0)
    time.sleep(0.3)  # and no replacement comes
    assert not [p for p in multiprocessing.active_children() if p.name == "hub-parser-0"]
    status = _parsers(world)
    assert (status["ready"], status["respawned"]) == (0, 3)
    co.ok("POST", "/v1/notices", notice(["russia"]), 201)
    assert _parsers(world)["inline"] == status["inline"] + 1


def test_parse_notice_uses_a_pre_parse_only_of_its_own_volumes() -> None:
    # A pre-parse made from other coordinates must never stand in for the document's.
    doc = notice(["russia"])
    elsewhere = [volume(10.0)]
    decoy = ParsedVolumes(elsewhere, parse_volumes(elsewhere, limits=Limits()))

    def parse(parsed: ParsedVolumes) -> Any:
        return parse_notice(
            doc,
            settings=Settings(),
            known_parties={"russia"},
            issuer="coalition",
            amendment=False,
            parsed=parsed,
        )

    assert parse(decoy).volumes[0].to_json()["geometry"] == doc["volumes"][0]["geometry"]
    own = ParsedVolumes(doc["volumes"], decoy.volumes)  # the same object: trusted as given
    assert parse(own).volumes is decoy.volumes


def test_a_worker_grows_the_volumes_to_the_grain_asked_as_the_hub_would() -> None:
    # The coarse cover is computed in the worker (it costs more than the parse); what
    # comes back must be exactly what the hub computes itself.
    raw = [
        volume(36.5),
        {**volume(37.0), "geometry": {"type": "Point", "coordinates": [37.2, 35.1]}},
    ]
    raw[1]["radius_m"] = 4000.0
    grain = Grain(h3_resolution=6, layer_ft=2000, slot_min=30)

    async def scenario() -> ParsedVolumes:
        parsers = VolumeParsers(1, Limits())
        parsers.start(asyncio.get_running_loop())
        try:
            deadline = time.monotonic() + 120
            while not any(w.ready for w in parsers._workers):
                assert time.monotonic() < deadline, "the parser process never became ready"
                await asyncio.sleep(0.05)
            return await parsers.parse(raw, grain)
        finally:
            parsers.close()

    parsed = asyncio.run(scenario())
    assert parsed.grain == grain and parsed.coarse is not None
    expected = [coarse_volume(v, grain).source for v in parse_volumes(raw, limits=Limits())]
    assert [v.source for v in parsed.coarse] == expected
    assert parsed.coarse[0].footprint.cells(0.0) == coarse_volume(
        parsed.volumes[0], grain
    ).footprint.cells(0.0)


def test_parse_notice_uses_a_worker_coarse_cover_only_for_its_own_grain() -> None:
    doc = notice(["russia"])  # air activity: coarse, at the default grain
    volumes = parse_volumes(doc["volumes"], limits=Limits())
    decoy = tuple(coarse_volume(v, Grain(h3_resolution=3)) for v in volumes)

    def coarse_of(grain: Grain | None, body: dict[str, Any]) -> Any:
        parsed = ParsedVolumes(body["volumes"], volumes, None, grain, decoy)
        return parse_notice(
            body,
            settings=Settings(),
            known_parties={"russia"},
            issuer="coalition",
            amendment=False,
            parsed=parsed,
        ).coarse

    assert coarse_of(Grain(), doc) is decoy  # the grain it asks for: taken as given
    own = coarse_of(Grain(h3_resolution=4), doc)  # another grain: computed again
    assert own is not decoy
    assert [v.source for v in own] == [coarse_volume(v, Grain()).source for v in volumes]
    assert coarse_of(Grain(), {**doc, "disclosure": "exact"}) is None  # exact: no cover


@pytest.mark.parametrize("processes", [0])
def test_without_workers_everything_is_parsed_inline(tmp_path: Path, processes: int) -> None:
    w = World(tmp_path, volume_parser_processes=processes)
    try:
        co = w.party("coalition")
        co.ok("POST", "/v1/notices", notice(["russia"]), 201)
        status: Any = _parsers(w)
        assert status == {"ready": 0, "offloaded": 0, "inline": 1, "respawned": 0}
    finally:
        w.stop()


def test_a_garbled_answer_is_parsed_inline_not_left_waiting() -> None:
    # Whatever a worker sends back, the request waiting on it gets an answer.
    class GarbledPipe:
        def recv_bytes(self) -> bytes:
            return b"\x80\x05 not a pickle"

        def fileno(self) -> int:
            return -1

        def close(self) -> None:
            pass

    class DeadProcess:
        name = "hub-parser-test"
        exitcode = 1  # it crashed

        def join(self, timeout: float | None = None) -> None:
            pass

    async def scenario() -> ParsedVolumes:
        parsers = VolumeParsers(0, Limits())
        parsers._closed = True  # no replacement is started by this test
        loop = asyncio.get_running_loop()
        worker = _Worker(DeadProcess(), GarbledPipe())  # type: ignore[arg-type]
        parsers._workers.append(worker)
        raw = [volume()]
        waiting: asyncio.Future[ParsedVolumes] = loop.create_future()
        worker.pending[0] = (waiting, raw, None, 10)
        parsers._readable(worker)
        assert parsers._workers == []
        return await asyncio.wait_for(waiting, 5)

    result = asyncio.run(scenario())
    assert result.error is None and len(result.volumes) == 1
