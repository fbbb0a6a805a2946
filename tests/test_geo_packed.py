"""geo.packed: the prepared form reads back to the very volumes it was made of."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from deconflict.geo import Volume4D, parse_volumes
from deconflict.geo.coarse import Grain, coarse_volume
from deconflict.geo.packed import FORMAT, PackError, content_digest, pack_volumes, unpack_volumes
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
    digest = content_digest(text, None if grain is None else "grain")
    blob = pack_volumes(vols, coarse, digest)
    got, got_coarse = unpack_volumes(blob, digest, text)
    for a, b in zip(vols, got, strict=True):
        _same(a, b)
    assert (got_coarse is None) == (coarse is None)
    for a, b in zip(coarse or (), got_coarse or (), strict=True):
        _same(a, b)


def test_a_form_is_refused_for_other_content_another_format_or_damage() -> None:
    vols = parse_volumes(DOCS[:1])
    text = json.dumps([v.to_json() for v in vols])
    blob = pack_volumes(vols, None, content_digest(text, None))
    with pytest.raises(PackError, match="other content"):
        unpack_volumes(blob, content_digest(text, '{"level": "coarse"}'), text)
    with pytest.raises(PackError, match="prepared form"):
        unpack_volumes(
            blob.replace(FORMAT.encode(), b"v0-" + b"0" * (len(FORMAT) - 3)),
            content_digest(text, None),
            text,
        )
    for damaged in (blob[:-8], blob + b"\0" * 8, b"PK\3\4" + blob[4:]):
        with pytest.raises(PackError):
            unpack_volumes(damaged, content_digest(text, None), text)


def test_the_digest_tells_absent_from_empty() -> None:
    assert content_digest("[]", None) != content_digest("[]", "")
    assert content_digest("a", "b") != content_digest("ab", None)
