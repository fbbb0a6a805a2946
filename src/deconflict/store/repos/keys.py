"""Party keys (every Ed25519 key a party registered, newest current) and used nonces."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, and_, bindparam, insert, select

from deconflict.store.ledger_tables import party_keys, party_nonces
from deconflict.store.prepared import Prepared
from deconflict.store.rows import Row

__all__ = ["KeyRepo"]

_CURRENT_KEY = Prepared(
    select(party_keys)
    .where(party_keys.c.party_id == bindparam("party_id"))
    .order_by(party_keys.c.seq.desc())
    .limit(1)
)


class KeyRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def current(self, party_id: str) -> Row | None:
        found = _CURRENT_KEY.rows(self._conn, {"party_id": party_id})
        return found[0] if found else None

    def history(self, party_ids: Sequence[str]) -> list[Row]:
        q = (
            select(party_keys)
            .where(party_keys.c.party_id.in_(list(party_ids)))
            .order_by(party_keys.c.party_id, party_keys.c.seq)
        )
        return [dict(r) for r in self._conn.execute(q).mappings()]

    def insert(self, row: Row) -> None:
        self._conn.execute(insert(party_keys).values(**row))

    def use_nonce(self, party_id: str, nonce: str, at: str) -> bool:
        """Record a nonce; False if this party used it before."""
        q = select(party_nonces.c.nonce).where(
            and_(party_nonces.c.party_id == party_id, party_nonces.c.nonce == nonce)
        )
        if self._conn.execute(q).first() is not None:
            return False
        self._conn.execute(insert(party_nonces).values(party_id=party_id, nonce=nonce, used_at=at))
        return True
