"""The batches of track states processes pass on to each other (issue 14).

Not part of the hub's write path: a batch is written in a transaction of its own,
outside the write token (tracks are neither ordered with the ledger nor decided
on), and reading them is the reader's business alone.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection, and_, delete, insert, not_, or_, select

from deconflict.store.tactical_tables import track_batches as t

__all__ = ["TrackBatchRepo"]


class TrackBatchRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def publish(self, origin: str, seq: int, at: float, states: str) -> None:
        self._conn.execute(insert(t).values(origin=origin, seq=seq, at=at, states=states))

    def since(
        self, me: str, cursors: Mapping[str, int], horizon: float
    ) -> list[tuple[str, int, float, str]]:
        """(origin, seq, at, states) of the other origins' batches after their cursors, and of
        origins without a cursor those written at `horizon` or later; in (origin, seq)
        order."""
        known = [and_(t.c.origin == o, t.c.seq > s) for o, s in cursors.items()]
        new = t.c.at >= horizon
        if cursors:
            new = and_(not_(t.c.origin.in_(list(cursors))), new)
        q = (
            select(t.c.origin, t.c.seq, t.c.at, t.c.states)
            .where(t.c.origin != me, or_(new, *known))
            .order_by(t.c.origin, t.c.seq)
        )
        return [(str(o), int(s), float(a), str(x)) for o, s, a, x in self._conn.execute(q)]

    def prune(self, before: float) -> int:
        """Forget the batches written before `before` (their tracks are stale by then)."""
        return int(self._conn.execute(delete(t).where(t.c.at < before)).rowcount or 0)
