"""Notices, their immutable versions and their recipients."""

from __future__ import annotations

import contextlib
import itertools
import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.expression import Executable

from deconflict.store.prepared import Prepared
from deconflict.store.rows import Row, rows
from deconflict.store.schema import notice_prepared, notice_recipients, notice_versions, notices

__all__ = ["NoticeRepo"]

# A notice as the service sees it: the notice row joined with its current version.
_NOTICE_COLUMNS = (
    notices.c.id,
    notices.c.issuer,
    notices.c.current_version.label("version"),
    notices.c.state,
    notices.c.broadcast,
    notices.c.expires_at,
    notices.c.created_at,
    notices.c.updated_at,
    notice_versions.c.kind,
    notice_versions.c.title,
    notice_versions.c.remarks,
    notice_versions.c.priority,
    notice_versions.c.addressees,
    notice_versions.c.volumes,
    notice_versions.c.ack_deadline,
    notice_versions.c.disclosure,
    notice_versions.c.created_at.label("version_created_at"),
)
_NOTICE_JOIN = notices.join(
    notice_versions,
    and_(
        notice_versions.c.notice_id == notices.c.id,
        notice_versions.c.version == notices.c.current_version,
    ),
)

# Statements of the hot write path, compiled once (see `Prepared`).
_INSERT_NOTICE = Prepared(insert(notices))
_INSERT_VERSION = Prepared(insert(notice_versions))
_INSERT_RECIPIENTS = Prepared(insert(notice_recipients))
_INSERT_PREPARED = Prepared(insert(notice_prepared))
# the columns to set are the parameters given besides ``b_id`` (compiled once per set)
_UPDATE_NOTICE = Prepared(update(notices).where(notices.c.id == bindparam("b_id")))
_NOTICE_BY_ID = Prepared(
    select(*_NOTICE_COLUMNS).select_from(_NOTICE_JOIN).where(notices.c.id == bindparam("notice_id"))
)


# What the strategic index needs of a notice: its current version and prepared form.
_SHAPES = select(
    notices.c.id,
    notices.c.issuer,
    notices.c.state,
    notices.c.current_version.label("version"),
    notice_versions.c.kind,
    notice_versions.c.priority,
    notice_versions.c.volumes,
    notice_versions.c.addressees,
    notice_versions.c.disclosure,
    notice_prepared.c.format.label("prepared_format"),
    notice_prepared.c.data.label("prepared"),
).select_from(
    _NOTICE_JOIN.outerjoin(
        notice_prepared,
        and_(
            notice_prepared.c.notice_id == notices.c.id,
            notice_prepared.c.version == notices.c.current_version,
        ),
    )
)
_CURSORS = itertools.count()  # server-side cursor names, one per read
_SHAPE_BY_ID = Prepared(_SHAPES.where(notices.c.id == bindparam("notice_id")))
# The same for every active notice, on SQLite: in the order the rows were written (the
# active notices' rowids from the state index, sorted first), so that the look-ups of
# their versions and prepared forms walk those tables' pages in order. In the state
# index's order (expiry) they jump about a file of a gigabyte at 100k notices: three
# times the CPU (1.9 s against 0.7 s measured there). LIMIT -1 keeps SQLite from
# flattening the sorted subquery into the join, CROSS JOIN from reordering the join.
_SQLITE_ACTIVE_SHAPES = text(
    """
    SELECT n.id, n.issuer, n.state, n.current_version AS version, v.kind, v.priority,
           v.volumes, v.addressees, v.disclosure,
           p.format AS prepared_format, p.data AS prepared
    FROM (SELECT rowid AS r FROM notices WHERE state = 'active' ORDER BY rowid LIMIT -1) s
    CROSS JOIN notices n ON n.rowid = s.r
    JOIN notice_versions v ON v.notice_id = n.id AND v.version = n.current_version
    LEFT JOIN notice_prepared p ON p.notice_id = n.id AND p.version = n.current_version
    """
)
# `count_active_unprepared` on SQLite, in the same order for the same reason (1.0 s of
# CPU against 0.3 s at 100k)
_SQLITE_COUNT_UNPREPARED = text(
    """
    SELECT count(*)
    FROM (SELECT rowid AS r FROM notices WHERE state = 'active' ORDER BY rowid LIMIT -1) s
    CROSS JOIN notices n ON n.rowid = s.r
    LEFT JOIN notice_prepared p
      ON p.notice_id = n.id AND p.version = n.current_version AND p.format = :fmt
    WHERE p.notice_id IS NULL
    """
)


class NoticeRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def insert(self, row: Row) -> None:
        _INSERT_NOTICE.execute(self._conn, row)

    def insert_version(self, row: Row) -> None:
        _INSERT_VERSION.execute(self._conn, row)

    def insert_prepared(self, row: Row) -> None:
        """The prepared form of a version (`notice_id`, `version`, `format`, `data`)."""
        _INSERT_PREPARED.execute(self._conn, row)

    def replace_prepared(self, found: Sequence[Row]) -> None:
        """Store prepared forms derived again (at start-up), over any of another format.

        Several processes may derive the same version at once: they derive the same bytes,
        and the last one written stays.
        """
        if not found:
            return
        dialect = postgresql if self._conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(notice_prepared)
        stmt = stmt.on_conflict_do_update(
            index_elements=["notice_id", "version"],
            set_={"format": stmt.excluded.format, "data": stmt.excluded.data},
        )
        self._conn.execute(stmt, list(found))

    def update(self, notice_id: str, **values: Any) -> None:
        _UPDATE_NOTICE.execute(self._conn, {"b_id": notice_id, **values})

    def get(self, notice_id: str) -> Row | None:
        found = _NOTICE_BY_ID.rows(self._conn, {"notice_id": notice_id})
        return found[0] if found else None

    def get_many(self, notice_ids: Sequence[str]) -> list[Row]:
        # one primary-key look-up each: the writer asks for the few notices a change
        # conflicts with, and an IN list would be compiled anew for every length
        return [r for n in notice_ids for r in _NOTICE_BY_ID.rows(self._conn, {"notice_id": n})]

    def find(
        self,
        *,
        visible_to: str | None,
        states: Sequence[str] | None,
        issuer: str | None = None,
        limit: int = 100,
        after_id: str | None = None,
    ) -> list[Row]:
        """Notices by id order; `visible_to` None means every notice (the admin's view)."""
        q = select(*_NOTICE_COLUMNS).select_from(_NOTICE_JOIN)
        if visible_to is not None:
            addressed = exists().where(
                and_(
                    notice_recipients.c.notice_id == notices.c.id,
                    notice_recipients.c.party_id == visible_to,
                )
            )
            q = q.where(or_(notices.c.issuer == visible_to, notices.c.broadcast == 1, addressed))
        if states:
            q = q.where(notices.c.state.in_(states))
        if issuer is not None:
            q = q.where(notices.c.issuer == issuer)
        if after_id is not None:
            q = q.where(notices.c.id > after_id)
        q = q.order_by(notices.c.id).limit(limit)
        return rows(self._conn.execute(q))

    def iter_active(self, batch: int = 5000) -> Iterable[list[Row]]:
        after = ""
        while True:
            q = (
                select(*_NOTICE_COLUMNS)
                .select_from(_NOTICE_JOIN)
                .where(and_(notices.c.state == "active", notices.c.id > after))
                .order_by(notices.c.id)
                .limit(batch)
            )
            found = rows(self._conn.execute(q))
            if not found:
                return
            yield found
            after = found[-1]["id"]

    def iter_active_shapes(self, batch: int = 5000) -> Iterable[list[Row]]:
        """What the strategic index needs of every active notice, streamed in batches:
        with its current version's prepared form (`prepared`, `prepared_format`; None
        when there is none).

        One query read through (not pages by id: with the state filter SQLite would
        sort every remaining active notice again for each page).
        """
        q: Executable = _SHAPES.where(notices.c.state == "active")
        if self._conn.dialect.name == "sqlite":
            q = _SQLITE_ACTIVE_SHAPES
        elif self._conn.dialect.name == "postgresql":
            yield from self._pg_active_shapes(batch)
            return
        # a server-side cursor where the backend has them: 100k volumes are not all held
        result = self._conn.execution_options(stream_results=True).execute(q)
        keys = list(result.keys())
        while found := result.fetchmany(batch):
            yield [dict(zip(keys, r, strict=True)) for r in found]

    def _pg_active_shapes(self, batch: int) -> Iterator[list[Row]]:
        """`iter_active_shapes` on PostgreSQL: a server-side cursor in binary format, in
        this transaction, read one batch ahead by a thread of its own.

        SQLAlchemy reads results as text, where each prepared form (~2 kB) travels
        hex-encoded, encoded by the server and decoded here: at 100k notices 2.6 s of
        the read's wall time (1.2 s of this process's CPU) against 1.7 s (0.6 s) in
        binary, with the same Python values. Reading ahead lets the server produce the
        next batch while the caller files this one (the driver lets go of the GIL while
        it waits): the index load's wall time then approaches its CPU time. The caller
        must not use this repo until it has consumed or closed the iterator.
        """
        raw = self._conn.connection.driver_connection
        if raw is None:  # pragma: no cover - a connection that is open has its driver's
            raise RuntimeError("no database connection")
        # run by the driver itself; the literal is this module's constant
        sql = str(
            _SHAPES.where(notices.c.state == "active").compile(
                dialect=self._conn.dialect, compile_kwargs={"literal_binds": True}
            )
        )
        ahead: queue.Queue[list[Row] | BaseException | None] = queue.Queue(maxsize=2)
        stop = threading.Event()

        def read() -> None:
            try:
                # a name of its own: a caller that retries (the index load after its
                # worker processes failed) reads again before this one is closed
                name = f"active_shapes_{next(_CURSORS)}"
                with raw.cursor(name=name, binary=True) as cur:
                    cur.execute(sql)
                    keys = [d.name for d in cur.description or ()]
                    while not stop.is_set() and (found := cur.fetchmany(batch)):
                        ahead.put([dict(zip(keys, r, strict=True)) for r in found])
                ahead.put(None)
            except BaseException as e:  # handed to the caller's thread, raised there
                ahead.put(e)

        reader = threading.Thread(target=read, name="active-shapes", daemon=True)
        reader.start()
        try:
            while (item := ahead.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            while reader.is_alive():  # a caller that stopped early: let the reader end
                with contextlib.suppress(queue.Empty):
                    ahead.get(timeout=0.05)
            reader.join()

    def shapes_by_id(self, notice_ids: Sequence[str]) -> list[Row]:
        """As `iter_active_shapes`, for the notices named, whatever their state (`state`)."""
        out: list[Row] = []
        for n in notice_ids:
            out += _SHAPE_BY_ID.rows(self._conn, {"notice_id": n})
        return out

    def count_active_unprepared(self, fmt: str) -> int:
        """Active notices whose current version has no prepared form of format `fmt`."""
        if self._conn.dialect.name == "sqlite":
            return int(self._conn.execute(_SQLITE_COUNT_UNPREPARED, {"fmt": fmt}).scalar_one())
        prepared = exists().where(
            and_(
                notice_prepared.c.notice_id == notices.c.id,
                notice_prepared.c.version == notices.c.current_version,
                notice_prepared.c.format == fmt,
            )
        )
        q = select(func.count()).select_from(notices).where(notices.c.state == "active", ~prepared)
        return int(self._conn.execute(q).scalar_one())

    def count_all_active(self) -> int:
        q = select(func.count()).select_from(notices).where(notices.c.state == "active")
        return int(self._conn.execute(q).scalar_one())

    def active_broadcast(self) -> list[Row]:
        """Active notices addressed to every party ("*"), current versions."""
        q = (
            select(*_NOTICE_COLUMNS)
            .select_from(_NOTICE_JOIN)
            .where(and_(notices.c.state == "active", notices.c.broadcast == 1))
            .order_by(notices.c.created_at, notices.c.id)
        )
        return rows(self._conn.execute(q))

    def count_active(self, issuer: str) -> int:
        q = select(func.count()).where(
            and_(notices.c.issuer == issuer, notices.c.state == "active")
        )
        return int(self._conn.execute(q).scalar_one())

    def expired_ids(self, now: str, limit: int = 500) -> list[str]:
        q = (
            select(notices.c.id)
            .where(and_(notices.c.state == "active", notices.c.expires_at < now))
            .limit(limit)
        )
        return [r[0] for r in self._conn.execute(q)]

    def set_recipients(self, notice_id: str, party_ids: Iterable[str]) -> None:
        self._conn.execute(
            delete(notice_recipients).where(notice_recipients.c.notice_id == notice_id)
        )
        self.add_recipients(notice_id, party_ids)

    def add_recipients(self, notice_id: str, party_ids: Iterable[str]) -> None:
        found = [{"notice_id": notice_id, "party_id": p} for p in party_ids]
        if found:
            _INSERT_RECIPIENTS.executemany(self._conn, found)

    def add_recipient_to(self, party_id: str, notice_ids: Iterable[str]) -> None:
        found = [{"notice_id": n, "party_id": party_id} for n in notice_ids]
        if found:
            _INSERT_RECIPIENTS.executemany(self._conn, found)
