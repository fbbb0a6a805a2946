"""RFC 9162 Merkle tree hashing, inclusion and consistency proofs, and an append frontier.

The ledger is only worth something if a party can check the hub's claims with code the hub does
not control, so this module follows RFC 9162 section 2.1 to the letter (the same tree as
Certificate Transparency and transparency-dev/merkle) rather than anything home-grown:

- leaf hash ``SHA-256(0x00 || entry)`` and node hash ``SHA-256(0x01 || left || right)``: the
  prefixes keep a leaf from ever being passed off as an interior node (second preimages);
- the tree over ``n`` leaves splits at the largest power of two below ``n``, so the left subtree
  is always perfect and a log only ever grows on its right border.

Proof generation is given the leaf hashes and raises on bad arguments: the caller is our own
code and a bad argument is a bug. Verification is given whatever arrived over the network and
never raises: any malformed input simply fails to prove anything and yields ``False``.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Sequence
from typing import SupportsIndex

__all__ = [
    "Frontier",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "verify_consistency",
    "verify_inclusion",
]

_HASH_SIZE = 32
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_EMPTY_ROOT = hashlib.sha256(b"").digest()

# RFC 9162 carries tree sizes and leaf indices as uint64; anything outside cannot name a leaf.
_MAX_TREE_SIZE = 2**64 - 1

# A uint64 tree is at most 64 levels high, so a valid proof of either kind has at most 65
# elements. The walks below check the exact length; this cap only stops us from materialising
# an absurdly long "proof" that arrived over the network.
_MAX_PROOF_LEN = 2 * 64

_BYTES_LIKE = (bytes, bytearray, memoryview)
_NOT_A_SEQUENCE_OF_HASHES = (*_BYTES_LIKE, str)


def leaf_hash(entry: bytes) -> bytes:
    """Return the RFC 9162 hash of one log entry: ``SHA-256(0x00 || entry)``."""
    if not isinstance(entry, _BYTES_LIKE):
        raise TypeError(f"entry must be bytes, not {type(entry).__name__}")
    return hashlib.sha256(_LEAF_PREFIX + bytes(entry)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 9162 hash of an interior node: ``SHA-256(0x01 || left || right)``.

    Both children must be 32-byte hashes: with children of other lengths ``left || right`` is
    ambiguous and two different trees could share a hash.
    """
    for name, child in (("left", left), ("right", right)):
        if not isinstance(child, bytes):
            raise TypeError(f"{name} must be bytes, not {type(child).__name__}")
        if len(child) != _HASH_SIZE:
            raise ValueError(f"{name} must be a {_HASH_SIZE}-byte hash, got {len(child)} bytes")
    return _node(left, right)


def _node(left: bytes, right: bytes) -> bytes:
    # Unchecked variant for the inner loops, whose inputs are already validated.
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return the Merkle tree hash (MTH) of a list of leaf hashes.

    The empty tree's hash is ``SHA-256("")`` as RFC 9162 defines it.
    """
    _check_leaf_hashes(leaf_hashes)
    return _range_root(leaf_hashes, 0, len(leaf_hashes))


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """Return the audit path (RFC 9162 ``PATH``) for the leaf at ``index``, leaf end first.

    Raises ValueError when ``index`` does not name a leaf of the tree.
    """
    _check_leaf_hashes(leaf_hashes)
    size = len(leaf_hashes)
    index = _check_int("index", index)
    if not 0 <= index < size:
        raise ValueError(f"index {index} is out of range for a tree of {size} leaves")
    # Walk down from the root towards the leaf; each level contributes the hash of the subtree
    # we did not enter. The RFC lists them leaf end first, hence the final reverse.
    path: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        mid = lo + _split(hi - lo)
        if index < mid:
            path.append(_range_root(leaf_hashes, mid, hi))
            hi = mid
        else:
            path.append(_range_root(leaf_hashes, lo, mid))
            lo = mid
    path.reverse()
    return path


def consistency_proof(leaf_hashes: Sequence[bytes], size1: int) -> list[bytes]:
    """Return the proof (RFC 9162 ``PROOF``) that the first ``size1`` leaves are a prefix.

    The proof for ``size1 == len(leaf_hashes)`` is empty. ``size1 == 0`` is refused: every
    tree extends the empty one, so such a proof would prove nothing, and ``verify_consistency``
    rejects it.
    """
    _check_leaf_hashes(leaf_hashes)
    size2 = len(leaf_hashes)
    size1 = _check_int("size1", size1)
    if not 1 <= size1 <= size2:
        raise ValueError(
            f"size1 {size1} is out of range: a consistency proof needs 1 <= size1 <= {size2} "
            "(the size of the tree)"
        )
    # Iterative SUBPROOF(m, D[lo:hi], b). ``complete`` is the RFC's flag b: it stays true while
    # the old tree is still the left edge of the subtree we are in, i.e. while the verifier
    # already knows the hash of the old tree's part of it (it is root1 itself) and need not be
    # sent it.
    proof: list[bytes] = []
    lo, hi, m = 0, size2, size1
    complete = True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            proof.append(_range_root(leaf_hashes, lo + k, hi))
            hi = lo + k
        else:
            proof.append(_range_root(leaf_hashes, lo, lo + k))
            lo += k
            m -= k
            complete = False
    if not complete:
        proof.append(_range_root(leaf_hashes, lo, hi))
    proof.reverse()
    return proof


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Check that ``leaf_hash`` sits at ``index`` in the tree of ``tree_size`` leaves with ``root``.

    Implements RFC 9162 section 2.1.3.2. Returns False, never raises, on any malformed input.
    The proof binds the tree size only as far as it shapes the path: the signed tree head is
    what binds ``root`` to ``tree_size``.
    """
    leaf = _as_hash(leaf_hash)
    fn = _as_uint64(index)
    sn = _as_uint64(tree_size)
    path = _as_proof(proof)
    expected = _as_bytes(root)
    if leaf is None or fn is None or sn is None or path is None or expected is None:
        return False
    if fn >= sn:
        return False
    sn -= 1
    r = leaf
    for p in path:
        if sn == 0:
            # More proof than there are levels above the leaf.
            return False
        if fn & 1 or fn == sn:
            r = _node(p, r)
            # Levels where we are the last, lone node of a ragged right edge have no sibling
            # and so no proof element: skip them.
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> bool:
    """Check that the tree of ``size1`` leaves with ``root1`` is a prefix of the one with ``root2``.

    Implements RFC 9162 section 2.1.4.2. Returns False, never raises, on any malformed input.
    ``size1 == 0`` is rejected: RFC 9162 defines proofs only for ``0 < size1``, and accepting
    one would let a log claim consistency with a history it never had. Equal sizes need an
    empty proof and identical roots.
    """
    m = _as_uint64(size1)
    n = _as_uint64(size2)
    path = _as_proof(proof)
    r1 = _as_bytes(root1)
    r2 = _as_bytes(root2)
    if m is None or n is None or path is None or r1 is None or r2 is None:
        return False
    if m == 0 or m > n:
        return False
    if m == n:
        # Nothing is hashed here, so the roots are compared as given (the RFC 9162 test
        # vectors expect equal roots of any length to be accepted).
        return not path and r1 == r2
    if not path or len(r1) != _HASH_SIZE or len(r2) != _HASH_SIZE:
        return False
    if m & (m - 1) == 0:
        # The old tree is a perfect subtree of the new one, so its root is the first node on
        # the path and the prover left it out.
        path.insert(0, r1)
    fn = m - 1
    sn = n - 1
    # Climb past the levels where the old tree's last leaf is a right child: those nodes lie
    # wholly inside the old tree and are already summarised by the first proof element.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            # c lies to the left, inside the old tree: it contributes to both roots.
            fr = _node(c, fr)
            sr = _node(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            # c lies to the right, beyond the old tree: only the new root includes it.
            sr = _node(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == r1 and sr == r2


class Frontier:
    """The right border of a growing Merkle tree: enough to append and to compute the root.

    A tree of ``size`` leaves is a sequence of perfect subtrees, one per set bit of ``size``,
    largest (leftmost) first. Their roots, ``popcount(size)`` hashes, determine the root of the
    whole tree and every future root, so a log service can append to a log of millions of
    entries in O(log n) time and space without reading the entries back. Store ``size`` and
    ``hashes`` (e.g. beside the signed tree head) and rebuild with ``from_hashes``.

    Proofs still need the full list of leaf hashes (or stored interior nodes): the frontier
    forgets everything left of the border by design.
    """

    __slots__ = ("_nodes", "_size")

    def __init__(self) -> None:
        self._size = 0
        self._nodes: list[bytes] = []

    @classmethod
    def from_hashes(cls, size: int, hashes: Sequence[bytes]) -> Frontier:
        """Rebuild a frontier from its ``size`` and ``hashes``, as stored earlier.

        Raises ValueError when the two cannot belong together (the number of hashes must be the
        number of set bits of ``size``) or a hash is not 32 bytes.
        """
        size = _check_int("size", size)
        if not 0 <= size <= _MAX_TREE_SIZE:
            raise ValueError(f"size {size} is out of range 0..2**64-1")
        if isinstance(hashes, _NOT_A_SEQUENCE_OF_HASHES):
            raise TypeError("hashes must be a sequence of hashes, not a single bytes or str")
        expected = size.bit_count()
        if len(hashes) != expected:
            raise ValueError(
                f"a frontier of size {size} holds {expected} hashes (one per set bit), "
                f"got {len(hashes)}"
            )
        nodes = [_check_hash(f"hashes[{i}]", h) for i, h in enumerate(hashes)]
        frontier = cls()
        frontier._size = size
        frontier._nodes = nodes
        return frontier

    @classmethod
    def from_leaf_hashes(cls, leaf_hashes: Sequence[bytes]) -> Frontier:
        """Build the frontier of the tree over ``leaf_hashes`` (e.g. to seed it from a log)."""
        _check_leaf_hashes(leaf_hashes)
        frontier = cls()
        for h in leaf_hashes:
            frontier._push(h)
        return frontier

    @property
    def size(self) -> int:
        """The number of leaves appended so far."""
        return self._size

    @property
    def hashes(self) -> list[bytes]:
        """The perfect subtree roots, largest subtree first: the serialisable state."""
        return list(self._nodes)

    def append(self, leaf_hash: bytes) -> int:
        """Append one leaf hash and return its index in the log."""
        h = _check_hash("leaf_hash", leaf_hash)
        if self._size >= _MAX_TREE_SIZE:
            raise ValueError("the tree is full: RFC 9162 tree sizes are uint64")
        return self._push(h)

    def root(self) -> bytes:
        """The Merkle tree hash of all leaves appended so far (O(log n) hashes)."""
        if not self._nodes:
            return _EMPTY_ROOT
        # The subtrees nest to the right: each smaller one is the right child of the tree
        # joining it to everything on its left.
        r = self._nodes[-1]
        for left in reversed(self._nodes[:-1]):
            r = _node(left, r)
        return r

    def copy(self) -> Frontier:
        """An independent copy, e.g. to compute a tentative root without committing."""
        return Frontier.from_hashes(self._size, self._nodes)

    def __repr__(self) -> str:
        return f"Frontier(size={self._size}, root={self.root().hex()})"

    def _push(self, h: bytes) -> int:
        index = self._size
        # Adding a leaf is binary increment: every trailing one bit of the old size is a
        # perfect subtree of the same height as the carry, and merges with it.
        node = h
        carry = index
        while carry & 1:
            node = _node(self._nodes.pop(), node)
            carry >>= 1
        self._nodes.append(node)
        self._size = index + 1
        return index


def _split(n: int) -> int:
    # The largest power of two strictly below n (n >= 2): RFC 9162's k.
    return 1 << ((n - 1).bit_length() - 1)


def _range_root(leaf_hashes: Sequence[bytes], lo: int, hi: int) -> bytes:
    # MTH(D[lo:hi]) by folding the leaves into a frontier: O(hi - lo) hashes, O(log) memory,
    # no recursion and no slicing copies.
    frontier = Frontier()
    for i in range(lo, hi):
        frontier._push(leaf_hashes[i])
    return frontier.root()


def _check_int(name: str, value: int) -> int:
    # bool is an int subclass, but True as a leaf index is a bug rather than leaf 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    return value


def _check_hash(name: str, value: bytes) -> bytes:
    if not isinstance(value, bytes):
        raise TypeError(f"{name} must be bytes, not {type(value).__name__}")
    if len(value) != _HASH_SIZE:
        raise ValueError(f"{name} must be a {_HASH_SIZE}-byte hash, got {len(value)} bytes")
    return value


def _check_leaf_hashes(leaf_hashes: Sequence[bytes]) -> None:
    if isinstance(leaf_hashes, _NOT_A_SEQUENCE_OF_HASHES):
        raise TypeError("leaf_hashes must be a sequence of hashes, not a single bytes or str")
    for i, h in enumerate(leaf_hashes):
        _check_hash(f"leaf_hashes[{i}]", h)


# The _as_* helpers normalise untrusted verifier input and return None for anything malformed.
# They catch every exception on purpose: they are the only place where foreign objects' own
# methods (__index__, __len__, __getitem__, buffer export) run, and a verifier that can be made
# to raise is a verifier a peer can crash.


def _as_bytes(value: object) -> bytes | None:
    if not isinstance(value, _BYTES_LIKE):
        return None
    try:
        return bytes(value)
    except Exception:
        return None


def _as_hash(value: object) -> bytes | None:
    b = _as_bytes(value)
    return b if b is not None and len(b) == _HASH_SIZE else None


def _as_uint64(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, SupportsIndex):
        return None
    try:
        v = operator.index(value)
    except Exception:
        return None
    return v if 0 <= v <= _MAX_TREE_SIZE else None


def _as_proof(value: object) -> list[bytes] | None:
    # A bare bytes or str is a Sequence too, but passing one hash where a list of hashes is
    # due is a caller bug, not a proof.
    if not isinstance(value, Sequence) or isinstance(value, _NOT_A_SEQUENCE_OF_HASHES):
        return None
    try:
        if len(value) > _MAX_PROOF_LEN:
            return None
        # Index by the stated length rather than iterate: a hostile __iter__ need not end.
        items = [value[i] for i in range(len(value))]
    except Exception:
        return None
    path: list[bytes] = []
    for item in items:
        h = _as_hash(item)
        if h is None:
            return None
        path.append(h)
    return path
