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

Many rows, few statements (SQLite). The sqlite3 driver lets go of the GIL around every
step of a statement, and a thread that lets go of it beside a busy one waits up to the
interpreter's switch interval (5 ms) to have it back. The writer's `executemany` of a
thousand event rows was a thousand such waits whenever the hub's other threads were
busy (report ingestion, screening): seconds, not milliseconds, ahead of every notice
waiting for the writer (issue 19). So on SQLite an `executemany` of a plain INSERT runs
as multi-row ``INSERT ... VALUES (...), (...)`` statements, and `UpdateMany` sets
columns on many rows by key in one ``UPDATE ... FROM`` a ``VALUES`` list: a handful of
steps for any number of rows. Row order is kept (an INSERT's VALUES rows are inserted
in the order listed, so generated keys follow it). Other dialects keep the driver's
`executemany` (psycopg pipelines it).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Column, Connection, Table, bindparam, update
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.sql.expression import Executable

__all__ = ["Prepared", "UpdateMany"]

Params = Mapping[str, Any]

# Variables in one statement when the driver cannot say (SQLite's smallest compiled-in
# limit, of builds before 3.32); and rows in one, so that a statement's text stays small.
_SQLITE_VARIABLES = 999
_MAX_ROWS_PER_STATEMENT = 1024
# "INSERT INTO t (a, b) VALUES (?, ?)" and nothing after it (no RETURNING, no SQL
# expression among the values): the form that may be repeated row after row.
_PLAIN_INSERT = re.compile(r"^(INSERT INTO .+ VALUES )(\((?:\?, )*\?\))$", re.DOTALL)


def _variables(cursor: Any) -> int:
    """How many variables one statement of this SQLite connection may have."""
    getlimit = getattr(cursor.connection, "getlimit", None)  # Python 3.11+
    return int(getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)) if getlimit else _SQLITE_VARIABLES


def _row_chunks(
    n: int, width: int, variables: int = _SQLITE_VARIABLES
) -> Iterator[tuple[int, int]]:
    """(start, size) covering ``n`` rows of ``width`` variables each, in order.

    Full chunks of the largest size that fits, then the rest in powers of two, so a
    statement's text takes one of a few forms (the driver caches statements by text).
    """
    per = _MAX_ROWS_PER_STATEMENT
    while per > 1 and per * width > variables:
        per //= 2
    start = 0
    while n - start >= per:
        yield start, per
        start += per
    size = per
    while start < n:
        while size > n - start:
            size //= 2
        yield start, size
        start += size


def _bound(value: Any, process: Callable[[Any], Any] | None) -> Any:
    return value if process is None else process(value)


def _cursor(conn: Connection) -> Any:
    return conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]


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
        plain = _PLAIN_INSERT.match(self.sql) if dialect.name == "sqlite" else None
        self._head, self._tuple = (plain.group(1), plain.group(2)) if plain else ("", "")
        self._many: dict[int, str] = {}

    def many_sql(self, size: int) -> str | None:
        """The statement inserting ``size`` rows at once (None: not a plain SQLite INSERT)."""
        if not self._head:
            return None
        sql = self._many.get(size)
        if sql is None:
            sql = self._many[size] = self._head + ", ".join([self._tuple] * size)
        return sql

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

    def execute(self, conn: Connection, params: Params) -> None:
        c = self._compiled(conn, params)
        _cursor(conn).execute(c.sql, c.params(params))

    def executemany(self, conn: Connection, rows: Sequence[Params]) -> None:
        if not rows:
            return
        c = self._compiled(conn, rows[0])
        params = [c.params(r) for r in rows]
        cursor = _cursor(conn)
        if len(rows) == 1 or c.many_sql(1) is None:
            cursor.executemany(c.sql, params)
            return
        for start, size in _row_chunks(len(params), len(c.names), _variables(cursor)):
            flat = [v for p in params[start : start + size] for v in p]
            cursor.execute(c.many_sql(size), flat)

    def rows(self, conn: Connection, params: Params) -> list[dict[str, Any]]:
        c = self._compiled(conn, params)
        cur = _cursor(conn)
        cur.execute(c.sql, c.params(params))
        keys = [d[0] for d in cur.description]
        return [dict(zip(keys, r, strict=True)) for r in cur.fetchall()]


class UpdateMany:
    """Set ``columns`` on many rows of ``table``, each found by its ``key`` (see the module).

    Each change is a mapping of the key column's name and each column's new value.
    On SQLite: ``WITH v(key, ...) AS (VALUES ...) UPDATE table SET ... FROM v``, a few
    statements for any number of changes (SQLite 3.33 or later, for ``UPDATE FROM``);
    on other dialects (and older SQLite) the same UPDATE once per change, by the driver.
    A key that matches no row changes nothing, and of two changes of one row the later
    holds, as with one UPDATE per change.
    """

    def __init__(self, table: Table, key: str, columns: Sequence[str]) -> None:
        self.key = key
        self.columns = tuple(columns)
        names = (key, *self.columns)
        self._types: list[Column[Any]] = [table.c[n] for n in names]
        self._each = Prepared(
            update(table)
            .where(table.c[key] == bindparam("_key"))
            .values({n: bindparam(n) for n in self.columns})
        )
        cte = ", ".join(f"c{i}" for i in range(len(names)))
        sets = ", ".join(f'"{n}" = v.c{i + 1}' for i, n in enumerate(self.columns))
        self._sqlite_head = f"WITH v({cte}) AS (VALUES "
        # Names from the schema's own Table, never from a request; values are bound.
        self._sqlite_tail = (
            f') UPDATE "{table.name}" SET {sets} FROM v WHERE "{table.name}"."{key}" = v.c0'  # noqa: S608
        )
        self._tuple = "(" + ", ".join(["?"] * len(names)) + ")"
        self._sql: dict[int, str] = {}

    def run(self, conn: Connection, changes: Sequence[Params]) -> None:
        if not changes:
            return
        if conn.dialect.name != "sqlite" or sqlite3.sqlite_version_info < (3, 33):
            self._each.executemany(
                conn, [{"_key": c[self.key], **{n: c[n] for n in self.columns}} for c in changes]
            )
            return
        # Of two changes of one row the later holds, as when run one after the other
        # (a join that meets a row twice would use either).
        last = {c[self.key]: c for c in changes}
        dialect = conn.dialect
        processors = [col.type.bind_processor(dialect) for col in self._types]
        names = (self.key, *self.columns)
        rows = [
            [_bound(c[n], p) for n, p in zip(names, processors, strict=True)] for c in last.values()
        ]
        cursor = _cursor(conn)
        for start, size in _row_chunks(len(rows), len(names), _variables(cursor)):
            sql = self._sql.get(size)
            if sql is None:
                values = ", ".join([self._tuple] * size)
                sql = self._sql[size] = self._sqlite_head + values + self._sqlite_tail
            cursor.execute(sql, [v for r in rows[start : start + size] for v in r])
