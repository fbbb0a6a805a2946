"""`Prepared` statements do what `Connection.execute` does with the same statement."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import (
    Column,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    bindparam,
    create_engine,
    insert,
    select,
    update,
)

from deconflict.store.prepared import Prepared

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
