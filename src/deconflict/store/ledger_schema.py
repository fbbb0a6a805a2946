"""Ledger persistence: the append-only log, its perfect Merkle nodes, signed heads, party keys.

- ``ledger_entries``: one row per log entry: its index, the exact canonical bytes that were
  hashed, and the leaf hash. Appended in the same transaction (savepoint) as the state change
  it records.
- ``ledger_nodes``: the root of every *perfect* subtree of level >= 1 as it completes (level 0
  is the leaf hash, kept in ``ledger_entries``). The right border of the tree (the frontier:
  one node per set bit of the size) is read back from here at start-up, so appending never
  rehashes the log, and any proof costs O(log^2 n) node reads.
- ``ledger_heads``: tree heads the hub signed and kept, for auditors comparing over time.
- ``party_keys``: every Ed25519 key a party registered, newest current; ``party_nonces``: the
  nonces of signed notifications, each accepted once per party.

The migration (0004) installs triggers that refuse UPDATE and DELETE on the log tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import (
    Column,
    Connection,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    and_,
    bindparam,
    func,
    insert,
    select,
    tuple_,
)

from deconflict.store.prepared import Prepared
from deconflict.store.repo import Row
from deconflict.store.schema import metadata

__all__ = [
    "APPEND_ONLY_TABLES",
    "EntryRow",
    "append_entries",
    "current_key",
    "entries",
    "entries_at",
    "entry_count",
    "indices_about",
    "insert_head",
    "insert_key",
    "key_history",
    "latest_head",
    "ledger_entries",
    "ledger_heads",
    "ledger_nodes",
    "ledger_refs",
    "list_heads",
    "nodes",
    "party_keys",
    "party_nonces",
    "use_nonce",
]

TS = String(32)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("idx", Integer, primary_key=True, autoincrement=False),
    Column("type", String(40), nullable=False),
    Column("entry", LargeBinary, nullable=False),  # canonical JSON (RFC 8785), as hashed
    Column("leaf_hash", LargeBinary, nullable=False),
)

# What each entry is about (notice, conflict, message and alert ids), for evidence look-ups.
ledger_refs = Table(
    "ledger_refs",
    metadata,
    Column("ref", String(64), nullable=False),
    Column("idx", Integer, nullable=False),
    PrimaryKeyConstraint("ref", "idx"),
)

ledger_nodes = Table(
    "ledger_nodes",
    metadata,
    Column("level", Integer, nullable=False),
    Column("idx", Integer, nullable=False),
    Column("hash", LargeBinary, nullable=False),
    PrimaryKeyConstraint("level", "idx"),
)

ledger_heads = Table(
    "ledger_heads",
    metadata,
    Column("tree_size", Integer, primary_key=True, autoincrement=False),
    Column("root_hash", LargeBinary, nullable=False),
    Column("timestamp", TS, nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("signature", Text, nullable=False),
)

party_keys = Table(
    "party_keys",
    metadata,
    Column("party_id", String(64), nullable=False),
    Column("seq", Integer, nullable=False),  # 1, 2, ... per party; the highest is current
    Column("key_id", String(64), nullable=False),
    Column("public_key", Text, nullable=False),  # base64url of the raw 32 bytes
    Column("set_at", TS, nullable=False),
    Column("ledger_index", Integer, nullable=False),  # its party_key_set entry
    PrimaryKeyConstraint("party_id", "seq"),
)

party_nonces = Table(
    "party_nonces",
    metadata,
    Column("party_id", String(64), nullable=False),
    Column("nonce", String(128), nullable=False),
    Column("used_at", TS, nullable=False),
    PrimaryKeyConstraint("party_id", "nonce"),
)

APPEND_ONLY_TABLES = ("ledger_entries", "ledger_nodes", "ledger_heads", "ledger_refs")
_INSERT_ENTRY = Prepared(insert(ledger_entries))
_INSERT_NODE = Prepared(insert(ledger_nodes))
_INSERT_REF = Prepared(insert(ledger_refs))
_CURRENT_KEY = Prepared(
    select(party_keys)
    .where(party_keys.c.party_id == bindparam("party_id"))
    .order_by(party_keys.c.seq.desc())
    .limit(1)
)


class EntryRow(NamedTuple):
    """One appended entry as stored: the entry, its refs and the nodes it completes."""

    idx: int
    type: str
    data: bytes
    leaf: bytes
    interior: Sequence[tuple[int, int, bytes]]
    refs: Sequence[str]


def append_entries(conn: Connection, rows: Sequence[EntryRow]) -> None:
    """Entries (in index order) with their refs and completed interior nodes.

    Three statements for any number of entries: the hub appends a group commit's
    entries at once, just before its COMMIT.
    """
    _INSERT_ENTRY.executemany(
        conn,
        [{"idx": r.idx, "type": r.type, "entry": r.data, "leaf_hash": r.leaf} for r in rows],
    )
    _INSERT_REF.executemany(conn, [{"ref": ref, "idx": r.idx} for r in rows for ref in r.refs])
    _INSERT_NODE.executemany(
        conn, [{"level": lv, "idx": i, "hash": h} for r in rows for lv, i, h in r.interior]
    )


def entry_count(conn: Connection) -> int:
    value = conn.execute(select(func.max(ledger_entries.c.idx))).scalar_one()
    return 0 if value is None else int(value) + 1


def nodes(conn: Connection, wanted: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """The stored perfect nodes named in ``wanted`` (level 0 from the entries)."""
    out: dict[tuple[int, int], bytes] = {}
    leaves = [i for level, i in wanted if level == 0]
    inner = [(level, i) for level, i in wanted if level > 0]
    for start in range(0, len(leaves), 500):
        chunk = leaves[start : start + 500]
        q = select(ledger_entries.c.idx, ledger_entries.c.leaf_hash).where(
            ledger_entries.c.idx.in_(chunk)
        )
        for idx, h in conn.execute(q):
            out[(0, idx)] = h
    for start in range(0, len(inner), 400):
        chunk2 = inner[start : start + 400]
        q2 = select(ledger_nodes.c.level, ledger_nodes.c.idx, ledger_nodes.c.hash).where(
            tuple_(ledger_nodes.c.level, ledger_nodes.c.idx).in_(chunk2)
        )
        for level, idx, h in conn.execute(q2):
            out[(level, idx)] = h
    return out


def entries(conn: Connection, start: int, end: int) -> list[Row]:
    q = (
        select(ledger_entries.c.idx, ledger_entries.c.entry, ledger_entries.c.leaf_hash)
        .where(and_(ledger_entries.c.idx >= start, ledger_entries.c.idx < end))
        .order_by(ledger_entries.c.idx)
    )
    return [{"idx": i, "entry": e, "leaf_hash": h} for i, e, h in conn.execute(q)]


def indices_about(conn: Connection, refs: Sequence[str], end: int) -> list[int]:
    """The indices (< end) of the entries about any of ``refs``."""
    q = (
        select(ledger_refs.c.idx)
        .where(and_(ledger_refs.c.ref.in_(list(refs)), ledger_refs.c.idx < end))
        .distinct()
        .order_by(ledger_refs.c.idx)
    )
    return [int(i) for (i,) in conn.execute(q)]


def entries_at(conn: Connection, indices: Sequence[int]) -> list[Row]:
    out: list[Row] = []
    for start in range(0, len(indices), 500):
        q = select(ledger_entries.c.idx, ledger_entries.c.entry, ledger_entries.c.leaf_hash).where(
            ledger_entries.c.idx.in_(list(indices[start : start + 500]))
        )
        out += [{"idx": i, "entry": e, "leaf_hash": h} for i, e, h in conn.execute(q)]
    return sorted(out, key=lambda r: int(r["idx"]))


def insert_head(conn: Connection, row: Row) -> None:
    conn.execute(insert(ledger_heads).values(**row))


def latest_head(conn: Connection) -> Row | None:
    q = select(ledger_heads).order_by(ledger_heads.c.tree_size.desc()).limit(1)
    r = conn.execute(q).mappings().first()
    return None if r is None else dict(r)


def list_heads(conn: Connection, limit: int = 100) -> list[Row]:
    q = select(ledger_heads).order_by(ledger_heads.c.tree_size.desc()).limit(limit)
    return [dict(r) for r in conn.execute(q).mappings()]


def current_key(conn: Connection, party_id: str) -> Row | None:
    found = _CURRENT_KEY.rows(conn, {"party_id": party_id})
    return found[0] if found else None


def key_history(conn: Connection, party_ids: Sequence[str]) -> list[Row]:
    q = (
        select(party_keys)
        .where(party_keys.c.party_id.in_(list(party_ids)))
        .order_by(party_keys.c.party_id, party_keys.c.seq)
    )
    return [dict(r) for r in conn.execute(q).mappings()]


def insert_key(conn: Connection, row: Row) -> None:
    conn.execute(insert(party_keys).values(**row))


def use_nonce(conn: Connection, party_id: str, nonce: str, at: str) -> bool:
    """Record a nonce; False if this party used it before."""
    q = select(party_nonces.c.nonce).where(
        and_(party_nonces.c.party_id == party_id, party_nonces.c.nonce == nonce)
    )
    if conn.execute(q).first() is not None:
        return False
    conn.execute(insert(party_nonces).values(party_id=party_id, nonce=nonce, used_at=at))
    return True
