"""`Repo`: the repositories of one transaction (or one read snapshot).

The service layer reaches the data only through these: `repo.notices.get(id)`,
`repo.acks.due(now)`, `repo.ledger.append(rows)`... Each repository holds the
statements of one aggregate and no business rule (who may see what, which transitions
are allowed): rows in, rows out, as plain dicts. The connection itself stays here, for
the store's own machinery (savepoints, migrations) and its tests.
"""

from __future__ import annotations

from functools import cached_property

from sqlalchemy import Connection, text

from deconflict.store.prepared import Prepared
from deconflict.store.repos import (
    AckRepo,
    AlertRepo,
    ConflictRepo,
    CoordinationRepo,
    CosignatureRepo,
    CrossCheckRepo,
    DssRepo,
    EventRepo,
    IdempotencyRepo,
    KeyRepo,
    LedgerRepo,
    MessageRepo,
    NoticeRepo,
    PartyRepo,
    ProbeRepo,
    ReadRepo,
    RelayRepo,
    TrackBatchRepo,
    UnitRepo,
)

__all__ = ["Repo", "Savepoint"]

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
    """The repositories over one connection (inside a transaction the store owns).

    Built lazily: a live stream's one-statement read pays for the one it uses.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def savepoint(self) -> Savepoint:
        """A SAVEPOINT in the current transaction (see `Savepoint`)."""
        return Savepoint(self.conn)

    @cached_property
    def parties(self) -> PartyRepo:
        return PartyRepo(self.conn)

    @cached_property
    def notices(self) -> NoticeRepo:
        return NoticeRepo(self.conn)

    @cached_property
    def acks(self) -> AckRepo:
        return AckRepo(self.conn)

    @cached_property
    def conflicts(self) -> ConflictRepo:
        return ConflictRepo(self.conn)

    @cached_property
    def events(self) -> EventRepo:
        return EventRepo(self.conn)

    @cached_property
    def messages(self) -> MessageRepo:
        return MessageRepo(self.conn)

    @cached_property
    def reads(self) -> ReadRepo:
        return ReadRepo(self.conn)

    @cached_property
    def probes(self) -> ProbeRepo:
        return ProbeRepo(self.conn)

    @cached_property
    def ledger(self) -> LedgerRepo:
        return LedgerRepo(self.conn)

    @cached_property
    def cosignatures(self) -> CosignatureRepo:
        return CosignatureRepo(self.conn)

    @cached_property
    def crosscheck(self) -> CrossCheckRepo:
        return CrossCheckRepo(self.conn)

    @cached_property
    def keys(self) -> KeyRepo:
        return KeyRepo(self.conn)

    @cached_property
    def alerts(self) -> AlertRepo:
        return AlertRepo(self.conn)

    @cached_property
    def coordination(self) -> CoordinationRepo:
        return CoordinationRepo(self.conn)

    @cached_property
    def dss(self) -> DssRepo:
        return DssRepo(self.conn)

    @cached_property
    def relays(self) -> RelayRepo:  # issue 15
        return RelayRepo(self.conn)

    @cached_property
    def units(self) -> UnitRepo:  # issue 15
        return UnitRepo(self.conn)

    @cached_property
    def track_batches(self) -> TrackBatchRepo:  # issue 14
        return TrackBatchRepo(self.conn)

    @cached_property
    def idempotency(self) -> IdempotencyRepo:  # issue 14
        return IdempotencyRepo(self.conn)
