"""Cosignatures on the hub's checkpoints, as parties sent them."""

from __future__ import annotations

from sqlalchemy import Connection, and_, func, insert, select

from deconflict.store.ledger_tables import ledger_cosignatures
from deconflict.store.rows import Row

__all__ = ["CosignatureRepo"]


class CosignatureRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, row: Row) -> bool:
        """Store one cosignature; False if this very one (party, size, time) is already held."""
        t = ledger_cosignatures.c
        q = select(t.party_id).where(
            and_(
                t.party_id == row["party_id"],
                t.tree_size == row["tree_size"],
                t.timestamp == row["timestamp"],
            )
        )
        if self._conn.execute(q).first() is not None:
            return False
        self._conn.execute(insert(ledger_cosignatures).values(**row))
        return True

    def newest_per_party(self) -> list[Row]:
        """Each cosigner's cosignature on its largest checkpoint (the latest time there)."""
        t = ledger_cosignatures.c
        best = (
            select(t.party_id, func.max(t.tree_size).label("size")).group_by(t.party_id).subquery()
        )
        q = (
            select(ledger_cosignatures)
            .join(best, and_(t.party_id == best.c.party_id, t.tree_size == best.c.size))
            .order_by(t.party_id, t.timestamp.desc())
        )
        out: dict[str, Row] = {}
        for r in self._conn.execute(q).mappings():
            out.setdefault(str(r["party_id"]), dict(r))
        return list(out.values())
