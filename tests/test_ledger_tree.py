"""Node-based proofs agree with the list-based reference and verify (RFC 9162)."""

from __future__ import annotations

import hashlib

import pytest

from deconflict.ledger import merkle, tree
from deconflict.ledger.merkle import Frontier


def build(n: int) -> tuple[list[bytes], dict[tuple[int, int], bytes], Frontier]:
    leaves = [merkle.leaf_hash(hashlib.sha256(str(i).encode()).digest()) for i in range(n)]
    nodes: dict[tuple[int, int], bytes] = {}
    frontier = Frontier()
    for leaf in leaves:
        for level, index, h in tree.append(frontier, leaf):
            assert (level, index) not in nodes  # each perfect node completes once
            nodes[level, index] = h
    return leaves, nodes, frontier


def test_append_returns_completed_perfect_nodes() -> None:
    leaves, nodes, frontier = build(70)
    assert frontier.root() == merkle.root(leaves)
    for (level, index), h in nodes.items():
        span = 1 << level
        assert h == merkle.root(leaves[index * span : (index + 1) * span])
    # Every perfect aligned subtree of the 70 leaves is there.
    assert len(nodes) == sum(70 >> level for level in range(7))


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13, 31, 32, 33, 64, 70])
def test_proofs_match_reference(n: int) -> None:
    leaves, nodes, _ = build(n)

    def read(level: int, index: int) -> bytes:
        return nodes[level, index]

    for size in range(1, n + 1):
        root = merkle.root(leaves[:size])
        assert tree.subtree_root(read, 0, size) == root
        for index in range(size):
            proof = tree.inclusion_proof(read, index, size)
            assert proof == merkle.inclusion_proof(leaves[:size], index)
            assert merkle.verify_inclusion(leaves[index], index, size, proof, root)
        for size1 in range(1, size + 1):
            proof = tree.consistency_proof(read, size1, size)
            assert proof == merkle.consistency_proof(leaves[:size], size1)
            old = merkle.root(leaves[:size1])
            assert merkle.verify_consistency(size1, size, old, root, proof)


def test_bad_arguments() -> None:
    _, nodes, _ = build(4)

    def read(level: int, index: int) -> bytes:
        return nodes[level, index]

    with pytest.raises(ValueError, match="not a leaf"):
        tree.inclusion_proof(read, 4, 4)
    with pytest.raises(ValueError, match="no consistency proof"):
        tree.consistency_proof(read, 0, 4)
    with pytest.raises(ValueError, match="no consistency proof"):
        tree.consistency_proof(read, 5, 4)
