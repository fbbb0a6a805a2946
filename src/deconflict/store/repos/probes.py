"""Probes of notices: who touched whose notice with a dry run or a short-lived notice."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, and_, func, insert, select

from deconflict.store.prepared import Prepared
from deconflict.store.rows import Row, rows
from deconflict.store.schema import probes

__all__ = ["ProbeRepo"]

_INSERT_PROBES = Prepared(insert(probes))


class ProbeRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def record(self, found: Sequence[Row]) -> None:
        if found:
            _INSERT_PROBES.executemany(self._conn, found)

    def count_since(self, prober: str, issuer: str, since: str) -> int:
        """Probing dry runs of `prober` against `issuer`'s notices since `since`."""
        q = select(func.count(func.distinct(probes.c.run))).where(
            and_(
                probes.c.prober == prober,
                probes.c.issuer == issuer,
                probes.c.via == "check",
                probes.c.at >= since,
            )
        )
        return int(self._conn.execute(q).scalar_one())

    def of_issuer(self, issuer: str | None, *, limit: int, after: int = 0) -> list[Row]:
        """Probes of `issuer`'s notices (every probe: None), oldest first."""
        q = select(probes).where(probes.c.id > after)
        if issuer is not None:
            q = q.where(probes.c.issuer == issuer)
        return rows(self._conn.execute(q.order_by(probes.c.id).limit(limit)))
