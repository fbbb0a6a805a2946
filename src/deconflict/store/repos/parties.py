"""Parties: the directory and the token look-up."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select

from deconflict.store.rows import Row, one, rows
from deconflict.store.schema import parties

__all__ = ["PartyRepo"]


class PartyRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def insert(self, row: Row) -> None:
        self._conn.execute(insert(parties).values(**row))

    def get(self, party_id: str) -> Row | None:
        return one(self._conn.execute(select(parties).where(parties.c.id == party_id)))

    def by_key_id(self, key_id: str) -> Row | None:
        return one(self._conn.execute(select(parties).where(parties.c.token_key_id == key_id)))

    def all(self) -> list[Row]:
        return rows(self._conn.execute(select(parties).order_by(parties.c.id)))
