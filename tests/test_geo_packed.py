"""geo.packed: the prepared form reads back to the very volumes it was made of."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from deconflict.geo import Volume4D, parse_volumes
from deconflict.geo.cells import DEFAULT_RESOLUTION
from deconflict.geo.coarse import Grain, coarse_volume
from deconflict.geo.packed import (
    FORMAT,
    PackError,
    content_digest,
    open_packed,
    pack_volumes,
    unpack_volumes,
)
from deconflict.strategic import NoticeShape
from tests.conftest import box, volume_doc

DOCS: list[dict[str, Any]] = [
    volume_doc(box(36.0, 35.0, 36.3, 35.2)),
    # a polygon with a hole, across the antimeridian, long enough to be densified
    volume_doc(
        {
            "type": "Polygon",
            "coordinates": [
                [[179.0, -10.0], [-179.0, -10.0], [-179.0, -8.0], [179.0, -8.0], [179.0, -10.0]],
                [[179.5, -9.5], [179.8, -9.5], [179.8, -9.2], [179.5, -9.5]],
            ],
        },
        lower=(50, "FL", "STD"),
        upper=(120, "FL", "STD"),
    ),
    volume_doc(
        {"type": "Point", "coordinates": [2.35, 48.85]},
        radius_m=1500.0,
        start="2030-06-01T00:00:00.123456Z",
        end="2030-06-01T03:30:00+02:00",
    ),
    volume_doc(
        {"type": "LineString", "coordinates": [[10.0, 50.0], [10.5, 50.2], [11, 50]]},
        radius_m=900.0,
        lower=(100, "FT", "AMSL"),
        upper=(3000, "FT", "AMSL"),
    ),
]


def _same(a: Volume4D, b: Volume4D) -> None:
    fa, fb = a.footprint, b.footprint
    assert (fa.shape, fa.radius_m, fa.center, fa.cap_radius_m) == (
        fb.shape,
        fb.radius_m,
        fb.center,
        fb.cap_radius_m,
    )
    for x, y in [*zip(fa.parts, fb.parts, strict=True), *zip(fa.dense, fb.dense, strict=True)]:
        assert x.dtype == y.dtype and np.array_equal(x, y)
    assert fa.to_geojson() == fb.to_geojson()
    assert (a.altitude, a.window) == (b.altitude, b.window)
    assert a.to_json() == b.to_json()
    assert json.dumps(a.to_json()) == json.dumps(b.to_json())  # a plain document, as before
    assert fa.cells() == fb.cells()


@pytest.mark.parametrize("grain", [None, Grain(), Grain(h3_resolution=3, layer_ft=500, slot_min=5)])
def test_round_trip_is_exact(grain: Grain | None) -> None:
    vols = parse_volumes(DOCS)
    coarse = None if grain is None else tuple(coarse_volume(v, grain) for v in vols)
    text = json.dumps([v.to_json() for v in vols])
    disclosure = None if grain is None else "grain"
    blob = pack_volumes(vols, coarse, (text, disclosure))
    got, got_coarse = unpack_volumes(blob, text, disclosure)
    for a, b in zip(vols, got, strict=True):
        _same(a, b)
    assert (got_coarse is None) == (coarse is None)
    for a, b in zip(coarse or (), got_coarse or (), strict=True):
        _same(a, b)


def test_a_form_is_refused_for_other_content_another_format_or_damage() -> None:
    vols = parse_volumes(DOCS[:1])
    text = json.dumps([v.to_json() for v in vols])
    blob = pack_volumes(vols, None, (text, None))
    with pytest.raises(PackError, match="other content"):
        open_packed(blob, text, '{"level": "coarse"}')
    with pytest.raises(PackError, match="other content"):
        open_packed(blob, text.replace("36.0", "36.00001"), None)
    with pytest.raises(PackError, match="prepared form"):
        open_packed(blob.replace(FORMAT.encode(), b"v0-" + b"0" * (len(FORMAT) - 3)), text, None)
    for damaged in (blob[:-8], blob + b"\0" * 8, b"PK\3\4" + blob[4:], blob[:40]):
        with pytest.raises(PackError):
            open_packed(damaged, text, None)


def test_damage_anywhere_in_a_form_is_found_when_it_is_opened() -> None:
    """Volumes are built from a form only when a candidate needs them: so the form is
    checked whole when it is opened (a bit changed in a vertex, a cell or a count is
    refused then: the version is derived again), not trusted until it is built."""
    vols = parse_volumes(DOCS)
    coarse = tuple(coarse_volume(v, Grain()) for v in vols)
    text = json.dumps([v.to_json() for v in vols])
    blob = pack_volumes(vols, coarse, (text, "grain"))
    open_packed(blob, text, "grain")  # whole: opens
    for at in range(0, len(blob), 7):  # every 7th byte, one bit flipped
        damaged = bytearray(blob)
        damaged[at] ^= 0x10
        with pytest.raises(PackError):
            open_packed(bytes(damaged), text, "grain")


@pytest.mark.parametrize("grain", [None, Grain()])
def test_what_the_index_files_a_form_under_is_what_it_computes_from_the_volumes(
    grain: Grain | None,
) -> None:
    vols = parse_volumes(DOCS)
    coarse = None if grain is None else tuple(coarse_volume(v, grain) for v in vols)
    text = json.dumps([v.to_json() for v in vols])
    packed = open_packed(pack_volumes(vols, coarse, (text, None)), text, None)
    assert packed.coarse == (coarse is not None)
    expected = NoticeShape(id="n", issuer="a", kind="other", volumes=vols, coarse=coarse)
    # exactly (==, not approximately): the window in seconds too
    assert packed.filed == expected.filed(DEFAULT_RESOLUTION)


def test_the_digest_tells_absent_from_empty() -> None:
    assert content_digest("[]", None) != content_digest("[]", "")
    assert content_digest("a", "b") != content_digest("ab", None)
