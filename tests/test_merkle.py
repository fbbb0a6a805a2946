"""Tests for deconflict.ledger.merkle.

Four independent sources of truth: the published RFC 9162 test vectors (which live beside the
repository, never inside it), a naive reference written straight from RFC 9162 section 2.1,
Hypothesis properties on trees of a few hundred leaves, and hostile inputs for the verifiers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.ledger import merkle
from deconflict.ledger.merkle import (
    Frontier,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
VECTORS_DIR = SHARED_DATA / "rfc9162-vectors"
NO_VECTORS = "../shared/data not found: RFC 9162 vectors live beside the repository in CI"

UINT64_MAX = 2**64 - 1
EMPTY_ROOT = hashlib.sha256(b"").digest()

# The leaves behind the numbered vector directories: the RFC 6962 / transparency-dev test
# tree, whose 8-leaf root 5dc9da79... the vectors carry.
STANDARD_ENTRIES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    bytes(range(0x60, 0x70)),
]

# Property tests hash a few thousand times per example; this keeps the whole file to seconds.
PROPERTY_SETTINGS = settings(max_examples=40, deadline=None)


# --- naive reference, transcribed from RFC 9162 section 2.1 -------------------------------
# Deliberately slicing and recursive, sharing no code with the module under test.


def _ref_k(n: int) -> int:
    # "the largest power of two smaller than n (i.e., k < n <= 2k)"
    k = 1
    while 2 * k < n:
        k *= 2
    return k


def ref_mth(d: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over raw entries (2.1.1)."""
    n = len(d)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _ref_k(n)
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) (2.1.3.1)."""
    n = len(d)
    if n == 1:
        return []
    k = _ref_k(n)
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) (2.1.4.1)."""
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = _ref_k(n)
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def ref_proof(m: int, d: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) (2.1.4.1)."""
    return ref_subproof(m, d, True)


# The same recursions over sizes alone give the *shape* of a proof: for each element, whether
# it joins on the right ("R") or the left ("L") of the running hash. A verifier sees nothing
# but the shape of the sizes it is given, so a proof checks out for altered sizes exactly when
# the altered sizes have the same shape. These let the property tests say precisely which
# alterations must fail instead of pretending that all of them can.


def path_shape(m: int, n: int) -> tuple[str, ...]:
    if n == 1:
        return ()
    k = _ref_k(n)
    if m < k:
        return (*path_shape(m, k), "R")
    return (*path_shape(m - k, n - k), "L")


def subproof_shape(m: int, n: int, b: bool = True) -> tuple[bool, tuple[str, ...]]:
    if m == n:
        return (b, ())
    k = _ref_k(n)
    if m <= k:
        start, sides = subproof_shape(m, k, b)
        return (start, (*sides, "R"))
    start, sides = subproof_shape(m - k, n - k, False)
    return (start, (*sides, "L"))


def inclusion_shape_matches(index: int, size: int, new_index: int, new_size: int) -> bool:
    if not 0 <= new_index < new_size <= UINT64_MAX:
        return False
    return path_shape(new_index, new_size) == path_shape(index, size)


def consistency_shape_matches(size1: int, size2: int, new1: int, new2: int) -> bool:
    if not 0 < new1 <= new2 <= UINT64_MAX:
        return False
    return subproof_shape(new1, new2) == subproof_shape(size1, size2)


# --- helpers --------------------------------------------------------------------------------


def entries(n: int, seed: bytes = b"") -> list[bytes]:
    # Distinct entries, so distinct leaves: with repeated leaves a proof for one index is
    # legitimately also a proof for another, which would blur the properties below.
    return [seed + b"|entry|" + i.to_bytes(4, "big") for i in range(n)]


def leaves_of(n: int, seed: bytes = b"") -> list[bytes]:
    return [leaf_hash(e) for e in entries(n, seed)]


def flip(h: bytes, bit: int) -> bytes:
    b = bytearray(h)
    b[bit // 8] ^= 1 << (bit % 8)
    return bytes(b)


def all_bit_flips(h: bytes) -> Iterator[bytes]:
    for bit in range(len(h) * 8):
        yield flip(h, bit)


def alterations(x: int) -> set[int]:
    """Nearby and bit-flipped values of a size or index, including the uint64 edges."""
    out = {x - 1, x + 1, 2 * x, x // 2, 0, 1, UINT64_MAX, UINT64_MAX + 1, -1}
    out.update(x ^ (1 << bit) for bit in range(64))
    out.discard(x)
    return out


# --- RFC 9162 vectors ------------------------------------------------------------------------


@dataclass(frozen=True)
class Vector:
    name: str
    kind: str
    fields: dict[str, Any]
    proof: list[bytes]
    want_err: bool

    def b(self, key: str) -> bytes:
        value = self.fields[key]
        assert isinstance(value, bytes)
        return value

    def i(self, key: str) -> int:
        value = self.fields[key]
        assert isinstance(value, int)
        return value

    def verify(self) -> bool:
        if self.kind == "inclusion":
            return verify_inclusion(
                self.b("leafHash"),
                self.i("leafIdx"),
                self.i("treeSize"),
                self.proof,
                self.b("root"),
            )
        return verify_consistency(
            self.i("size1"), self.i("size2"), self.b("root1"), self.b("root2"), self.proof
        )


_VECTOR_KEYS = {
    "inclusion": ({"leafIdx", "treeSize"}, {"root", "leafHash"}),
    "consistency": ({"size1", "size2"}, {"root1", "root2"}),
}


def _b64(value: object, where: str) -> bytes:
    assert isinstance(value, str), f"{where}: expected a base64 string, got {value!r}"
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as exc:  # pragma: no cover - only on a corrupt vector file
        raise AssertionError(f"{where}: not base64: {value!r}") from exc


def load_vector(path: Path) -> Vector:
    """Parse one vector file strictly: an unexpected shape fails rather than being skipped."""
    name = path.relative_to(VECTORS_DIR).as_posix()
    kind = name.split("/", 1)[0]
    assert kind in _VECTOR_KEYS, f"{name}: unknown vector kind {kind!r}"
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(raw, dict), f"{name}: not a JSON object"
    int_keys, hash_keys = _VECTOR_KEYS[kind]
    assert set(raw) == int_keys | hash_keys | {"proof", "desc", "wantErr"}, f"{name}: keys {raw}"
    fields: dict[str, Any] = {}
    for key in int_keys:
        value = raw[key]
        # Indices are uint64 on the wire; "sub 1" from 0 wraps to 2**64 - 1.
        assert type(value) is int, f"{name}: {key} = {value!r}"
        assert 0 <= value <= UINT64_MAX, f"{name}: {key} = {value!r}"
        fields[key] = value
    for key in hash_keys:
        fields[key] = _b64(raw[key], f"{name}: {key}")
    # The vectors come from Go, where a nil proof and an empty one are the same thing.
    proof_raw = raw["proof"]
    assert proof_raw is None or isinstance(proof_raw, list), f"{name}: proof = {proof_raw!r}"
    proof = [_b64(p, f"{name}: proof[{i}]") for i, p in enumerate(proof_raw or [])]
    assert isinstance(raw["wantErr"], bool), f"{name}: wantErr = {raw['wantErr']!r}"
    assert isinstance(raw["desc"], str), f"{name}: desc = {raw['desc']!r}"
    return Vector(name, kind, fields, proof, raw["wantErr"])


def _vector_files() -> list[Path]:
    return sorted(VECTORS_DIR.rglob("*.json")) if VECTORS_DIR.is_dir() else []


def _vector_params() -> list[Any]:
    files = _vector_files()
    if not files:
        return [pytest.param(None, id="vectors-missing")]
    return [pytest.param(p, id=p.relative_to(VECTORS_DIR).as_posix()) for p in files]


def _require_vectors() -> None:
    if not VECTORS_DIR.is_dir():
        pytest.skip(NO_VECTORS)


@pytest.mark.parametrize("path", _vector_params())
def test_rfc9162_vector(path: Path | None) -> None:
    if path is None:
        pytest.skip(NO_VECTORS)
    vector = load_vector(path)
    expected = not vector.want_err
    assert vector.verify() is expected, f"{vector.name}: {vector.fields.get('desc')}"


def test_every_vector_file_is_parsed() -> None:
    """Count the directory independently of the parser, so a silently dropped file fails."""
    _require_vectors()
    on_disk = [p for p in VECTORS_DIR.rglob("*") if p.is_file()]
    non_vectors = sorted(p.name for p in on_disk if p.suffix != ".json")
    assert non_vectors == ["README.md"], f"unexpected non-JSON files: {non_vectors}"
    parsed = [load_vector(p) for p in _vector_files()]
    assert len(parsed) == len(on_disk) - 1
    # The README states the size of the set; hold the directory to its own word.
    readme = (VECTORS_DIR / "README.md").read_text(encoding="utf-8")
    stated = re.search(r"\((\d+) cases in all\)", readme)
    assert stated is not None, "README no longer states the number of cases"
    assert len(parsed) == int(stated.group(1))
    kinds = {v.kind for v in parsed}
    assert kinds == {"inclusion", "consistency"}
    assert any(v.want_err for v in parsed)
    assert any(not v.want_err for v in parsed)


def test_vector_happy_paths_match_generated_proofs() -> None:
    """Our generators reproduce the proofs of the vectors built from the standard tree."""
    _require_vectors()
    leaves = [leaf_hash(e) for e in STANDARD_ENTRIES]
    assert root(leaves).hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    checked = 0
    for path in sorted(VECTORS_DIR.glob("*/[0-9]*/happy-path.json")):
        v = load_vector(path)
        assert not v.want_err
        if v.kind == "inclusion":
            tree = leaves[: v.i("treeSize")]
            assert v.b("leafHash") == tree[v.i("leafIdx")]
            assert v.b("root") == root(tree)
            assert inclusion_proof(tree, v.i("leafIdx")) == v.proof
        else:
            tree = leaves[: v.i("size2")]
            assert v.b("root1") == root(tree[: v.i("size1")])
            assert v.b("root2") == root(tree)
            assert consistency_proof(tree, v.i("size1")) == v.proof
        checked += 1
    assert checked == 10


# --- cross-check against the naive reference ----------------------------------------------


def test_hash_primitives_match_rfc() -> None:
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    a, b = leaf_hash(b"a"), leaf_hash(b"b")
    assert node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()
    assert root([]) == EMPTY_ROOT
    assert root([a]) == a


@pytest.mark.parametrize("n", range(71))
def test_against_reference(n: int) -> None:
    d = entries(n)
    leaves = [leaf_hash(e) for e in d]
    mth = ref_mth(d)
    assert root(leaves) == mth
    assert Frontier.from_leaf_hashes(leaves).root() == mth
    for m in range(n):
        proof = inclusion_proof(leaves, m)
        assert proof == ref_path(m, d)
        assert verify_inclusion(leaves[m], m, n, proof, mth)
    for m in range(1, n + 1):
        proof = consistency_proof(leaves, m)
        assert proof == ref_proof(m, d)
        assert verify_consistency(m, n, ref_mth(d[:m]), mth, proof)


# --- properties -----------------------------------------------------------------------------


@st.composite
def inclusion_cases(draw: st.DrawFn) -> tuple[list[bytes], int]:
    n = draw(st.integers(1, 300))
    index = draw(st.integers(0, n - 1))
    return entries(n, draw(st.binary(max_size=4))), index


@st.composite
def consistency_cases(draw: st.DrawFn) -> tuple[list[bytes], int]:
    n = draw(st.integers(1, 300))
    size1 = draw(st.integers(1, n))
    return entries(n, draw(st.binary(max_size=4))), size1


@PROPERTY_SETTINGS
@given(inclusion_cases())
def test_inclusion_rejects_every_bit_flip(case: tuple[list[bytes], int]) -> None:
    d, index = case
    leaves = [leaf_hash(e) for e in d]
    n = len(leaves)
    r = root(leaves)
    proof = inclusion_proof(leaves, index)
    # Extends the exhaustive reference check above to larger trees.
    assert r == ref_mth(d)
    assert proof == ref_path(index, d)
    assert verify_inclusion(leaves[index], index, n, proof, r)
    for pos, element in enumerate(proof):
        for bad in all_bit_flips(element):
            tampered = [*proof[:pos], bad, *proof[pos + 1 :]]
            assert not verify_inclusion(leaves[index], index, n, tampered, r)
    for bad in all_bit_flips(r):
        assert not verify_inclusion(leaves[index], index, n, proof, bad)
    for bad in all_bit_flips(leaves[index]):
        assert not verify_inclusion(bad, index, n, proof, r)


@PROPERTY_SETTINGS
@given(inclusion_cases())
def test_inclusion_rejects_altered_index_and_size(case: tuple[list[bytes], int]) -> None:
    leaves = [leaf_hash(e) for e in case[0]]
    index = case[1]
    n = len(leaves)
    r = root(leaves)
    proof = inclusion_proof(leaves, index)
    for other in alterations(index):
        # Distinct leaves sit on distinct paths, so another index can never be proven.
        assert not inclusion_shape_matches(index, n, other, n)
        assert not verify_inclusion(leaves[index], other, n, proof, r)
    for other in alterations(n):
        expected = inclusion_shape_matches(index, n, index, other)
        assert verify_inclusion(leaves[index], index, other, proof, r) is expected
        if expected and other <= n:
            # Same shape, but the genuine root of that size is different: no replay.
            assert not verify_inclusion(leaves[index], index, other, proof, root(leaves[:other]))


@PROPERTY_SETTINGS
@given(inclusion_cases(), st.binary(min_size=32, max_size=32))
def test_inclusion_rejects_truncated_and_extended_proofs(
    case: tuple[list[bytes], int], extra: bytes
) -> None:
    leaves = [leaf_hash(e) for e in case[0]]
    index = case[1]
    n = len(leaves)
    r = root(leaves)
    proof = inclusion_proof(leaves, index)
    variants = [[*proof, extra], [extra, *proof], [*proof, r], [*proof, leaves[index]]]
    if proof:
        variants += [proof[1:], proof[:-1], [*proof, proof[-1]], [proof[0], *proof]]
        variants += [proof[::-1]] if len(proof) > 1 and proof != proof[::-1] else []
    for variant in variants:
        assert not verify_inclusion(leaves[index], index, n, variant, r)


@PROPERTY_SETTINGS
@given(consistency_cases())
def test_consistency_rejects_every_bit_flip(case: tuple[list[bytes], int]) -> None:
    d, size1 = case
    leaves = [leaf_hash(e) for e in d]
    n = len(leaves)
    r1, r2 = root(leaves[:size1]), root(leaves)
    proof = consistency_proof(leaves, size1)
    assert proof == ref_proof(size1, d)
    assert verify_consistency(size1, n, r1, r2, proof)
    for pos, element in enumerate(proof):
        for bad in all_bit_flips(element):
            tampered = [*proof[:pos], bad, *proof[pos + 1 :]]
            assert not verify_consistency(size1, n, r1, r2, tampered)
    for bad in all_bit_flips(r1):
        assert not verify_consistency(size1, n, bad, r2, proof)
    for bad in all_bit_flips(r2):
        assert not verify_consistency(size1, n, r1, bad, proof)


@PROPERTY_SETTINGS
@given(consistency_cases())
def test_consistency_rejects_altered_sizes(case: tuple[list[bytes], int]) -> None:
    leaves = [leaf_hash(e) for e in case[0]]
    size1 = case[1]
    n = len(leaves)
    r1, r2 = root(leaves[:size1]), root(leaves)
    proof = consistency_proof(leaves, size1)
    for other in alterations(size1):
        expected = consistency_shape_matches(size1, n, other, n)
        assert verify_consistency(other, n, r1, r2, proof) is expected
        if expected and 0 < other <= n:
            assert not verify_consistency(other, n, root(leaves[:other]), r2, proof)
    for other in alterations(n):
        expected = consistency_shape_matches(size1, n, size1, other)
        assert verify_consistency(size1, other, r1, r2, proof) is expected
        if expected and size1 <= other <= n:
            assert not verify_consistency(size1, other, r1, root(leaves[:other]), proof)
    if size1 != n:
        assert not verify_consistency(size1, n, r2, r1, proof)


@PROPERTY_SETTINGS
@given(consistency_cases(), st.binary(min_size=32, max_size=32))
def test_consistency_rejects_truncated_and_extended_proofs(
    case: tuple[list[bytes], int], extra: bytes
) -> None:
    leaves = [leaf_hash(e) for e in case[0]]
    size1 = case[1]
    n = len(leaves)
    r1, r2 = root(leaves[:size1]), root(leaves)
    proof = consistency_proof(leaves, size1)
    variants = [[*proof, extra], [extra, *proof], [r1, *proof], [*proof, r2], [*proof, r1]]
    if proof:
        variants += [proof[1:], proof[:-1], [*proof, proof[-1]], [proof[0], *proof]]
    for variant in variants:
        assert not verify_consistency(size1, n, r1, r2, variant)


def test_tree_size_is_bound_by_the_root_not_by_the_proof() -> None:
    """The limit the shape oracle encodes, pinned on the smallest example.

    PATH(0, D[3]) and PATH(0, D[4]) have the same shape, so the verifier cannot tell which
    size a proof was made for: that is what the signed tree head (root *and* size) is for.
    """
    leaves = leaves_of(4)
    proof3 = inclusion_proof(leaves[:3], 0)
    assert verify_inclusion(leaves[0], 0, 3, proof3, root(leaves[:3]))
    assert verify_inclusion(leaves[0], 0, 4, proof3, root(leaves[:3]))
    assert not verify_inclusion(leaves[0], 0, 4, proof3, root(leaves))


# --- malformed input: False, never an exception ---------------------------------------------


class _RaisingIndex:
    def __index__(self) -> int:
        raise RuntimeError("hostile __index__")


class _GoodIndex:
    def __index__(self) -> int:
        return 2


class _HostileSequence(Sequence[bytes]):
    def __init__(self, items: list[bytes], *, length: int | None = None, fail: bool = False):
        self._items = items
        self._length = len(items) if length is None else length
        self._fail = fail

    @overload
    def __getitem__(self, i: int) -> bytes: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[bytes]: ...
    def __getitem__(self, i: int | slice) -> bytes | Sequence[bytes]:
        if self._fail:
            raise RuntimeError("hostile __getitem__")
        return self._items[i]

    def __len__(self) -> int:
        return self._length


def _released_view() -> memoryview:
    view = memoryview(b"\x00" * 32)
    view.release()
    return view


BAD_HASHES: list[Any] = [
    None,
    "",
    "a" * 32,
    0,
    1.5,
    b"",
    b"\x00" * 31,
    b"\x00" * 33,
    [0] * 32,
    object(),
    _released_view(),
]
BAD_INTS: list[Any] = [
    None,
    -1,
    -(2**64),
    2**64,
    10**100,
    True,
    False,
    1.0,
    "2",
    b"\x02",
    object(),
    _RaisingIndex(),
]

_INC_LEAVES = leaves_of(5)
_INC_PROOF = inclusion_proof(_INC_LEAVES, 2)
_INC_GOOD: dict[str, Any] = {
    "leaf_hash": _INC_LEAVES[2],
    "index": 2,
    "tree_size": 5,
    "proof": _INC_PROOF,
    "root": root(_INC_LEAVES),
}
_CON_LEAVES = leaves_of(7)
_CON_PROOF = consistency_proof(_CON_LEAVES, 3)
_CON_GOOD: dict[str, Any] = {
    "size1": 3,
    "size2": 7,
    "root1": root(_CON_LEAVES[:3]),
    "root2": root(_CON_LEAVES),
    "proof": _CON_PROOF,
}


def _bad_proofs(good: list[bytes]) -> list[Any]:
    return [
        None,
        b"".join(good),
        "proof",
        good[0],
        iter(good),
        (p for p in good),
        set(good),
        dict.fromkeys(good),
        [None],
        [*good[:-1], None],
        [*good[:-1], good[-1][:31]],
        [*good[:-1], good[-1] + b"\x00"],
        [*good[:-1], good[-1].hex()],
        [good[0]] * 1000,
        _HostileSequence(good, fail=True),
        _HostileSequence(good, length=2**70),
        _HostileSequence(good, length=-1),
        _HostileSequence(good, length=len(good) + 1),
        42,
        object(),
    ]


def _malformed_cases(good: dict[str, Any], hashes: Sequence[str], ints: Sequence[str]) -> list[Any]:
    cases: list[Any] = []
    for name in hashes:
        cases += [pytest.param(name, bad, id=f"{name}-{i}") for i, bad in enumerate(BAD_HASHES)]
    for name in ints:
        cases += [pytest.param(name, bad, id=f"{name}-{i}") for i, bad in enumerate(BAD_INTS)]
    bad_proofs = _bad_proofs(good["proof"])
    cases += [pytest.param("proof", bad, id=f"proof-{i}") for i, bad in enumerate(bad_proofs)]
    return cases


@pytest.mark.parametrize(
    ("name", "bad"), _malformed_cases(_INC_GOOD, ["leaf_hash"], ["index", "tree_size"])
)
def test_verify_inclusion_malformed_is_false(name: str, bad: Any) -> None:
    assert verify_inclusion(**_INC_GOOD) is True
    assert verify_inclusion(**{**_INC_GOOD, name: bad}) is False


@pytest.mark.parametrize(("name", "bad"), [("root", b) for b in BAD_HASHES])
def test_verify_inclusion_malformed_root_is_false(name: str, bad: Any) -> None:
    assert verify_inclusion(**{**_INC_GOOD, name: bad}) is False


@pytest.mark.parametrize(
    ("name", "bad"), _malformed_cases(_CON_GOOD, ["root1", "root2"], ["size1", "size2"])
)
def test_verify_consistency_malformed_is_false(name: str, bad: Any) -> None:
    assert verify_consistency(**_CON_GOOD) is True
    assert verify_consistency(**{**_CON_GOOD, name: bad}) is False


def test_verify_accepts_bytes_like_and_index_like_inputs() -> None:
    # Leniency where it is harmless: the values, not their container types, are checked.
    # (Typed Any: the annotations promise bytes and int, the runtime is deliberately wider.)
    leaf: Any = bytearray(_INC_GOOD["leaf_hash"])
    index: Any = _GoodIndex()
    proof: Any = tuple(memoryview(p) for p in _INC_PROOF)
    r: Any = bytearray(_INC_GOOD["root"])
    assert verify_inclusion(leaf, index, 5, proof, r)
    r1: Any = bytearray(_CON_GOOD["root1"])
    r2: Any = memoryview(_CON_GOOD["root2"])
    con_proof: Any = [bytearray(p) for p in _CON_PROOF]
    assert verify_consistency(3, 7, r1, r2, con_proof)


def test_verify_consistency_edge_sizes() -> None:
    r = root(leaves_of(1))
    # Equal sizes: an empty proof and identical roots, nothing else.
    assert verify_consistency(1, 1, r, r, [])
    assert not verify_consistency(1, 1, r, flip(r, 0), [])
    assert not verify_consistency(1, 1, r, r, [r])
    # From the empty tree: refused, whatever the proof (RFC 9162 defines 0 < size1 only).
    assert not verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert not verify_consistency(0, 1, EMPTY_ROOT, r, [])
    assert not verify_consistency(0, 1, EMPTY_ROOT, r, [r])
    # Equal sizes hash nothing, so roots are compared as given: the vector set's "sizes are
    # equal (one) and proof is empty" accepts two equal 12-byte roots.
    assert verify_consistency(1, 1, b"don't care 2", b"don't care 2", [])
    # Backwards in time.
    assert not verify_consistency(2, 1, r, r, [])
    # Sizes at the uint64 edge are handled arithmetically, not by building anything.
    assert not verify_consistency(UINT64_MAX, UINT64_MAX, r, flip(r, 1), [])
    assert verify_consistency(UINT64_MAX, UINT64_MAX, r, r, [])
    assert not verify_consistency(1, UINT64_MAX, r, r, [r] * 64)


def test_verify_inclusion_huge_sizes_are_cheap_and_false() -> None:
    h = leaf_hash(b"x")
    assert not verify_inclusion(h, UINT64_MAX - 1, UINT64_MAX, [h] * 64, h)
    assert not verify_inclusion(h, 0, UINT64_MAX, [], h)
    assert not verify_inclusion(h, 0, 0, [], EMPTY_ROOT)


_ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.binary(max_size=40),
    st.lists(st.binary(min_size=30, max_size=34), max_size=5),
    st.lists(st.integers(), max_size=5),
)


@settings(max_examples=300, deadline=None)
@given(_ANYTHING, _ANYTHING, _ANYTHING, _ANYTHING, _ANYTHING)
def test_verifiers_never_raise(a: Any, b: Any, c: Any, d: Any, e: Any) -> None:
    assert isinstance(verify_inclusion(a, b, c, d, e), bool)
    assert isinstance(verify_consistency(a, b, c, d, e), bool)


# --- proof generation refuses bad arguments ---------------------------------------------------


def test_generation_errors() -> None:
    leaves = leaves_of(4)
    with pytest.raises(ValueError, match=r"index 4 is out of range for a tree of 4 leaves"):
        inclusion_proof(leaves, 4)
    with pytest.raises(ValueError, match=r"index -1 is out of range"):
        inclusion_proof(leaves, -1)
    with pytest.raises(ValueError, match=r"index 0 is out of range for a tree of 0 leaves"):
        inclusion_proof([], 0)
    with pytest.raises(ValueError, match=r"size1 0 is out of range.*1 <= size1 <= 4"):
        consistency_proof(leaves, 0)
    with pytest.raises(ValueError, match=r"size1 5 is out of range"):
        consistency_proof(leaves, 5)
    with pytest.raises(ValueError, match=r"size1 -1 is out of range"):
        consistency_proof(leaves, -1)
    with pytest.raises(TypeError, match=r"index must be an int, not bool"):
        inclusion_proof(leaves, True)
    with pytest.raises(TypeError, match=r"size1 must be an int, not float"):
        consistency_proof(leaves, 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"leaf_hashes\[1\] must be a 32-byte hash, got 31"):
        root([leaves[0], leaves[1][:31]])
    with pytest.raises(TypeError, match=r"leaf_hashes\[0\] must be bytes, not str"):
        inclusion_proof(["00" * 32], 0)  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"not a single bytes"):
        root(leaves[0])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"right must be a 32-byte hash"):
        node_hash(leaves[0], b"")
    with pytest.raises(TypeError, match=r"entry must be bytes, not str"):
        leaf_hash("entry")  # type: ignore[arg-type]
    assert consistency_proof(leaves, 4) == []
    assert inclusion_proof(leaves[:1], 0) == []


# --- Frontier ---------------------------------------------------------------------------------


def test_frontier_matches_reference_at_every_size() -> None:
    d = entries(300)
    frontier = Frontier()
    assert frontier.size == 0
    assert frontier.root() == EMPTY_ROOT == ref_mth([])
    for n, entry in enumerate(d):
        assert frontier.append(leaf_hash(entry)) == n
        assert frontier.size == n + 1
        assert len(frontier.hashes) == (n + 1).bit_count()
        assert frontier.root() == ref_mth(d[: n + 1])


def test_frontier_round_trips_and_keeps_growing() -> None:
    leaves = leaves_of(305)
    frontier = Frontier()
    for n in range(301):
        # As a database would hold it: an integer and a list of text-encoded hashes.
        stored = json.dumps({"size": frontier.size, "hashes": [h.hex() for h in frontier.hashes]})
        loaded = json.loads(stored)
        restored = Frontier.from_hashes(
            loaded["size"], [bytes.fromhex(h) for h in loaded["hashes"]]
        )
        assert restored.size == frontier.size
        assert restored.hashes == frontier.hashes
        assert restored.root() == frontier.root() == root(leaves[:n])
        for k in range(n, n + 4):
            restored.append(leaves[k])
            assert restored.root() == root(leaves[: k + 1])
        frontier.append(leaves[n])
    assert Frontier.from_leaf_hashes(leaves[:301]).hashes == frontier.hashes


def test_frontier_appends_in_logarithmic_work(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    real_node: Callable[[bytes, bytes], bytes] = merkle._node

    def counting_node(left: bytes, right: bytes) -> bytes:
        nonlocal calls
        calls += 1
        return real_node(left, right)

    monkeypatch.setattr(merkle, "_node", counting_node)
    frontier = Frontier()
    h = leaf_hash(b"x")
    n = 5000
    for size in range(n):
        calls = 0
        frontier.append(h)
        # One merge per trailing one bit of the old size: never more than the tree height.
        assert calls == (size ^ (size + 1)).bit_length() - 1
        calls = 0
        frontier.root()
        assert calls == max((size + 1).bit_count() - 1, 0)
    # Amortised: n appends cost n - popcount(n) merges in all, under one per append.
    assert len(frontier.hashes) == n.bit_count()


def test_frontier_copy_is_independent() -> None:
    leaves = leaves_of(6)
    a = Frontier.from_leaf_hashes(leaves[:5])
    b = a.copy()
    b.append(leaves[5])
    assert a.size == 5
    assert a.root() == root(leaves[:5])
    assert b.root() == root(leaves)
    assert "size=5" in repr(a)


def test_frontier_rejects_bad_state() -> None:
    h = leaf_hash(b"x")
    with pytest.raises(ValueError, match=r"size 5 holds 2 hashes \(one per set bit\), got 1"):
        Frontier.from_hashes(5, [h])
    with pytest.raises(ValueError, match=r"size -1 is out of range"):
        Frontier.from_hashes(-1, [])
    with pytest.raises(ValueError, match=r"out of range"):
        Frontier.from_hashes(2**64, [h])
    with pytest.raises(ValueError, match=r"hashes\[1\] must be a 32-byte hash"):
        Frontier.from_hashes(3, [h, h[:16]])
    with pytest.raises(TypeError, match=r"hashes\[0\] must be bytes"):
        Frontier.from_hashes(1, [h.hex()])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"size must be an int, not bool"):
        Frontier.from_hashes(True, [h])
    with pytest.raises(TypeError, match=r"not a single bytes"):
        Frontier.from_hashes(1, h)  # type: ignore[arg-type]
    frontier = Frontier()
    with pytest.raises(ValueError, match=r"leaf_hash must be a 32-byte hash"):
        frontier.append(b"short")
    assert frontier.size == 0
    full = Frontier.from_hashes(UINT64_MAX, [h] * 64)
    with pytest.raises(ValueError, match=r"the tree is full"):
        full.append(h)
    assert full.size == UINT64_MAX
