"""The fast canonical encoder gives RFC 8785's bytes, exactly as the reference does.

`canonical_json` tries the standard library's C encoder first; whatever it renders must
be byte for byte what the `rfc8785` reference renders, or a party re-deriving a logged
entry with another RFC 8785 implementation would get a different hash.
"""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.ledger import canonical_json

# Characters that stress the two orders and the two escapers: controls, quotes,
# backslashes, DEL, U+2028, private use (E000-FFFF) and beyond the BMP.
_chars = st.one_of(
    st.characters(max_codepoint=0x7F),
    st.sampled_from(["\u2028", "\u2029", "\ue000", "\uffff", "é", "\U0001f600", "\U00010000"]),
    st.characters(),
)
_text = st.text(_chars, max_size=12)
_floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 1e-7, 1e-5, 1e-4, 0.1, 1e15, 1e16, 1e21, 2.0**53, 2.0**60]),
    st.integers(-(2**60), 2**60).map(float),
)
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**60), 2**60), _floats, _text)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.lists(inner, max_size=5).map(tuple),
        st.dictionaries(_text, inner, max_size=5),
    ),
    max_leaves=25,
)


def _outcome(fn: Any, value: Any) -> tuple[str, Any]:
    try:
        return ("bytes", fn(value))
    except Exception as exc:  # the same refusal on both sides is agreement too
        return ("refused", type(exc).__name__ if not isinstance(exc, ValueError) else "ValueError")


@settings(max_examples=1000, deadline=None)
@given(_values)
def test_fast_path_renders_what_the_reference_renders(value: Any) -> None:
    assert _outcome(canonical_json, value) == _outcome(rfc8785.dumps, value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.0, b"1"),
        (-0.0, b"0"),
        (1e-5, b"0.00001"),  # Python would write 1e-05
        (1e16, b"10000000000000000"),  # Python would write 1e+16
        (2.0**60, b"1152921504606847000"),  # shortest digits, padded with zeros
        ({"\ue000": 1, "\U0001f600": 2}, '{"\U0001f600":2,"\ue000":1}'.encode()),  # UTF-16 order
        ("a\u2028\x7f\x1f", '"a\u2028\x7f\\u001f"'.encode()),
    ],
)
def test_values_where_python_and_ecmascript_differ(value: Any, expected: bytes) -> None:
    assert canonical_json(value) == expected == rfc8785.dumps(value)


def test_non_finite_numbers_are_refused() -> None:
    for bad in (float("nan"), float("inf"), {"x": [float("-inf")]}):
        with pytest.raises(ValueError, match="no JSON representation"):
            canonical_json(bad)
