"""Data access over one connection: the statements the service layer needs.

No business rules live here (who may see what, which transitions are
allowed): only rows in, rows out. Rows are returned as plain dicts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
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

from deconflict.store.prepared import Prepared
from deconflict.store.schema import (
    ACK_OPEN,
    acks,
    conflicts,
    coordinate_reads,
    events,
    message_recipients,
    messages,
    notice_recipients,
    notice_versions,
    notices,
    parties,
)

__all__ = ["Repo", "Row", "Savepoint", "format_ts", "parse_ts"]

Row = dict[str, Any]


def format_ts(dt: datetime) -> str:
    """Fixed-width UTC text, so that string order is time order."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_ts(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _rows(result: Any) -> list[Row]:
    keys = list(result.keys())
    return [dict(zip(keys, r, strict=True)) for r in result]


def _one(result: Any) -> Row | None:
    keys = list(result.keys())
    r = result.first()
    return None if r is None else dict(zip(keys, r, strict=True))


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
_INSERT_ACKS = Prepared(insert(acks))
_INSERT_EVENTS = Prepared(insert(events))
_INSERT_READS = Prepared(insert(coordinate_reads))
_INSERT_CONFLICT = Prepared(insert(conflicts))
# the columns to set are the parameters given besides ``b_id`` (compiled once per set)
_UPDATE_CONFLICT = Prepared(update(conflicts).where(conflicts.c.id == bindparam("b_id")))
_UPDATE_NOTICE = Prepared(update(notices).where(notices.c.id == bindparam("b_id")))
_NOTICE_BY_ID = Prepared(
    select(*_NOTICE_COLUMNS).select_from(_NOTICE_JOIN).where(notices.c.id == bindparam("notice_id"))
)
_EVENTS_AFTER = Prepared(
    select(events)
    .where(and_(events.c.party_id == bindparam("party_id"), events.c.seq > bindparam("after")))
    .order_by(events.c.seq)
    .limit(bindparam("limit"))
)
_ACKS_OF_NOTICE = Prepared(select(acks).where(acks.c.notice_id == bindparam("notice_id")))
_ACK_DELIVERED = Prepared(
    update(acks)
    .where(
        and_(
            acks.c.notice_id == bindparam("b_notice_id"),
            acks.c.version == bindparam("b_version"),
            acks.c.addressee == bindparam("b_addressee"),
        )
    )
    .values(state="delivered", delivered_at=bindparam("b_delivered_at"))
)


_SAVEPOINT = Prepared(text("SAVEPOINT change"))
_RELEASE = Prepared(text("RELEASE SAVEPOINT change"))
_ROLLBACK_TO = Prepared(text("ROLLBACK TO SAVEPOINT change"))


class Savepoint:
    """A SAVEPOINT in the current transaction: `commit()` releases it, `rollback()`
    undoes everything done since it and leaves the rest of the transaction intact.

    Plain SQL (the same on SQLite and PostgreSQL), `Prepared`: the group-commit writer
    takes one per change, and SQLAlchemy's nested-transaction bookkeeping costs four
    times as much.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        _SAVEPOINT.execute(conn, {})

    def commit(self) -> None:
        _RELEASE.execute(self._conn, {})

    def rollback(self) -> None:
        _ROLLBACK_TO.execute(self._conn, {})
        _RELEASE.execute(self._conn, {})


class Repo:
    """Statements bound to one connection (inside a transaction the store owns)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def savepoint(self) -> Savepoint:
        """A SAVEPOINT in the current transaction (see `Savepoint`)."""
        return Savepoint(self.conn)

    # -- parties -------------------------------------------------------------
    def insert_party(self, row: Row) -> None:
        self.conn.execute(insert(parties).values(**row))

    def get_party(self, party_id: str) -> Row | None:
        return _one(self.conn.execute(select(parties).where(parties.c.id == party_id)))

    def party_by_key_id(self, key_id: str) -> Row | None:
        return _one(self.conn.execute(select(parties).where(parties.c.token_key_id == key_id)))

    def list_parties(self) -> list[Row]:
        return _rows(self.conn.execute(select(parties).order_by(parties.c.id)))

    # -- notices -------------------------------------------------------------
    def insert_notice(self, row: Row) -> None:
        _INSERT_NOTICE.execute(self.conn, row)

    def insert_version(self, row: Row) -> None:
        _INSERT_VERSION.execute(self.conn, row)

    def update_notice(self, notice_id: str, **values: Any) -> None:
        _UPDATE_NOTICE.execute(self.conn, {"b_id": notice_id, **values})

    def get_notice(self, notice_id: str) -> Row | None:
        found = _NOTICE_BY_ID.rows(self.conn, {"notice_id": notice_id})
        return found[0] if found else None

    def get_notices(self, notice_ids: Sequence[str]) -> list[Row]:
        # one primary-key look-up each: the writer asks for the few notices a change
        # conflicts with, and an IN list would be compiled anew for every length
        return [r for n in notice_ids for r in _NOTICE_BY_ID.rows(self.conn, {"notice_id": n})]

    def list_notices(
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
        return _rows(self.conn.execute(q))

    def iter_active_notices(self, batch: int = 5000) -> Iterable[list[Row]]:
        after = ""
        while True:
            q = (
                select(*_NOTICE_COLUMNS)
                .select_from(_NOTICE_JOIN)
                .where(and_(notices.c.state == "active", notices.c.id > after))
                .order_by(notices.c.id)
                .limit(batch)
            )
            rows = _rows(self.conn.execute(q))
            if not rows:
                return
            yield rows
            after = rows[-1]["id"]

    def iter_active_shapes(self, batch: int = 5000) -> Iterable[list[Row]]:
        """What the strategic index needs of every active notice, streamed in batches.

        One query read through (not pages by id: with the state filter SQLite would
        sort every remaining active notice again for each page).
        """
        q = (
            select(
                notices.c.id,
                notices.c.issuer,
                notices.c.current_version.label("version"),
                notice_versions.c.kind,
                notice_versions.c.priority,
                notice_versions.c.volumes,
            )
            .select_from(_NOTICE_JOIN)
            .where(notices.c.state == "active")
        )
        result = self.conn.execute(q)
        keys = list(result.keys())
        while rows := result.fetchmany(batch):
            yield [dict(zip(keys, r, strict=True)) for r in rows]

    def count_all_active(self) -> int:
        q = select(func.count()).select_from(notices).where(notices.c.state == "active")
        return int(self.conn.execute(q).scalar_one())

    def active_broadcast_notices(self) -> list[Row]:
        """Active notices addressed to every party ("*"), current versions."""
        q = (
            select(*_NOTICE_COLUMNS)
            .select_from(_NOTICE_JOIN)
            .where(and_(notices.c.state == "active", notices.c.broadcast == 1))
            .order_by(notices.c.created_at, notices.c.id)
        )
        return _rows(self.conn.execute(q))

    def count_active(self, issuer: str) -> int:
        q = select(func.count()).where(
            and_(notices.c.issuer == issuer, notices.c.state == "active")
        )
        return int(self.conn.execute(q).scalar_one())

    def expired_notice_ids(self, now: str, limit: int = 500) -> list[str]:
        q = (
            select(notices.c.id)
            .where(and_(notices.c.state == "active", notices.c.expires_at < now))
            .limit(limit)
        )
        return [r[0] for r in self.conn.execute(q)]

    def set_recipients(self, notice_id: str, party_ids: Iterable[str]) -> None:
        self.conn.execute(
            delete(notice_recipients).where(notice_recipients.c.notice_id == notice_id)
        )
        self.add_recipients(notice_id, party_ids)

    def add_recipients(self, notice_id: str, party_ids: Iterable[str]) -> None:
        rows = [{"notice_id": notice_id, "party_id": p} for p in party_ids]
        if rows:
            _INSERT_RECIPIENTS.executemany(self.conn, rows)

    def add_recipient_to(self, party_id: str, notice_ids: Iterable[str]) -> None:
        rows = [{"notice_id": n, "party_id": party_id} for n in notice_ids]
        if rows:
            _INSERT_RECIPIENTS.executemany(self.conn, rows)

    # -- acknowledgements ----------------------------------------------------
    def insert_acks(self, rows: Sequence[Row]) -> None:
        if rows:
            _INSERT_ACKS.executemany(self.conn, rows)

    def acks_by_key(self, keys: Sequence[tuple[str, int, str]]) -> list[Row]:
        """The acks with these (notice id, version, addressee) keys.

        Looked up by notice id (the primary key's prefix: a few rows per notice) and
        filtered here; SQLite would scan the whole table for a row-value IN, and every
        ack of the addressee through its index for `addressee = ? AND notice_id IN`.
        """
        if not keys:
            return []
        wanted = set(keys)
        return [
            a
            for notice_id in sorted({k[0] for k in wanted})
            for a in _ACKS_OF_NOTICE.rows(self.conn, {"notice_id": notice_id})
            if (a["notice_id"], a["version"], a["addressee"]) in wanted
        ]

    def mark_delivered(self, keys: Sequence[tuple[str, int, str]], at: str) -> None:
        """Set (notice id, version, addressee) acks to `delivered` at `at`."""
        if keys:
            _ACK_DELIVERED.executemany(
                self.conn,
                [
                    {"b_notice_id": n, "b_version": v, "b_addressee": a, "b_delivered_at": at}
                    for n, v, a in keys
                ],
            )

    def supersede_acks(self, notice_id: str) -> None:
        self.conn.execute(
            update(acks)
            .where(and_(acks.c.notice_id == notice_id, acks.c.superseded == 0))
            .values(superseded=1)
        )

    def get_ack(self, notice_id: str, version: int, addressee: str) -> Row | None:
        q = select(acks).where(
            and_(
                acks.c.notice_id == notice_id,
                acks.c.version == version,
                acks.c.addressee == addressee,
            )
        )
        return _one(self.conn.execute(q))

    def update_ack(self, notice_id: str, version: int, addressee: str, **values: Any) -> None:
        self.conn.execute(
            update(acks)
            .where(
                and_(
                    acks.c.notice_id == notice_id,
                    acks.c.version == version,
                    acks.c.addressee == addressee,
                )
            )
            .values(**values)
        )

    def acks_of_version(self, notice_id: str, version: int) -> list[Row]:
        q = (
            select(acks)
            .where(and_(acks.c.notice_id == notice_id, acks.c.version == version))
            .order_by(acks.c.addressee)
        )
        return _rows(self.conn.execute(q))

    def list_acks(
        self,
        *,
        addressee: str | None = None,
        issuer: str | None = None,
        states: Sequence[str] | None = None,
        include_superseded: bool = False,
        limit: int = 500,
    ) -> list[Row]:
        q = select(acks)
        if addressee is not None:
            q = q.where(acks.c.addressee == addressee)
        if issuer is not None:
            q = q.where(acks.c.issuer == issuer)
        if states:
            q = q.where(acks.c.state.in_(states))
        if not include_superseded:
            q = q.where(acks.c.superseded == 0)
        q = q.order_by(acks.c.created_at.desc(), acks.c.notice_id, acks.c.addressee).limit(limit)
        return _rows(self.conn.execute(q))

    def due_acks(self, now: str, limit: int = 500) -> list[Row]:
        # The condition of the partial index `ix_acks_open_deadline`, word for word (so
        # that the planner may use it), and the deadline that has passed.
        q = select(acks).where(and_(ACK_OPEN, acks.c.deadline <= now)).limit(limit)
        return _rows(self.conn.execute(q))

    # -- conflicts -----------------------------------------------------------
    def insert_conflict(self, row: Row) -> None:
        _INSERT_CONFLICT.execute(self.conn, row)

    def update_conflict(self, conflict_id: str, **values: Any) -> None:
        _UPDATE_CONFLICT.execute(self.conn, {"b_id": conflict_id, **values})

    def get_conflict(self, conflict_id: str) -> Row | None:
        return _one(self.conn.execute(select(conflicts).where(conflicts.c.id == conflict_id)))

    def open_conflicts_of(self, notice_id: str) -> list[Row]:
        q = select(conflicts).where(
            and_(
                conflicts.c.state == "open",
                or_(conflicts.c.notice_a == notice_id, conflicts.c.notice_b == notice_id),
            )
        )
        return _rows(self.conn.execute(q))

    def list_conflicts(
        self,
        *,
        party: str | None,
        states: Sequence[str] | None,
        notice_id: str | None = None,
        limit: int = 500,
    ) -> list[Row]:
        q = select(conflicts)
        if party is not None:
            q = q.where(or_(conflicts.c.issuer_a == party, conflicts.c.issuer_b == party))
        if states:
            q = q.where(conflicts.c.state.in_(states))
        if notice_id is not None:
            q = q.where(or_(conflicts.c.notice_a == notice_id, conflicts.c.notice_b == notice_id))
        q = q.order_by(conflicts.c.opened_at.desc(), conflicts.c.id).limit(limit)
        return _rows(self.conn.execute(q))

    # -- events (outbox) -----------------------------------------------------
    def append_events(self, rows: Sequence[Row]) -> None:
        """Outbox rows (`party_id`, `type`, `created_at`, `data` as JSON text), in order."""
        if rows:
            _INSERT_EVENTS.executemany(self.conn, rows)

    def append_event(self, party_id: str, type_: str, data: Any, now: str) -> int:
        result = self.conn.execute(
            insert(events).values(
                party_id=party_id, type=type_, created_at=now, data=json.dumps(data)
            )
        )
        pk = result.inserted_primary_key
        if pk is None:  # pragma: no cover - every backend returns the generated key
            raise RuntimeError("the store returned no event sequence number")
        return int(pk[0])

    def events_after(self, party_id: str, after: int, limit: int = 200) -> list[Row]:
        # every live stream runs this on each wake-up
        return _EVENTS_AFTER.rows(self.conn, {"party_id": party_id, "after": after, "limit": limit})

    def last_event_seq(self) -> int:
        return int(self.conn.execute(select(func.coalesce(func.max(events.c.seq), 0))).scalar_one())

    # -- hotline -------------------------------------------------------------
    def insert_message(self, row: Row, recipients: Sequence[str]) -> None:
        self.conn.execute(insert(messages).values(**row))
        self.conn.execute(
            insert(message_recipients),
            [{"message_id": row["id"], "party_id": p} for p in recipients],
        )

    def get_message(self, message_id: str) -> Row | None:
        return _one(self.conn.execute(select(messages).where(messages.c.id == message_id)))

    def message_receipts(self, message_ids: Sequence[str]) -> list[Row]:
        if not message_ids:
            return []
        q = (
            select(message_recipients)
            .where(message_recipients.c.message_id.in_(message_ids))
            .order_by(message_recipients.c.party_id)
        )
        return _rows(self.conn.execute(q))

    def list_messages(self, party: str, *, inbound: bool, outbound: bool, limit: int) -> list[Row]:
        conds = []
        if outbound:
            conds.append(messages.c.sender == party)
        if inbound:
            conds.append(
                exists().where(
                    and_(
                        message_recipients.c.message_id == messages.c.id,
                        message_recipients.c.party_id == party,
                    )
                )
            )
        if not conds:
            return []
        q = select(messages).where(or_(*conds)).order_by(messages.c.created_at.desc()).limit(limit)
        return _rows(self.conn.execute(q))

    def update_receipt(self, message_id: str, party_id: str, **values: Any) -> None:
        self.conn.execute(
            update(message_recipients)
            .where(
                and_(
                    message_recipients.c.message_id == message_id,
                    message_recipients.c.party_id == party_id,
                )
            )
            .values(**values)
        )

    # -- coordinate-read audit -----------------------------------------------
    def record_reads(self, rows: Sequence[Row]) -> None:
        if rows:
            _INSERT_READS.executemany(self.conn, rows)

    def reads_of(self, notice_id: str, limit: int = 1000) -> list[Row]:
        q = (
            select(coordinate_reads)
            .where(coordinate_reads.c.notice_id == notice_id)
            .order_by(coordinate_reads.c.id)
            .limit(limit)
        )
        return _rows(self.conn.execute(q))
