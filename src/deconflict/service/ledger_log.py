"""The hub's side of the ledger: appending in the write path, heads, proofs, who sees what.

`HubLedger` keeps the tree's right border (`Frontier`) in memory for the writer: an append
hashes O(log n) nodes and settles the entry's index; the entry and the perfect nodes it
completes are stored with the rest of its group commit, just before the COMMIT (`flush`).
If the change's savepoint (or the whole batch) is rolled back, its undo action puts the
frontier back as it was and drops its rows from the queue. At start-up the frontier is read
back from the stored nodes (one per set bit of the size), never by rehashing the log.

Readers (heads, proofs, entries) never look at the in-memory frontier, which may hold
appends of a batch not yet committed: they work from a read snapshot of the store, where
every proof costs O(log^2 n) node look-ups, fetched in one or two queries.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from deconflict.ledger import canonical_json, merkle, tree
from deconflict.ledger.keys import SignedTreeHead, key_id, load_or_create_key, public_raw
from deconflict.service.errors import StateConflict
from deconflict.store import EntryRow
from deconflict.store.repos import LedgerRepo

__all__ = ["PUBLIC_TYPES", "HubLedger", "LedgerDamaged", "concerns", "refs_of", "side_ref"]

log = logging.getLogger("deconflict.ledger")
T = TypeVar("T")
_EMPTY_ROOT = hashlib.sha256(b"").digest()
_DUMMY = b"\x00" * 32

# Entries every party may read in full: the party directory and the public keys.
PUBLIC_TYPES = frozenset({"party_registered", "party_key_set", "hub_started_despite_mismatch"})
_ONE_PARTY_FIELDS = ("issuer", "party", "from", "relay")  # relay: issue 15
_MANY_PARTY_FIELDS = ("to", "issuers", "parties", "addressees", "relays")


def concerns(entry: dict[str, Any], party: str) -> bool:
    """Whether ``party`` may read ``entry`` in full (it only gets the leaf hash otherwise).

    An entry concerns a party when it names the party as issuer, addressee (or is addressed
    to every party, ``*``), party, sender or recipient, or as a party to an alert; the party
    directory and public keys concern everyone. A conflict entry concerns only its
    ``readers`` (issue 11): since issue 12 each transition is logged once per side, read by
    that side alone (what it was shown); older entries named both notices and were read by
    the issuers that may read both. Entries older still, without ``readers``, concern both.
    """
    if entry.get("type") in PUBLIC_TYPES:
        return True
    readers = entry.get("readers")
    if str(entry.get("type", "")).startswith("conflict_") and isinstance(readers, list):
        return party in readers
    for name in _ONE_PARTY_FIELDS:
        if entry.get(name) == party:
            return True
    content = entry.get("content")
    sources = [entry, content] if isinstance(content, dict) else [entry]
    for source in sources:
        for name in _MANY_PARTY_FIELDS:
            value = source.get(name)
            if isinstance(value, list) and (party in value or "*" in value):
                return True
    return False


def refs_of(entry: dict[str, Any]) -> list[str]:
    """The ids an entry is about (notices, conflicts, messages, alerts), for evidence look-ups."""
    out: list[str] = []
    for name in ("notice_id", "conflict_id", "message_id", "alert_id"):
        value = entry.get(name)
        if isinstance(value, str) and value not in out:
            out.append(value)
    for pair in entry.get("notices") or ():
        if isinstance(pair, list) and pair and isinstance(pair[0], str) and pair[0] not in out:
            out.append(pair[0])
    ref = entry.get("ref")
    if isinstance(ref, dict) and isinstance(ref.get("id"), str) and ref["id"] not in out:
        out.append(ref["id"])
    readers = entry.get("readers")
    if str(entry.get("type", "")).startswith("conflict_") and isinstance(readers, list):
        out += [side_ref(str(entry.get("conflict_id")), str(p)) for p in readers[:1]]
    return [r[:64] for r in out]


def side_ref(conflict_id: str, party: str) -> str:
    """The ref of one side's entries of a conflict: found by an indexed look-up when
    serving (`ledger_index`), without parsing both sides' entries. Hashed, as it must fit
    the refs column whatever the lengths of the ids."""
    return "cs-" + hashlib.sha256(f"{conflict_id}\x00{party}".encode()).hexdigest()[:40]


class LedgerDamaged(StateConflict):
    """The stored log lacks what it must hold: someone removed rows behind the hub's back."""

    title = "Ledger damaged"
    slug = "ledger-damaged"


def _border(size: int) -> list[tuple[int, int]]:
    """The perfect nodes (level, index) whose roots make up a tree of ``size`` leaves."""
    out: list[tuple[int, int]] = []
    offset = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            out.append((level, offset >> level))
            offset += 1 << level
    return out


def _with_nodes(rows: LedgerRepo, compute: Callable[[tree.NodeReader], T]) -> T:
    """Run a tree computation twice: once to learn which nodes it reads, once with them.

    The recursion's shape depends only on sizes and indices, never on hash values, so the
    first pass (with dummy hashes) names exactly the nodes the second needs: one query.
    """
    wanted: list[tuple[int, int]] = []

    def record(level: int, index: int) -> bytes:
        wanted.append((level, index))
        return _DUMMY

    compute(record)
    found = rows.nodes(wanted)

    def read(level: int, index: int) -> bytes:
        try:
            return found[(level, index)]
        except KeyError:
            what = f"entry {index}" if level == 0 else f"tree node ({level}, {index})"
            raise LedgerDamaged(
                f"the hub's log is damaged: its store lacks {what}; rows were removed "
                "behind the hub's back (report this: the signed heads you kept prove it)"
            ) from None

    return compute(read)


class HubLedger:
    def __init__(self, key_path: Path) -> None:
        self.key_path = key_path
        self._key: Ed25519PrivateKey | None = None
        self.frontier = merkle.Frontier()
        self.appended = 0  # entries appended by this process (statistics)
        self._pending: list[EntryRow] = []  # appended in this batch, not yet stored

    # -- start-up ------------------------------------------------------------
    def open(self, rows: LedgerRepo) -> None:
        """Load (or create, mode 0600) the hub key; rebuild the frontier from stored nodes."""
        if self._key is None:
            created = not self.key_path.exists()
            self._key = load_or_create_key(self.key_path)
            if created:
                log.info("created the hub's ledger key %s (%s)", self.key_path, self.key_id)
            mode = stat.S_IMODE(os.stat(self.key_path).st_mode)
            if mode & 0o077:
                os.chmod(self.key_path, 0o600)
        size = rows.size()
        border = _border(size)
        found = rows.nodes(border)
        missing = [n for n in border if n not in found]
        if missing:
            raise RuntimeError(f"the ledger's stored border is incomplete: {missing} missing")
        self.frontier = merkle.Frontier.from_hashes(size, [found[n] for n in border])

    @property
    def key(self) -> Ed25519PrivateKey:
        if self._key is None:
            raise RuntimeError("the ledger is not open")
        return self._key

    @property
    def public_key(self) -> bytes:
        return public_raw(self.key)

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)

    # -- the write path ------------------------------------------------------
    def append(self, entry: dict[str, Any], on_undo: Callable[[Callable[[], None]], None]) -> int:
        """Append ``entry`` to the running batch (stored by `flush`); returns its index."""
        data = canonical_json(entry)
        leaf = merkle.leaf_hash(data)
        before = self.frontier.copy()
        mark = len(self._pending)
        created = tree.append(self.frontier, leaf)
        index = created[0][1]

        def undo() -> None:
            self.frontier = before
            del self._pending[mark:]

        on_undo(undo)
        self._pending.append(
            EntryRow(index, str(entry["type"]), data, leaf, created[1:], refs_of(entry))
        )
        self.appended += 1
        return index

    def flush(self, rows: LedgerRepo) -> None:
        """Store the entries appended since the last flush (before the batch's COMMIT).

        Their indices and the in-memory frontier are settled at `append`; only the rows
        wait, so that a group commit stores its entries in three statements. A change
        rolled back to its savepoint takes its entries out of the queue (`undo`).
        """
        if self._pending:
            rows.append(self._pending)
            self._pending.clear()

    # -- reads (from a committed snapshot) ------------------------------------
    @staticmethod
    def root(rows: LedgerRepo, size: int) -> bytes:
        if size == 0:
            return _EMPTY_ROOT
        return _with_nodes(rows, lambda read: tree.subtree_root(read, 0, size))

    def sign_head(self, size: int, root: bytes, timestamp: str) -> SignedTreeHead:
        return SignedTreeHead.sign(self.key, size, root, timestamp)

    def head(self, rows: LedgerRepo, timestamp: str) -> SignedTreeHead:
        size = rows.size()
        return self.sign_head(size, self.root(rows, size), timestamp)

    @staticmethod
    def inclusion(rows: LedgerRepo, index: int, size: int) -> list[bytes]:
        return _with_nodes(rows, lambda read: tree.inclusion_proof(read, index, size))

    @staticmethod
    def inclusions(rows: LedgerRepo, indices: Sequence[int], size: int) -> list[list[bytes]]:
        """Inclusion proofs of several entries against one tree size, in one query."""
        return _with_nodes(
            rows, lambda read: [tree.inclusion_proof(read, i, size) for i in indices]
        )

    @staticmethod
    def consistency(rows: LedgerRepo, first: int, second: int) -> list[bytes]:
        if first == second:
            return []
        return _with_nodes(rows, lambda read: tree.consistency_proof(read, first, second))
