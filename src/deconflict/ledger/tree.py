"""Proofs from stored interior nodes: logarithmic work on a log of any size.

``merkle.inclusion_proof`` and ``merkle.consistency_proof`` take every leaf
hash, which is right for tests and small logs but not for a hub with millions
of entries. Here the log keeps the root of every *perfect* subtree as it
completes (``append`` returns them, to be stored beside the entry), and any
subtree root the RFC 9162 recursion asks for is assembled from O(log n) of
them, so a proof costs O(log^2 n) node reads and hashes.

A perfect node is named (level, index): the root of the 2**level leaves
starting at leaf ``index * 2**level``. Level 0 nodes are the leaf hashes.
"""

from __future__ import annotations

from collections.abc import Callable

from deconflict.ledger.merkle import Frontier, node_hash

__all__ = ["NodeReader", "append", "consistency_proof", "inclusion_proof", "subtree_root"]

NodeReader = Callable[[int, int], bytes]
"""``read(level, index) -> hash`` of a stored perfect node; raises KeyError if absent."""


def append(frontier: Frontier, leaf_hash: bytes) -> list[tuple[int, int, bytes]]:
    """Append a leaf; return the perfect nodes it completes, leaf first, as (level, index, hash)."""
    index = frontier.size
    border = frontier.hashes
    created = [(0, index, leaf_hash)]
    node, carry, level = leaf_hash, index, 0
    while carry & 1:
        node = node_hash(border.pop(), node)
        level += 1
        carry >>= 1
        created.append((level, index >> level, node))
    frontier.append(leaf_hash)
    return created


def _split(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def subtree_root(read: NodeReader, lo: int, hi: int) -> bytes:
    """MTH of leaves [lo, hi) for the ranges the RFC recursion produces (lo aligned)."""
    n = hi - lo
    if n <= 0:
        raise ValueError(f"empty range [{lo}, {hi})")
    if n & (n - 1) == 0:
        level = n.bit_length() - 1
        return read(level, lo >> level)
    k = _split(n)
    return node_hash(subtree_root(read, lo, lo + k), subtree_root(read, lo + k, hi))


def inclusion_proof(read: NodeReader, index: int, tree_size: int) -> list[bytes]:
    """RFC 9162 PATH(index, D[0:tree_size])."""
    if not 0 <= index < tree_size:
        raise ValueError(f"index {index} is not a leaf of a tree of size {tree_size}")
    proof: list[bytes] = []
    lo, hi = 0, tree_size
    # Walk down from the root, collecting the sibling subtree at each split;
    # the RFC lists them bottom-up, hence the reversal at the end.
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            proof.append(subtree_root(read, lo + k, hi))
            hi = lo + k
        else:
            proof.append(subtree_root(read, lo, lo + k))
            lo = lo + k
    proof.reverse()
    return proof


def consistency_proof(read: NodeReader, size1: int, size2: int) -> list[bytes]:
    """RFC 9162 PROOF(size1, D[0:size2]) for 0 < size1 <= size2."""
    if not 0 < size1 <= size2:
        raise ValueError(f"no consistency proof from size {size1} to size {size2}")
    proof: list[bytes] = []
    m, lo, hi, complete = size1, 0, size2, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            proof.append(subtree_root(read, lo + k, hi))
            hi = lo + k
        else:
            proof.append(subtree_root(read, lo, lo + k))
            m, lo, complete = m - k, lo + k, False
    if not complete:
        proof.append(subtree_root(read, lo, hi))
    proof.reverse()
    return proof
