"""Statements of the hot write path, compiled once and run on the driver's cursor.

`Connection.execute` re-derives a statement's cache key, parameter list and result
metadata on every call: 10-40 us of Python each time, a dozen times per submitted
notice, all of it on the one core the hub's writer has. A `Prepared` statement is the
same SQLAlchemy Core statement, compiled once per dialect (so it stays portable: the
SQL text and parameter style are the dialect's own), whose parameters go to the DBAPI
cursor of the connection the caller's transaction runs on. Type conversions the
dialect declares for a parameter (e.g. SQLite's for binary columns) are still applied.

Compiled forms are cached by dialect and by the names of the parameters given (dict
order: callers build their rows the same way each time; every row of an `executemany`
must have the first one's keys, as with `execute`). Only for statements with fixed
parameters (no expanding ``IN``) whose result columns
need no conversion (text, integers, floats, bytes); the rest keep `Connection.execute`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.sql.expression import Executable

__all__ = ["Prepared"]

Params = Mapping[str, Any]


class _Compiled:
    def __init__(self, stmt: Executable, dialect: Dialect, keys: Sequence[str]) -> None:
        # ``column_keys``: an INSERT names only the columns given (as `execute` does),
        # so that the others take their defaults
        compiled = stmt.compile(dialect=dialect, column_keys=list(keys))  # type: ignore[attr-defined]
        self.sql: str = compiled.string
        names = list(compiled.positiontup) if compiled.positional else list(compiled.binds)
        unused = set(keys) - set(names)
        if unused:  # `execute` refuses these too: a misspelt column must not be dropped
            raise ValueError(f"parameters the statement does not use: {sorted(unused)}")
        self.positional: bool = bool(compiled.positional)
        self.names = names
        self.processors: list[tuple[str, Callable[[Any], Any]]] = []
        for name in set(names):
            process = compiled.binds[name].type.bind_processor(dialect)
            if process is not None:
                self.processors.append((name, process))
        # Parameters a statement sets itself (``.values(state="delivered")``) are bound
        # values of their own; the caller's mapping supplies the rest.
        self.fixed = {
            name: bind.value
            for name, bind in compiled.binds.items()
            if not bind.required and bind.callable is None and name in names
        }

    def params(self, given: Params) -> Any:
        values: dict[str, Any] = {**self.fixed, **given} if self.fixed else dict(given)
        for name, process in self.processors:
            values[name] = process(values[name])
        if self.positional:
            return tuple(values[n] for n in self.names)
        return values


class Prepared:
    """A Core statement run without SQLAlchemy's per-call overhead (see the module)."""

    def __init__(self, stmt: Executable) -> None:
        self.stmt = stmt
        self._cache: dict[tuple[str, tuple[str, ...]], _Compiled] = {}

    def _compiled(self, conn: Connection, params: Params) -> _Compiled:
        key = (conn.dialect.name, tuple(params))
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = _Compiled(self.stmt, conn.dialect, key[1])
        return found

    @staticmethod
    def _cursor(conn: Connection) -> Any:
        return conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]

    def execute(self, conn: Connection, params: Params) -> None:
        c = self._compiled(conn, params)
        self._cursor(conn).execute(c.sql, c.params(params))

    def executemany(self, conn: Connection, rows: Sequence[Params]) -> None:
        if rows:
            c = self._compiled(conn, rows[0])
            self._cursor(conn).executemany(c.sql, [c.params(r) for r in rows])

    def rows(self, conn: Connection, params: Params) -> list[dict[str, Any]]:
        c = self._compiled(conn, params)
        cur = self._cursor(conn)
        cur.execute(c.sql, c.params(params))
        keys = [d[0] for d in cur.description]
        return [dict(zip(keys, r, strict=True)) for r in cur.fetchall()]
