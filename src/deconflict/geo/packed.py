"""Prepared volumes in a compact binary form: what a process loads instead of re-parsing.

Parsing a stored volume again (validation, geodesic densification, the bounding cap) and
growing it to its disclosure grain (`geo.coarse`, 2-6 ms: an H3 polygon fill and two
more parses) is what rebuilding the strategic index at start-up costs. The result of
that work is immutable for an immutable notice version, so it is stored with the
version and read back here: vertex arrays as raw little-endian float64, index covers as
int64, a small JSON header for the rest. Nothing is unpickled: a blob can only ever
describe numbers, never run code.

`FORMAT` names the prepared form. It changes whenever the code that derives it does
(its version number, or any constant it folds in below): a blob of another format is
ignored and re-derived from the stored volumes, never trusted. Each blob also carries
a digest of the text it was derived from (`content_digest`), so a blob that does not
belong to the version beside it is refused too.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import numpy as np

from deconflict.geo import cells, coarse, footprint
from deconflict.geo.altitude import AltitudeBand, Reference
from deconflict.geo.footprint import Footprint, Shape
from deconflict.geo.timewindow import TimeWindow
from deconflict.geo.volume import Volume4D
from deconflict.utc import format_ts

__all__ = [
    "FORMAT",
    "LazyDocument",
    "PackError",
    "content_digest",
    "pack_volumes",
    "unpack_volumes",
]

_VERSION = 1
# Everything the derived numbers depend on besides the stored text: a change of any of
# these makes every stored blob stale.
_INPUTS = (
    _VERSION,
    footprint.MAX_SEGMENT_M,
    cells.DEFAULT_RESOLUTION,
    sorted(cells.CELL_CONSTANTS.items()),
    coarse.SLACK_M,
    coarse.MAX_OUTLINE_CELLS,
    coarse.MAX_CELLS,
)
FORMAT = f"v{_VERSION}-" + hashlib.sha256(repr(_INPUTS).encode()).hexdigest()[:12]
_MAGIC = b"DCGV"
_SHAPES = {s.value: s for s in Shape}
_REFERENCES = {r.value: r for r in Reference}
_decode = json.JSONDecoder().decode
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


class PackError(ValueError):
    """A blob that is not a prepared form of this format for this content."""


def content_digest(*texts: str | None) -> str:
    """What a blob was derived from: the version's stored volumes and disclosure."""
    h = hashlib.blake2b(digest_size=16)
    for t in texts:
        h.update(b"\x00" if t is None else b"\x01" + t.encode() + b"\xff")
    return h.hexdigest()


def _us(moment: datetime) -> int:
    return (moment - _EPOCH) // _US


class LazyDocument(Mapping[str, Any]):
    """A JSON document made only when first read (then kept)."""

    __slots__ = ("_doc", "_make")

    def __init__(self, make: Callable[[], dict[str, Any]]) -> None:
        self._make: Callable[[], dict[str, Any]] | None = make
        self._doc: dict[str, Any] = {}

    def _get(self) -> dict[str, Any]:
        if self._make is not None:
            self._doc, self._make = self._make(), None
        return self._doc

    def __getitem__(self, key: str) -> Any:
        return self._get()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


def pack_volumes(
    volumes: tuple[Volume4D, ...],
    coarse_volumes: tuple[Volume4D, ...] | None,
    digest: str,
    *,
    resolution: int = cells.DEFAULT_RESOLUTION,
) -> bytes:
    """The prepared form of a version's volumes (and coarse volumes), with the index
    covers of the ones the strategic index files it under (computed here if need be)."""
    indexed = coarse_volumes if coarse_volumes is not None else volumes
    arrays: list[bytes] = []

    def describe(vol: Volume4D, with_cells: bool) -> list[Any]:
        fp = vol.footprint
        for a in (*fp.parts, *fp.dense):
            arrays.append(np.ascontiguousarray(a, dtype="<f8").tobytes())
        n_cells = 0
        if with_cells:
            found = np.asarray(fp.cells(0.0, resolution), dtype="<i8")
            arrays.append(found.tobytes())
            n_cells = len(found)
        alt = vol.altitude
        return [
            fp.shape.value,
            [len(p) for p in fp.parts],
            [len(p) for p in fp.dense],
            fp.radius_m,
            list(fp.center),
            fp.cap_radius_m,
            [alt.lower_m, alt.lower_ref.value, alt.upper_m, alt.upper_ref.value],
            [_us(vol.window.start), _us(vol.window.end)],
            n_cells,
        ]

    header: dict[str, Any] = {
        "format": FORMAT,
        "digest": digest,
        "resolution": resolution,
        "volumes": [describe(v, indexed is volumes) for v in volumes],
        "coarse": (
            None
            if coarse_volumes is None
            else [describe(v, indexed is coarse_volumes) for v in coarse_volumes]
        ),
    }
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)  # the arrays start 8-byte aligned
    return _MAGIC + struct.pack("<I", len(head)) + head + b"".join(arrays)


def unpack_volumes(
    blob: bytes, digest: str, volumes_text: str
) -> tuple[tuple[Volume4D, ...], tuple[Volume4D, ...] | None]:
    """The volumes and coarse volumes `pack_volumes` stored. `volumes_text` is the
    version's stored `volumes` (its normalised documents), parsed only if a volume's
    document is asked for; a coarse volume's document is rebuilt from its numbers.

    Raises `PackError` for a blob of another format or for other content.
    """
    if blob[:4] != _MAGIC or len(blob) < 8:
        raise PackError("not a prepared-volumes blob")
    (n,) = struct.unpack_from("<I", blob, 4)
    try:
        header = _decode(blob[8 : 8 + n].decode())
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError both
        raise PackError(f"damaged prepared form: {exc}") from None
    if header.get("format") != FORMAT:
        raise PackError(f"prepared form {header.get('format')!r}, not {FORMAT!r}")
    if header.get("digest") != digest:
        raise PackError("prepared for other content than this version's")
    pos = 8 + n
    view = memoryview(blob)
    resolution = header["resolution"]
    documents: list[list[dict[str, Any]]] = []

    def document(i: int) -> dict[str, Any]:
        if not documents:
            documents.append(json.loads(volumes_text))
        return documents[0][i]

    def pieces(lens: list[int]) -> tuple[np.ndarray[Any, np.dtype[np.float64]], ...]:
        """Consecutive (n, 2) arrays: views into one read of the blob."""
        nonlocal pos
        total = sum(lens)
        whole = np.frombuffer(view, dtype="<f8", count=2 * total, offset=pos).reshape(total, 2)
        pos += 16 * total
        out = []
        at = 0
        for k in lens:
            out.append(whole[at : at + k])
            at += k
        return tuple(out)

    def build(d: list[Any], i: int | None) -> Volume4D:
        nonlocal pos
        shape_name, part_lens, dense_lens, radius, center, cap, alt, win, n_cells = d
        shape = _SHAPES[shape_name]
        both = pieces(part_lens + dense_lens)
        parts, dense = both[: len(part_lens)], both[len(part_lens) :]
        window = TimeWindow(_EPOCH + win[0] * _US, _EPOCH + win[1] * _US)
        band = AltitudeBand(float(alt[0]), _REFERENCES[alt[1]], float(alt[2]), _REFERENCES[alt[3]])
        source: Mapping[str, Any]
        if i is not None:  # an exact volume: its stored document
            source = LazyDocument(partial(document, i))
            geojson: Mapping[str, Any] = LazyDocument(lambda: dict(source["geometry"]))
        else:  # a coarse volume: its document is made of its numbers
            geojson = LazyDocument(
                lambda: {
                    "type": shape.value,
                    "coordinates": footprint.normalised_coordinates(shape, parts),
                }
            )
            source = LazyDocument(partial(_coarse_document, geojson, radius, band, window))
        fp = Footprint(
            shape, parts, dense, float(radius), (center[0], center[1]), float(cap), geojson
        )
        if n_cells:
            found = np.frombuffer(view, dtype="<i8", count=n_cells, offset=pos)
            fp._covers[(0.0, resolution)] = found
            pos += 8 * n_cells
        return Volume4D(footprint=fp, altitude=band, window=window, source=source)

    try:
        volumes = tuple(build(d, i) for i, d in enumerate(header["volumes"]))
        grown = header["coarse"]
        coarse_out = None if grown is None else tuple(build(d, None) for d in grown)
    except (ValueError, TypeError, KeyError) as exc:
        raise PackError(f"damaged prepared form: {exc}") from None
    if pos != len(blob):
        raise PackError("damaged prepared form: trailing or missing bytes")
    return volumes, coarse_out


def _coarse_document(
    geojson: Mapping[str, Any], radius: float, band: AltitudeBand, window: TimeWindow
) -> dict[str, Any]:
    """As `geo.coarse.coarse_volume` writes it."""
    return {
        "geometry": dict(geojson),
        "radius_m": radius,
        "altitude_lower": {"value": band.lower_m, "units": "M", "reference": band.lower_ref.value},
        "altitude_upper": {"value": band.upper_m, "units": "M", "reference": band.upper_ref.value},
        "time_start": format_ts(window.start),
        "time_end": format_ts(window.end),
    }
