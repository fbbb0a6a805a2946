"""The ledger's rows: entries (with their refs), perfect Merkle nodes, signed heads.

Appends come in batches (a group commit's entries, just before its COMMIT); every read
is of committed rows, by index.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import Connection, and_, func, insert, select, tuple_

from deconflict.store.ledger_tables import ledger_entries, ledger_heads, ledger_nodes, ledger_refs
from deconflict.store.prepared import Prepared
from deconflict.store.rows import Row

__all__ = ["EntryRow", "LedgerRepo"]

_INSERT_ENTRY = Prepared(insert(ledger_entries))
_INSERT_NODE = Prepared(insert(ledger_nodes))
_INSERT_REF = Prepared(insert(ledger_refs))


class EntryRow(NamedTuple):
    """One appended entry as stored: the entry, its refs and the nodes it completes."""

    idx: int
    type: str
    data: bytes
    leaf: bytes
    interior: Sequence[tuple[int, int, bytes]]
    refs: Sequence[str]


class LedgerRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def append(self, found: Sequence[EntryRow]) -> None:
        """Entries (in index order) with their refs and completed interior nodes.

        Three statements for any number of entries: the hub appends a group commit's
        entries at once, just before its COMMIT.
        """
        conn = self._conn
        _INSERT_ENTRY.executemany(
            conn,
            [{"idx": r.idx, "type": r.type, "entry": r.data, "leaf_hash": r.leaf} for r in found],
        )
        _INSERT_REF.executemany(conn, [{"ref": ref, "idx": r.idx} for r in found for ref in r.refs])
        _INSERT_NODE.executemany(
            conn, [{"level": lv, "idx": i, "hash": h} for r in found for lv, i, h in r.interior]
        )

    def size(self) -> int:
        value = self._conn.execute(select(func.max(ledger_entries.c.idx))).scalar_one()
        return 0 if value is None else int(value) + 1

    def nodes(self, wanted: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """The stored perfect nodes named in ``wanted`` (level 0 from the entries)."""
        out: dict[tuple[int, int], bytes] = {}
        leaves = [i for level, i in wanted if level == 0]
        inner = [(level, i) for level, i in wanted if level > 0]
        for start in range(0, len(leaves), 500):
            chunk = leaves[start : start + 500]
            q = select(ledger_entries.c.idx, ledger_entries.c.leaf_hash).where(
                ledger_entries.c.idx.in_(chunk)
            )
            for idx, h in self._conn.execute(q):
                out[(0, idx)] = h
        for start in range(0, len(inner), 400):
            chunk2 = inner[start : start + 400]
            q2 = select(ledger_nodes.c.level, ledger_nodes.c.idx, ledger_nodes.c.hash).where(
                tuple_(ledger_nodes.c.level, ledger_nodes.c.idx).in_(chunk2)
            )
            for level, idx, h in self._conn.execute(q2):
                out[(level, idx)] = h
        return out

    def entries(self, start: int, end: int) -> list[Row]:
        q = (
            select(ledger_entries.c.idx, ledger_entries.c.entry, ledger_entries.c.leaf_hash)
            .where(and_(ledger_entries.c.idx >= start, ledger_entries.c.idx < end))
            .order_by(ledger_entries.c.idx)
        )
        return [{"idx": i, "entry": e, "leaf_hash": h} for i, e, h in self._conn.execute(q)]

    def indices_about(self, refs: Sequence[str], end: int) -> list[int]:
        """The indices (< end) of the entries about any of ``refs``."""
        q = (
            select(ledger_refs.c.idx)
            .where(and_(ledger_refs.c.ref.in_(list(refs)), ledger_refs.c.idx < end))
            .distinct()
            .order_by(ledger_refs.c.idx)
        )
        return [int(i) for (i,) in self._conn.execute(q)]

    def entries_about(self, refs: Sequence[str], types: Sequence[str]) -> list[Row]:
        """The entries of these types about any of ``refs`` (index order), with their ref."""
        out: list[Row] = []
        e, r = ledger_entries.c, ledger_refs.c
        for start in range(0, len(refs), 500):
            q = (
                select(r.ref, e.idx, e.type, e.entry)
                .join(ledger_entries, e.idx == r.idx)
                .where(and_(r.ref.in_(list(refs[start : start + 500])), e.type.in_(list(types))))
                .order_by(e.idx)
            )
            out += [
                {"ref": f, "idx": i, "type": t, "entry": b} for f, i, t, b in self._conn.execute(q)
            ]
        return out

    def entries_at(self, indices: Sequence[int]) -> list[Row]:
        out: list[Row] = []
        for start in range(0, len(indices), 500):
            q = select(
                ledger_entries.c.idx, ledger_entries.c.entry, ledger_entries.c.leaf_hash
            ).where(ledger_entries.c.idx.in_(list(indices[start : start + 500])))
            out += [{"idx": i, "entry": e, "leaf_hash": h} for i, e, h in self._conn.execute(q)]
        return sorted(out, key=lambda r: int(r["idx"]))

    def insert_head(self, row: Row) -> None:
        self._conn.execute(insert(ledger_heads).values(**row))

    def latest_head(self) -> Row | None:
        q = select(ledger_heads).order_by(ledger_heads.c.tree_size.desc()).limit(1)
        r = self._conn.execute(q).mappings().first()
        return None if r is None else dict(r)

    def heads(self, limit: int = 100) -> list[Row]:
        q = select(ledger_heads).order_by(ledger_heads.c.tree_size.desc()).limit(limit)
        return [dict(r) for r in self._conn.execute(q).mappings()]
