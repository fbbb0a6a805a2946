"""Ledger tables: the append-only log, its perfect Merkle nodes, signed heads, party keys.

- ``ledger_entries``: one row per log entry: its index, the exact canonical bytes that were
  hashed, and the leaf hash. Appended in the same transaction (savepoint) as the state change
  it records.
- ``ledger_nodes``: the root of every *perfect* subtree of level >= 1 as it completes (level 0
  is the leaf hash, kept in ``ledger_entries``). The right border of the tree (the frontier:
  one node per set bit of the size) is read back from here at start-up, so appending never
  rehashes the log, and any proof costs O(log^2 n) node reads.
- ``ledger_heads``: tree heads the hub signed and kept, for auditors comparing over time.
- ``ledger_cosignatures``: the C2SP cosignatures parties (or witnesses registered as
  parties) sent on the hub's checkpoints: who, which checkpoint (size, root) and when
  (migration 0007). Kept as received; the hub serves each cosigner's newest.
- ``party_keys``: every Ed25519 key a party registered, newest current; ``party_nonces``: the
  nonces of signed notifications, each accepted once per party.

The migration (0004) installs triggers that refuse UPDATE and DELETE on the log tables.
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, LargeBinary, PrimaryKeyConstraint, String, Table, Text

from deconflict.store.schema import metadata

__all__ = [
    "APPEND_ONLY_TABLES",
    "ledger_cosignatures",
    "ledger_entries",
    "ledger_heads",
    "ledger_nodes",
    "ledger_refs",
    "party_keys",
    "party_nonces",
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

ledger_cosignatures = Table(
    "ledger_cosignatures",
    metadata,
    Column("party_id", String(64), nullable=False),
    Column("tree_size", Integer, nullable=False),
    Column("root_hash", LargeBinary, nullable=False),
    Column("timestamp", Integer, nullable=False),  # the cosignature's own POSIX time
    Column("key_id", String(8), nullable=False),  # the note key ID, hex
    Column("note", Text, nullable=False),  # the checkpoint, the hub's and the party's lines
    Column("received_at", TS, nullable=False),
    PrimaryKeyConstraint("party_id", "tree_size", "timestamp"),
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
