"""Start-up loads each version's prepared form instead of parsing it again (issue 14).

On both backends: a restart derives nothing; a database without prepared forms (from
before them), or with forms of another format, or with a form that belongs to other
content, or damaged, is derived again from the stored text, once, and gives the same index.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from deconflict.service import Hub
from deconflict.service import index as index_module
from deconflict.store.factory import open_store
from deconflict.store.repos.notices import _SHAPES
from deconflict.store.schema import notice_prepared, notices
from tests.service.helpers import ADMIN_TOKEN, make_settings, notice


def _start(tmp_path: Path, backend: dict[str, Any]) -> Hub:
    hub = Hub(make_settings(tmp_path / "hub.db", **backend))
    hub.start(sweep=False)
    return hub


def _fill(hub: Hub) -> dict[str, Any]:
    admin = hub.authenticate(ADMIN_TOKEN)
    who = {
        p: hub.authenticate(asyncio.run(hub.register_party(admin, {"id": p, "name": p}))["token"])
        for p in ("coalition", "russia", "un")
    }
    circle = {
        "geometry": {"type": "Point", "coordinates": [36.3, 35.2]},
        "radius_m": 4000,
        "altitude_lower": {"value": 0, "units": "M", "reference": "W84"},
        "altitude_upper": {"value": 50, "units": "FL"},
        "time_start": "2030-01-01T00:00:00.250Z",
        "time_end": "2030-01-02T00:00:00Z",
    }
    for i in range(6):
        asyncio.run(hub.notify(who["coalition"], notice(["russia"], lon=36.0 + i * 0.05)))
    asyncio.run(hub.notify(who["russia"], notice(["*"], lon=36.12, disclosure="existence")))
    asyncio.run(
        hub.notify(
            who["un"],
            {
                "kind": "protected_site",
                "title": "hospital",
                "addressees": ["*"],
                "volumes": [circle],
            },
        )
    )
    first = next(n for n in hub.index if n.issuer == "coalition")
    asyncio.run(
        hub.amend(
            who["coalition"],
            first.id,
            {**notice(["russia", "un"], lon=36.31), "version": first.version},
        )
    )
    return who


def _picture(hub: Hub) -> dict[str, Any]:
    """Everything the index holds of each notice, to the bit."""
    out = {}
    for n in hub.index:
        vols = []
        for v in (*n.volumes, *(n.coarse or ())):
            fp = v.footprint
            vols.append(
                (
                    v.to_json(),
                    fp.to_geojson(),
                    [p.tobytes() for p in fp.parts],
                    [p.tobytes() for p in fp.dense],
                    fp.center,
                    fp.cap_radius_m,
                    fp.radius_m,
                    v.altitude,
                    v.window,
                    fp.cells(),
                )
            )
        out[n.id] = (
            n.version,
            n.issuer,
            n.kind,
            n.priority,
            n.readers,
            n.disclosure,
            n.coarse is None,
            vols,
        )
    return out


def _conflicts(hub: Hub) -> list[Any]:
    # each pair once, named in the order the index holds them: which is first depends on
    # the order a start-up reads the store in, not on what conflicts
    with hub.index.reading() as index:
        return sorted((*sorted((c.a.id, c.b.id)), c.min_distance_m) for c in index.all_conflicts())


def _prepared_rows(hub: Hub) -> list[Any]:
    with hub.store.read() as repo:
        return list(repo.conn.execute(select(notice_prepared).order_by("notice_id", "version")))


def _tamper(tmp_path: Path, backend: dict[str, Any], stmt: Any) -> None:
    store = open_store(make_settings(tmp_path / "hub.db", **backend))
    try:
        with store.write() as repo:
            repo.conn.execute(stmt)
    finally:
        store.close()


def test_a_restart_loads_what_was_stored_with_each_version(
    tmp_path: Path, backend: dict[str, Any]
) -> None:
    hub = _start(tmp_path, backend)
    try:
        _fill(hub)
        before, conflicts = _picture(hub), _conflicts(hub)
        stored = _prepared_rows(hub)
    finally:
        hub.close()
    # one form per version written (the amended notice has two), none for the cancelled
    assert len(stored) == len(before) + 1
    hub = _start(tmp_path, backend)
    try:
        assert hub.index.derived == 0
        assert _picture(hub) == before
        assert _conflicts(hub) == conflicts
        assert conflicts  # the fill does conflict: the comparison means something
    finally:
        hub.close()


@pytest.mark.parametrize("how", ["missing", "other_format", "other_content", "damaged"])
def test_forms_missing_stale_or_misplaced_are_derived_again_once(
    tmp_path: Path, backend: dict[str, Any], how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = _start(tmp_path, backend)
    try:
        _fill(hub)
        before, conflicts = _picture(hub), _conflicts(hub)
        rows = _prepared_rows(hub)
    finally:
        hub.close()
    if how == "missing":  # a database from before prepared forms
        _tamper(tmp_path, backend, delete(notice_prepared))
    elif how == "other_format":  # written by a version of the hub that prepared otherwise
        _tamper(tmp_path, backend, update(notice_prepared).values(format="v0-older"))
    elif how == "damaged":  # one bit of a vertex changed: its tag refuses it
        current = [r for r in rows if before.get(r.notice_id, (None,))[0] == r.version]
        a = current[0]
        data = bytearray(a.data)
        data[-20] ^= 0x01
        _tamper(
            tmp_path,
            backend,
            update(notice_prepared)
            .where(notice_prepared.c.notice_id == a.notice_id)
            .where(notice_prepared.c.version == a.version)
            .values(data=bytes(data)),
        )
    else:  # one current version given another's form: its digest refuses it
        current = [r for r in rows if before.get(r.notice_id, (None,))[0] == r.version]
        a, b = current[0], current[1]
        _tamper(
            tmp_path,
            backend,
            update(notice_prepared)
            .where(notice_prepared.c.notice_id == a.notice_id)
            .where(notice_prepared.c.version == a.version)
            .values(data=b.data),
        )
    hub = _start(tmp_path, backend)
    try:
        assert hub.index.derived == (len(before) if how in ("missing", "other_format") else 1)
        assert _picture(hub) == before
        assert _conflicts(hub) == conflicts
    finally:
        hub.close()
    hub = _start(tmp_path, backend)  # what was derived was stored: nothing the next time
    try:
        assert hub.index.derived == 0
        assert _picture(hub) == before
    finally:
        hub.close()


def test_derived_again_in_worker_processes(
    tmp_path: Path, backend: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = _start(tmp_path, backend)
    try:
        _fill(hub)
        before = _picture(hub)
    finally:
        hub.close()
    _tamper(tmp_path, backend, delete(notice_prepared))
    monkeypatch.setattr(index_module, "PARALLEL_LOAD_MIN", 3)
    monkeypatch.setattr(index_module, "_LOAD_CHUNK", 2)
    monkeypatch.setattr(index_module, "_STORE_CHUNK", 3)
    hub = Hub(make_settings(tmp_path / "hub.db", index_load_processes=2, **backend))
    hub.start(sweep=False)
    try:
        assert hub.index.derived == len(before)
        assert _picture(hub) == before
    finally:
        hub.close()
    hub = _start(tmp_path, backend)
    try:
        assert hub.index.derived == 0
        assert _picture(hub) == before
    finally:
        hub.close()


def test_the_start_up_read_gives_every_active_notice_as_the_plain_query_does(
    tmp_path: Path, backend: dict[str, Any]
) -> None:
    """The read the index is rebuilt from (on PostgreSQL: binary, read ahead by a
    thread) gives the rows of SQLAlchemy's own query of the same columns, value for
    value and of the same types, in whatever batches; a caller that stops early leaves
    its read usable."""
    hub = _start(tmp_path, backend)
    try:
        _fill(hub)
    finally:
        hub.close()
    store = open_store(make_settings(tmp_path / "hub.db", **backend))
    try:
        with store.read() as repo:
            plain = [
                dict(r._mapping)
                for r in repo.conn.execute(_SHAPES.where(notices.c.state == "active"))
            ]
            batches = list(repo.notices.iter_active_shapes(batch=2))
            assert [len(b) for b in batches[:-1]] == [2] * (len(batches) - 1)
            streamed = [r for b in batches for r in b]
            key = lambda r: r["id"]  # noqa: E731 - the order differs by backend
            assert sorted(streamed, key=key) == sorted(plain, key=key)
            for a, b in zip(sorted(streamed, key=key), sorted(plain, key=key), strict=True):
                assert {k: type(v) for k, v in a.items()} == {k: type(v) for k, v in b.items()}
            assert len(plain) == 8 and all(r["prepared"] for r in plain)
            shapes = repo.notices.iter_active_shapes(batch=1)
            assert len(next(iter(shapes))) == 1
            shapes.close()  # type: ignore[attr-defined]  # a generator, stopped early
            assert repo.notices.count_all_active() == 8
    finally:
        store.close()
