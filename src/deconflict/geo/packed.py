"""Prepared volumes in a compact binary form: what a process loads instead of re-parsing.

Parsing a stored volume again (validation, geodesic densification, the bounding cap) and
growing it to its disclosure grain (`geo.coarse`, 2-6 ms: an H3 polygon fill and two
more parses) is what rebuilding the strategic index at start-up costs. The result of
that work is immutable for an immutable notice version, so it is stored with the
version and read back here. Nothing is unpickled: a blob can only ever describe
numbers, never run code.

Layout (little-endian): a fixed head (magic, `FORMAT`, tag, resolution, counts); one
fixed record per volume (`struct`: its window in microseconds, radius, bounding cap,
altitude band, shape, references and counts); the parts' lengths; then the vertex
arrays as float64 and the index covers as int64, each 8-byte aligned. A start-up reads
the head and the records (`open_packed`: two `struct` calls, no JSON) and hands the
strategic index what it files a volume under (`Packed.filed`: the window, band and cap,
and the cells); the `Volume4D` objects are built only when first asked for
(`Packed.build`), which a stored notice needs only when it is a candidate of a query.

`FORMAT` names the prepared form. It changes whenever the code that derives it does
(its version number, or any constant or code table it folds in below): a blob of
another format is ignored and re-derived from the stored volumes, never trusted. Each
blob also carries a tag (BLAKE2b) over the text it was derived from (the version's
stored volumes and disclosure) and over all of its own bytes: a blob that belongs to
another version, or was damaged anywhere, is refused when it is opened, not found out
later when a candidate's footprint is first built from it.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Callable, Iterator, Mapping, Sequence
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
    "Filed",
    "LazyDocument",
    "PackError",
    "Packed",
    "content_digest",
    "open_packed",
    "pack_volumes",
    "unpack_volumes",
]

_VERSION = 2
# The codes records give shapes and references: their positions here.
_SHAPE_CODES = tuple(Shape)
_REF_CODES = tuple(Reference)
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
    [s.value for s in _SHAPE_CODES],
    [r.value for r in _REF_CODES],
)
FORMAT = f"v{_VERSION}-" + hashlib.sha256(repr(_INPUTS).encode()).hexdigest()[:12]
_MAGIC = b"DCGV"
# magic, format (NUL-padded), tag, resolution, has coarse volumes, volumes, coarse volumes
_HEAD = struct.Struct("<4s16s16sBBHH6x")
_TAG_AT = 20  # the tag's offset in the head
_FORMAT_FIELD = FORMAT.encode().ljust(16, b"\0")
# per volume: window start and end (us since 1970), radius, cap centre lon and lat, cap
# radius, lower and upper altitude (m), cells, vertices (parts and dense), parts, shape,
# lower and upper reference
_RECORD = struct.Struct("<qqddddddIIHBBB3x")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
# What the strategic index files a volume under: (window start s, window end s, lower m,
# upper m, cap centre lon, cap centre lat, cap radius m), and the cells of its cover.
Filed = tuple[tuple[float, float, float, float, float, float, float], list[int]]


class PackError(ValueError):
    """A blob that is not a prepared form of this format for this content."""


def content_digest(*texts: str | None) -> str:
    """A digest of texts (None told from ""): e.g. of a version's volumes and disclosure."""
    h = hashlib.sha1(usedforsecurity=False)
    _feed(h, texts)
    return h.hexdigest()[:32]


def _feed(h: Any, texts: Sequence[str | None]) -> None:
    for t in texts:
        h.update(b"\x00" if t is None else b"\x01" + t.encode() + b"\xff")


def _tag(texts: Sequence[str | None], blob: bytes | bytearray) -> bytes:
    """Over the content texts and every byte of the blob but the tag's own.

    Against accidents (a form stored beside another version, a damaged page), not
    against whoever can write the database (who could rewrite the text as well): SHA-1,
    the fastest of hashlib's digests here (~1 us per kB; a start-up tags every form).
    """
    h = hashlib.sha1(usedforsecurity=False)
    _feed(h, texts)
    view = memoryview(blob)
    h.update(view[:_TAG_AT])
    h.update(view[_TAG_AT + 16 :])
    return h.digest()[:16]


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


def _pad(n: int) -> bytes:
    return b"\0" * (-n % 8)


def pack_volumes(
    volumes: tuple[Volume4D, ...],
    coarse_volumes: tuple[Volume4D, ...] | None,
    texts: Sequence[str | None],
    *,
    resolution: int = cells.DEFAULT_RESOLUTION,
) -> bytes:
    """The prepared form of a version's volumes (and coarse volumes), derived from
    `texts` (its stored volumes and disclosure), with the index covers of the ones the
    strategic index files it under (computed here if need be).

    After the head and the records: the parts' lengths (uint32), the covers (int64,
    the indexed volumes' in order: what a start-up reads), then the vertex arrays."""
    records: list[bytes] = []
    lens: list[int] = []
    covers: list[bytes] = []
    arrays: list[bytes] = []
    indexed = (coarse_volumes is None,) * len(volumes) + (True,) * len(coarse_volumes or ())
    for vol, with_cells in zip((*volumes, *(coarse_volumes or ())), indexed, strict=True):
        fp = vol.footprint
        if len(fp.dense) != len(fp.parts):  # pragma: no cover - parse_footprint makes them so
            raise ValueError("a footprint's dense parts must match its parts")
        for a in (*fp.parts, *fp.dense):
            arrays.append(np.ascontiguousarray(a, dtype="<f8").tobytes())
        n_cells = 0
        if with_cells:
            found = np.asarray(fp.cells(0.0, resolution), dtype="<i8")
            covers.append(found.tobytes())
            n_cells = len(found)
        mine = [len(p) for p in fp.parts] + [len(p) for p in fp.dense]
        lens += mine
        alt = vol.altitude
        records.append(
            _RECORD.pack(
                _us(vol.window.start),
                _us(vol.window.end),
                fp.radius_m,
                fp.center[0],
                fp.center[1],
                fp.cap_radius_m,
                alt.lower_m,
                alt.upper_m,
                n_cells,
                sum(mine),
                len(fp.parts),
                _SHAPE_CODES.index(fp.shape),
                _REF_CODES.index(alt.lower_ref),
                _REF_CODES.index(alt.upper_ref),
            )
        )
    counts = np.asarray(lens, dtype="<u4").tobytes()
    body = b"".join(records) + counts + _pad(len(counts)) + b"".join(covers) + b"".join(arrays)
    head = _HEAD.pack(
        _MAGIC,
        _FORMAT_FIELD,
        b"\0" * 16,
        resolution,
        coarse_volumes is not None,
        len(volumes),
        len(coarse_volumes or ()),
    )
    blob = bytearray(head + body)
    blob[_TAG_AT : _TAG_AT + 16] = _tag(texts, blob)
    return bytes(blob)


class Packed:
    """A prepared form, opened and checked (`open_packed`); its volumes not built yet."""

    __slots__ = ("_blob", "_n_exact", "_records", "_volumes_text", "coarse", "filed", "resolution")

    def __init__(
        self,
        blob: bytes,
        records: list[tuple[Any, ...]],
        n_exact: int,
        filed: list[Filed],
        resolution: int,
        has_coarse: bool,
        volumes_text: str,
    ) -> None:
        self._blob = blob
        self._records = records
        self._n_exact = n_exact
        self._volumes_text = volumes_text
        self.filed = filed  # of the volumes the index files the notice under, in order
        self.resolution = resolution  # of the cells in `filed`
        self.coarse = has_coarse  # whether it holds coarse volumes (filed under those)

    def build(self) -> tuple[tuple[Volume4D, ...], tuple[Volume4D, ...] | None]:
        """The volumes and coarse volumes `pack_volumes` stored: equal, number for number,
        to those it was given. A volume's document is its stored text's, parsed only if
        asked for; a coarse volume's is rebuilt from its numbers."""
        view = memoryview(self._blob)
        documents: list[list[dict[str, Any]]] = []
        text = self._volumes_text

        def document(i: int) -> dict[str, Any]:
            if not documents:
                documents.append(json.loads(text))
            return documents[0][i]

        records = self._records
        at = _HEAD.size + len(records) * _RECORD.size
        n_lens = 2 * sum(r[10] for r in records)
        lens = np.frombuffer(view, dtype="<u4", count=n_lens, offset=at).tolist()
        at += 4 * n_lens + (-4 * n_lens % 8)
        cells_at = at
        at += 8 * sum(r[8] for r in records)
        built = []
        k = 0
        for i, r in enumerate(records):
            mine = lens[k : k + 2 * r[10]]
            k += len(mine)
            exact = partial(document, i) if i < self._n_exact else None
            vol = self._volume(view, r, mine, at, cells_at, exact)
            built.append(vol)
            at += 16 * r[9]
            cells_at += 8 * r[8]
        n = self._n_exact
        return tuple(built[:n]), (tuple(built[n:]) if self.coarse else None)

    def _volume(
        self,
        view: memoryview,
        record: tuple[Any, ...],
        lens: list[int],
        at: int,
        cells_at: int,
        document: Callable[[], dict[str, Any]] | None,
    ) -> Volume4D:
        """`document`: an exact volume's stored document (None: a coarse volume)."""
        t0, t1, radius, lon, lat, cap, lower, upper, n_cells, total, _, shape_code, lo, hi = record
        shape = _SHAPE_CODES[shape_code]
        # consecutive (n, 2) arrays: views into one read of the blob
        whole = np.frombuffer(view, dtype="<f8", count=2 * total, offset=at).reshape(total, 2)
        pieces = []
        k = 0
        for m in lens:
            pieces.append(whole[k : k + m])
            k += m
        half = len(lens) // 2
        parts, dense = tuple(pieces[:half]), tuple(pieces[half:])
        window = TimeWindow(_EPOCH + t0 * _US, _EPOCH + t1 * _US)
        band = AltitudeBand(lower, _REF_CODES[lo], upper, _REF_CODES[hi])
        source: Mapping[str, Any]
        if document is not None:  # an exact volume: its stored document
            source = LazyDocument(document)
            geojson: Mapping[str, Any] = LazyDocument(lambda: dict(source["geometry"]))
        else:  # a coarse volume: its document is made of its numbers
            geojson = LazyDocument(
                lambda: {
                    "type": shape.value,
                    "coordinates": footprint.normalised_coordinates(shape, parts),
                }
            )
            source = LazyDocument(partial(_coarse_document, geojson, radius, band, window))
        fp = Footprint(shape, parts, dense, radius, (lon, lat), cap, geojson)
        if n_cells:
            found = np.frombuffer(view, dtype="<i8", count=n_cells, offset=cells_at)
            fp._covers[(0.0, self.resolution)] = found
        return Volume4D(footprint=fp, altitude=band, window=window, source=source)


def open_packed(blob: bytes, volumes_text: str, disclosure_text: str | None) -> Packed:
    """The prepared form `blob` of the version whose stored volumes and disclosure are
    the texts given, checked and ready to file (`Packed.filed`) and build.

    Raises `PackError` for a blob of another format, of other content, or damaged.
    """
    if len(blob) < _HEAD.size or blob[:4] != _MAGIC:
        raise PackError("not a prepared-volumes blob")
    _, fmt, tag, resolution, has_coarse, n_exact, n_coarse = _HEAD.unpack_from(blob)
    if fmt != _FORMAT_FIELD:
        raise PackError(f"prepared form {fmt.rstrip(bytes(1))!r}, not {FORMAT!r}")
    if _tag((volumes_text, disclosure_text), blob) != tag:
        raise PackError("prepared for other content than this version's, or damaged")
    # The tag vouches for the bytes (as `pack_volumes` wrote them); what follows only
    # finds the covers, and checks the counts add up to the blob's length all the same.
    n = n_exact + n_coarse
    at = _HEAD.size + n * _RECORD.size
    try:
        records = list(_RECORD.iter_unpack(memoryview(blob)[_HEAD.size : at]))
    except struct.error as exc:
        raise PackError(f"damaged prepared form: {exc}") from None
    n_lens = 2 * sum(r[10] for r in records)
    at += 4 * n_lens + (-4 * n_lens % 8)
    end = at + sum(8 * r[8] + 16 * r[9] for r in records)
    if end != len(blob) or not n_exact or (has_coarse and n_coarse != n_exact):
        raise PackError("damaged prepared form: trailing or missing bytes")
    filed: list[Filed] = []
    indexed_from = n_exact if has_coarse else 0
    for v, r in enumerate(records):
        if (r[8] > 0) != (v >= indexed_from):  # an indexed volume has cells, no other
            raise PackError("damaged prepared form: cells where the index wants none")
        if r[8]:
            cover = np.frombuffer(blob, dtype="<i8", count=r[8], offset=at).tolist()
            at += 8 * r[8]
            # int / int is rounded once, as `datetime.timestamp()` rounds: the same float
            window = (r[0] / 1_000_000, r[1] / 1_000_000)
            filed.append(((*window, r[6], r[7], r[3], r[4], r[5]), cover))
    return Packed(blob, records, n_exact, filed, resolution, bool(has_coarse), volumes_text)


def unpack_volumes(
    blob: bytes, volumes_text: str, disclosure_text: str | None
) -> tuple[tuple[Volume4D, ...], tuple[Volume4D, ...] | None]:
    """The volumes and coarse volumes `pack_volumes` stored (`open_packed`, then built).

    Raises `PackError` for a blob of another format, of other content, or damaged.
    """
    return open_packed(blob, volumes_text, disclosure_text).build()


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
