"""`Prepared` statements do what `Connection.execute` does with the same statement."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    bindparam,
    create_engine,
    func,
    insert,
    make_url,
    select,
    update,
)

from deconflict.store.prepared import Prepared, UpdateMany, _row_chunks
from tests.postgres import PostgresServer

md = MetaData()
items = Table(
    "items",
    md,
    Column("id", Integer, primary_key=True),  # autoincrement: never given
    Column("name", String(20), nullable=False),
    Column("state", String(20), nullable=False, server_default="new"),
    Column("blob", LargeBinary),
)


def test_prepared_statements_match_sqlalchemy(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    md.create_all(engine)
    ins = Prepared(insert(items))
    mark = Prepared(update(items).where(items.c.name == bindparam("b_name")).values(state="seen"))
    by_name = Prepared(select(items).where(items.c.name == bindparam("name")))
    with engine.begin() as conn:
        # only the columns given: the others take their defaults, as with execute()
        ins.execute(conn, {"name": "a", "blob": b"\x00\xff"})
        ins.executemany(conn, [{"name": "b"}, {"name": "c"}])
        ins.executemany(conn, [])
        conn.execute(insert(items), {"name": "d", "state": "old", "blob": None})
        mark.executemany(conn, [{"b_name": "a"}, {"b_name": "c"}])
        assert by_name.rows(conn, {"name": "a"}) == [
            {"id": 1, "name": "a", "state": "seen", "blob": b"\x00\xff"}
        ]
        assert by_name.rows(conn, {"name": "zz"}) == []
        rows = [dict(r) for r in conn.execute(select(items).order_by(items.c.id)).mappings()]
    assert [(r["name"], r["state"]) for r in rows] == [
        ("a", "seen"),
        ("b", "new"),
        ("c", "seen"),
        ("d", "old"),
    ]
    # a rolled-back transaction takes the prepared statements' rows with it
    try:
        with engine.begin() as conn:
            ins.execute(conn, {"name": "lost"})
            raise RuntimeError
    except RuntimeError:
        pass
    with engine.connect() as conn:
        assert by_name.rows(conn, {"name": "lost"}) == []


def test_a_parameter_the_statement_does_not_use_is_refused(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    md.create_all(engine)
    with engine.begin() as conn:
        with pytest.raises(ValueError, match="naem"):
            Prepared(insert(items)).execute(conn, {"naem": "typo"})
        rename = Prepared(update(items).where(items.c.id == bindparam("b_id")))
        with pytest.raises(ValueError, match="colour"):
            rename.execute(conn, {"b_id": 1, "colour": "red"})


# -- many rows in few statements (issue 19) ------------------------------------------
# On SQLite each statement step lets go of the GIL, and getting it back beside a busy
# thread can take the interpreter's whole switch interval: the writer's many-row
# writes must be a few statements, not one per row. These tests hold them to the
# results of one statement per row, and count the statements SQLite runs.

rows_md = MetaData()
log_rows = Table(
    "log_rows",
    rows_md,
    Column("seq", Integer, primary_key=True),  # generated: must follow the order given
    Column("party", String(20), nullable=False),
    Column("state", String(20), nullable=False, server_default="new"),
    Column("blob", LargeBinary),
    Column("n", Integer),
)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        eng = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
        rows_md.create_all(eng)
        yield eng
        eng.dispose()
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    with server.database() as dsn:
        eng = create_engine(make_url(dsn).set(drivername="postgresql+psycopg"))
        rows_md.create_all(eng)
        yield eng
        eng.dispose()


def _statements(conn: Connection) -> list[str]:
    """Every statement SQLite starts on this connection from now on (SQLite only)."""
    seen: list[str] = []

    def note(sql: str) -> None:
        if not sql.startswith(("BEGIN", "COMMIT")):
            seen.append(sql)

    conn.connection.dbapi_connection.set_trace_callback(note)  # type: ignore[union-attr]
    return seen


@pytest.mark.parametrize("n", [2, 3, 127, 128, 129, 1000])
def test_many_rows_inserted_in_order_as_one_statement_each_would(engine: Engine, n: int) -> None:
    ins = Prepared(insert(log_rows))
    given = [
        {"party": f"p{i % 7}", "blob": bytes([i % 256, 0]), "n": i if i % 3 else None}
        for i in range(n)
    ]
    with engine.begin() as conn:
        seen = _statements(conn) if engine.dialect.name == "sqlite" else None
        ins.executemany(conn, given)
        if seen is not None:
            # 1,024 rows a statement, then the rest in powers of two
            assert len(seen) <= n // 1024 + 10, seen[:3]
        conn.execute(insert(log_rows), given)  # SQLAlchemy's own, for comparison
        got = [dict(r) for r in conn.execute(select(log_rows).order_by(log_rows.c.seq)).mappings()]
    assert [r["seq"] for r in got] == list(range(1, 2 * n + 1))
    ours, theirs = got[:n], got[n:]
    strip = [{k: v for k, v in r.items() if k != "seq"} for r in ours]
    assert strip == [{k: v for k, v in r.items() if k != "seq"} for r in theirs]
    assert strip == [{**g, "state": "new"} for g in given]


def test_a_failing_row_stores_none_of_a_many_row_insert(engine: Engine) -> None:
    ins = Prepared(insert(log_rows))
    # (the driver's own error: `Prepared` runs on the driver's cursor)
    with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError)), engine.begin() as conn:
        ins.executemany(conn, [{"party": "a"}] * 300 + [{"party": None}])
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(log_rows)).scalar_one() == 0


def test_update_many_matches_one_update_per_change(engine: Engine) -> None:
    ins = Prepared(insert(log_rows))
    many = UpdateMany(log_rows, "seq", ["state", "blob"])
    start = [{"party": f"p{i}", "blob": b"x", "n": i} for i in range(700)]
    changes = [{"seq": s, "state": f"s{s}", "blob": bytes([s % 256])} for s in range(1, 701, 2)]
    changes += [
        {"seq": 9999, "state": "nobody", "blob": None},  # no such row: changes nothing
        {"seq": 5, "state": "later", "blob": None},  # a second change of row 5: it holds
    ]
    with engine.begin() as conn:
        ins.executemany(conn, start)
        seen = _statements(conn) if engine.dialect.name == "sqlite" else None
        many.run(conn, changes)
        many.run(conn, [])
        if seen is not None:  # 351 rows named (row 5 twice): 256 + 64 + 16 + 8 + 4 + 2 + 1
            assert 1 <= len(seen) <= 7, seen[:3]
        got = {
            r["seq"]: r for r in conn.execute(select(log_rows).order_by(log_rows.c.seq)).mappings()
        }
    assert len(got) == 700
    for s, r in got.items():
        if s == 5:
            assert (r["state"], r["blob"], r["n"]) == ("later", None, 4)
        elif s % 2:
            assert (r["state"], r["blob"], r["n"]) == (f"s{s}", bytes([s % 256]), s - 1)
        else:  # not named by any change
            assert (r["state"], r["blob"], r["n"]) == ("new", b"x", s - 1)


@given(
    st.integers(min_value=0, max_value=5000),
    st.integers(min_value=1, max_value=40),
    st.sampled_from([999, 32766, 250000]),
)
def test_row_chunks_cover_every_row_once_in_order_within_sqlite_limits(
    n: int, width: int, variables: int
) -> None:
    chunks = list(_row_chunks(n, width, variables))
    assert [s for s, _ in chunks] == list(itertools.accumulate([0] + [k for _, k in chunks]))[:-1]
    assert sum(k for _, k in chunks) == n
    assert all(k * width <= variables or k == 1 for _, k in chunks)
    # few distinct statement texts (the driver caches them by text)
    assert len({k for _, k in chunks}) <= 11
