"""Horizontal footprints: GeoJSON parsing, validation and geodesic preparation.

A footprint is a *core* (a polygon with holes, a point, or a polyline) grown by
``radius_m``: a circle is a point grown by its radius, a corridor a polyline
grown by its half-width. Keeping the core and the radius apart is what makes
distances exact: on a geodesic surface the distance between two grown sets is
the distance between their cores minus both radii, with no polygonal
approximation of the round parts.

Edges are geodesics. For planar work they are densified so that the chord
between consecutive vertices departs from the true geodesic by well under a
metre in any frame this package uses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.validation import explain_validity

from deconflict.geo.cells import DEFAULT_RESOLUTION, cover
from deconflict.geo.ellipsoid import GEOD, FloatArray, Frame
from deconflict.geo.errors import ErrorCollector, join_path

__all__ = [
    "MAX_SEGMENT_M",
    "Footprint",
    "FootprintLimits",
    "Shape",
    "normalised_coordinates",
    "parse_footprint",
]

# Densification step. A geodesic drawn in an AEQD frame bends by at most
# about rho / R^2 per metre; at rho = 2,000 km a 5 km chord departs from it by
# ~0.3 m, inside the 1 m absolute tolerance.
MAX_SEGMENT_M = 5_000.0


class Shape(StrEnum):
    POLYGON = "Polygon"
    CIRCLE = "Point"
    CORRIDOR = "LineString"


@dataclass(frozen=True)
class FootprintLimits:
    max_vertices: int = 10_000
    # The accuracy guarantee holds for footprints up to 1,000 km across; a
    # larger one must be split, not silently computed less exactly.
    max_across_m: float = 1_000_000.0


@dataclass(frozen=True, eq=False)
class Footprint:
    """A validated footprint, ready for metric work.

    ``parts`` holds the core's vertex arrays in degrees, longitudes unwrapped
    so that consecutive vertices never jump by more than 180 degrees: for a
    polygon, the exterior ring then the holes (closed); for a corridor, the
    polyline; for a circle, the single centre. ``dense`` holds the same parts
    densified along geodesics.
    """

    shape: Shape
    parts: tuple[FloatArray, ...]
    dense: tuple[FloatArray, ...]
    radius_m: float
    center: tuple[float, float]  # lon, lat of the bounding cap
    cap_radius_m: float  # every point of the footprint lies within this of ``center``
    # A mapping, not necessarily a dict: a footprint read back from its prepared form
    # (geo.packed) builds its document only when asked.
    geojson: Mapping[str, Any]
    # Covers already computed, by (reach, resolution), compact (8 bytes a cell: an index
    # holds one footprint per stored volume); pickled along, so that the process that
    # parsed a footprint can hand its covers over with it.
    _covers: dict[tuple[float, int], npt.NDArray[np.int64]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def vertex_count(self) -> int:
        return sum(len(p) for p in self.parts)

    def cells(self, reach_m: float = 0.0, resolution: int = DEFAULT_RESOLUTION) -> list[int]:
        """`cover` of the bounding cap widened by ``reach_m`` (computed once per argument)."""
        key = (reach_m, resolution)
        found = self._covers.get(key)
        if found is None:
            cells = cover(*self.center, self.cap_radius_m + reach_m, resolution)
            found = self._covers[key] = np.array(cells, dtype=np.int64)
        return found.tolist()  # type: ignore[no-any-return]

    def core_in(self, frame: Frame) -> tuple[shapely.Geometry, float]:
        """The core as a planar geometry in ``frame`` and its farthest vertex distance."""
        projected = []
        rho = 0.0
        for part in self.dense:
            x, y, d = frame.forward(part[:, 0], part[:, 1])
            projected.append(np.column_stack((x, y)))
            rho = max(rho, float(d.max()))
        if self.shape is Shape.POLYGON:
            return shapely.Polygon(projected[0], projected[1:]), rho
        if self.shape is Shape.CORRIDOR:
            return shapely.LineString(projected[0]), rho
        return shapely.Point(projected[0][0]), rho

    def to_geojson(self) -> dict[str, Any]:
        return dict(self.geojson)


def _wrap180(delta: FloatArray) -> FloatArray:
    return (delta + 180.0) % 360.0 - 180.0


def _unwrap(lons: FloatArray) -> FloatArray:
    """Make longitudes continuous: each step goes the short way round."""
    if len(lons) < 2:
        return lons.copy()
    steps = _wrap180(np.diff(lons))
    target = np.concatenate(([lons[0]], lons[0] + np.cumsum(steps)))
    # Shift by whole turns only: equal inputs stay bit-identical, so a closed
    # ring stays closed however far it has been carried round.
    return lons + 360.0 * np.round((target - lons) / 360.0)


def densify(part: FloatArray, max_segment_m: float = MAX_SEGMENT_M) -> FloatArray:
    """Insert points along each geodesic edge so that no piece exceeds ``max_segment_m``."""
    if len(part) < 2:
        return part
    lon1, lat1 = part[:-1, 0], part[:-1, 1]
    lon2, lat2 = part[1:, 0], part[1:, 1]
    az, _, dist = GEOD.inv(lon1, lat1, lon2, lat2)
    dist = np.asarray(dist)
    pieces = np.maximum(1, np.ceil(dist / max_segment_m).astype(np.int64))
    if int(pieces.max()) == 1:
        return part
    edge = np.repeat(np.arange(len(pieces)), pieces)
    step = np.arange(int(pieces.sum())) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    frac = step / pieces[edge]
    lons, lats, _ = GEOD.fwd(lon1[edge], lat1[edge], np.asarray(az)[edge], dist[edge] * frac)
    lons = np.asarray(lons)
    # Keep the original vertices bit-exact (fwd at distance 0 may round).
    start = step == 0
    lons[start] = lon1[edge[start]]
    lats = np.asarray(lats)
    lats[start] = lat1[edge[start]]
    lons += 360.0 * np.round((lon1[edge] - lons) / 360.0)
    return np.vstack((np.column_stack((lons, lats)), part[-1:]))


def _bounding_cap(
    dense: Sequence[FloatArray], radius_m: float
) -> tuple[tuple[float, float], float, list[FloatArray]]:
    """A cap (centre, radius) containing the whole footprint, and each part in its AEQD frame.

    The frame coordinates come from the same geodesic solutions as the radius,
    so the polygon validity check needs no second projection.
    """
    pts = np.vstack(dense)
    lat = np.radians(pts[:, 1])
    lon = np.radians(pts[:, 0])
    xyz = np.column_stack((np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)))
    mean = xyz.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    if norm < 1e-9:  # pragma: no cover - footprints that large are refused earlier
        mean, norm = xyz[0], 1.0
    cx, cy, cz = mean / norm
    clon = math.degrees(math.atan2(cy, cx))
    clat = math.degrees(math.asin(max(-1.0, min(1.0, cz))))
    x, y, d = Frame(clon, clat).forward(pts[:, 0], pts[:, 1])
    bounds = np.cumsum([len(p) for p in dense])[:-1]
    planar = [
        np.column_stack(xy) for xy in zip(np.split(x, bounds), np.split(y, bounds), strict=True)
    ]
    # The far side of a densified edge can bulge past its vertices by the
    # chord's sagitta; a metre more covers it.
    return (clon, clat), float(np.max(d)) + radius_m + 1.0, planar


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _parse_position(value: object, path: str, errors: ErrorCollector) -> tuple[float, float] | None:
    if not isinstance(value, list | tuple):
        errors.add(path, "a position must be [longitude, latitude]")
        return None
    if len(value) != 2:
        if len(value) == 3:
            errors.add(
                path,
                "give [longitude, latitude] only: heights come from altitude_lower/altitude_upper",
            )
        else:
            errors.add(path, f"a position must be [longitude, latitude], got {len(value)} numbers")
        return None
    lon, lat = value
    ok = True
    for name, v in (("longitude", lon), ("latitude", lat)):
        if not _is_number(v):
            errors.add(path, f"{name} must be a number")
            ok = False
        elif not math.isfinite(float(v)):
            errors.add(path, f"{name} must be finite, got {v}")
            ok = False
    if not ok:
        return None
    lon_f, lat_f = float(lon), float(lat)
    if not -90.0 <= lat_f <= 90.0:
        errors.add(path, f"latitude {lat_f} is outside [-90, 90] (order is [longitude, latitude])")
        ok = False
    if not -180.0 <= lon_f <= 180.0:
        errors.add(path, f"longitude {lon_f} is outside [-180, 180]")
        ok = False
    return (lon_f, lat_f) if ok else None


def _parse_positions(value: object, path: str, errors: ErrorCollector) -> FloatArray | None:
    if not isinstance(value, list):
        errors.add(path, "must be an array of positions")
        return None
    before = len(errors.errors)
    points = [_parse_position(p, join_path(path, i), errors) for i, p in enumerate(value)]
    if len(errors.errors) > before:
        return None
    return np.array(points, dtype=np.float64).reshape(-1, 2)


def _check_ring(ring: FloatArray, path: str, errors: ErrorCollector) -> FloatArray | None:
    if len(ring) < 4:
        errors.add(
            path, f"a ring needs at least 4 positions (3 distinct + closing), got {len(ring)}"
        )
        return None
    if not np.array_equal(ring[0], ring[-1]):
        errors.add(path, "ring is not closed: the last position must repeat the first")
        return None
    distinct = np.unique(ring[:-1], axis=0)
    if len(distinct) < 3:
        errors.add(path, f"a ring needs at least 3 distinct vertices, got {len(distinct)}")
        return None
    unwrapped = ring.copy()
    unwrapped[:, 0] = _unwrap(ring[:, 0])
    # Going once round a pole adds up to +/-360 degrees of longitude; an
    # ordinary ring comes back to where it started.
    if abs(unwrapped[-1, 0] - unwrapped[0, 0]) > 180.0:
        errors.add(
            path, "ring encloses a pole: split the footprint so that no part contains a pole"
        )
        return None
    if np.any(np.abs(ring[:, 1]) == 90.0):
        errors.add(path, "a ring vertex lies on a pole: split the footprint away from the pole")
        return None
    return unwrapped


def parse_footprint(
    geometry: object,
    radius: object,
    path: str,
    limits: FootprintLimits,
    errors: ErrorCollector,
) -> Footprint | None:
    """Validate ``geometry`` (+ ``radius_m``); record every problem in ``errors``."""
    gpath = join_path(path, "geometry")
    rpath = join_path(path, "radius_m")
    if not isinstance(geometry, dict):
        errors.add(gpath, "must be a GeoJSON object: Polygon, Point or LineString")
        return None
    gtype = geometry.get("type")
    try:
        shape = Shape(str(gtype))
    except ValueError:
        errors.add(
            join_path(gpath, "type"),
            f"unsupported geometry type {gtype!r}: use Polygon, Point (with radius_m) "
            "or LineString (with radius_m)",
        )
        return None
    radius_m = 0.0
    if radius is not None:
        if not _is_number(radius) or not math.isfinite(float(radius)):  # type: ignore[arg-type]
            errors.add(rpath, "must be a finite number of metres")
            return None
        radius_m = float(radius)  # type: ignore[arg-type]
    if shape is Shape.POLYGON and radius_m != 0.0:
        errors.add(rpath, "a Polygon takes no radius: omit radius_m or set it to 0")
    elif shape is not Shape.POLYGON and radius_m <= 0.0:
        kind = "circle (Point)" if shape is Shape.CIRCLE else "corridor (LineString)"
        errors.add(rpath, f"a {kind} needs radius_m > 0")
    cpath = join_path(gpath, "coordinates")
    coords = geometry.get("coordinates")
    parts: list[FloatArray] = []
    if shape is Shape.CIRCLE:
        pos = _parse_position(coords, cpath, errors)
        if pos is None:
            return None
        if abs(pos[1]) == 90.0:
            errors.add(
                cpath, "a circle centred on a pole contains it: move the footprint off the pole"
            )
            return None
        parts.append(np.array([pos], dtype=np.float64))
    elif shape is Shape.CORRIDOR:
        line = _parse_positions(coords, cpath, errors)
        if line is None:
            return None
        if len(np.unique(line, axis=0)) < 2:
            errors.add(cpath, "a corridor needs at least 2 distinct positions")
            return None
        line[:, 0] = _unwrap(line[:, 0])
        parts.append(line)
    else:
        if not isinstance(coords, list) or not coords:
            errors.add(cpath, "a Polygon needs an array of rings (exterior first, then holes)")
            return None
        for i, raw in enumerate(coords):
            rp = join_path(cpath, i)
            ring = _parse_positions(raw, rp, errors)
            if ring is not None:
                ring = _check_ring(ring, rp, errors)
            if ring is not None:
                parts.append(ring)
        if len(parts) != len(coords):
            return None
        # Holes are written with their own unwrapping; bring them next to the
        # exterior so that a scene straddling the antimeridian stays in one piece.
        for k in range(1, len(parts)):
            shift = 360.0 * round((parts[0][0, 0] - parts[k][0, 0]) / 360.0)
            parts[k][:, 0] += shift
    count = sum(len(p) for p in parts)
    if count > limits.max_vertices:
        errors.add(cpath, f"too many vertices: {count} > limit {limits.max_vertices}")
        return None
    if errors:
        return None
    dense = tuple(densify(p) for p in parts)
    center, cap, planar_parts = _bounding_cap(dense, radius_m)
    # Nothing is wider than its bounding cap: measure only when the cap is too wide.
    extent = (
        2.0 * cap if 2.0 * cap <= limits.max_across_m else _extent_m(parts, dense, center, radius_m)
    )
    if extent > limits.max_across_m:
        errors.add(
            gpath,
            f"footprint is {extent / 1000:.0f} km across, larger than the limit of "
            f"{limits.max_across_m / 1000:.0f} km: split it into several volumes",
        )
        return None
    if shape is Shape.POLYGON:
        planar = shapely.Polygon(planar_parts[0], planar_parts[1:])
        if not planar.is_valid:
            errors.add(cpath, f"invalid polygon: {_describe_invalid(planar, Frame(*center))}")
            return None
    normalised: dict[str, Any] = {"type": shape.value, "coordinates": _to_lists(shape, parts)}
    return Footprint(shape, tuple(parts), dense, radius_m, center, cap, normalised)


def _extent_m(
    parts: Sequence[FloatArray],
    dense: Sequence[FloatArray],
    center: tuple[float, float],
    radius_m: float,
) -> float:
    """Width across: the largest distance between two points of the footprint.

    The farthest pair of a set bounded by short geodesic edges is a pair of
    vertices, so with few vertices it is computed exactly; with many, a double
    sweep from the cap centre gives a value within a few per cent of it.
    """
    pts = np.vstack(parts)
    if len(pts) <= 64:
        i, j = np.triu_indices(len(pts), k=1)
        if len(i) == 0:
            return 2.0 * radius_m
        _, _, d = GEOD.inv(pts[i, 0], pts[i, 1], pts[j, 0], pts[j, 1])
        return float(np.max(d)) + 2.0 * radius_m
    pts = np.vstack(dense)
    n = len(pts)
    _, _, d = GEOD.inv(np.full(n, center[0]), np.full(n, center[1]), pts[:, 0], pts[:, 1])
    far = int(np.argmax(d))
    _, _, d2 = GEOD.inv(np.full(n, pts[far, 0]), np.full(n, pts[far, 1]), pts[:, 0], pts[:, 1])
    return float(np.max(d2)) + 2.0 * radius_m


def _describe_invalid(planar: shapely.Geometry, frame: Frame) -> str:
    reason = str(explain_validity(planar))
    # shapely reports the location in frame metres; give it back in degrees.
    if "[" in reason and reason.endswith("]"):
        head, _, loc = reason.partition("[")
        try:
            x, y = (float(v) for v in loc.rstrip("]").split())
        except ValueError:
            return reason
        lons, lats = frame.inverse(np.array([x]), np.array([y]))
        where = f"near longitude {lons[0]:.5f}, latitude {lats[0]:.5f}"
        head = head.strip()
        if head.lower().startswith("self-intersection"):
            return f"ring self-intersects {where}"
        return f"{head.lower()} {where}"
    return reason


def normalised_coordinates(shape: Shape, parts: Sequence[FloatArray]) -> Any:
    """The GeoJSON coordinates of a parsed footprint's parts, as `parse_footprint` gives
    them (what a footprint read back from its prepared form rebuilds its document from)."""
    return _to_lists(shape, parts)


def _to_lists(shape: Shape, parts: Sequence[FloatArray]) -> Any:
    def wrap(part: FloatArray) -> list[list[float]]:
        # Only unwrapped values move back into range, so given numbers stay bit-exact.
        lons = part[:, 0] - 360.0 * np.round(part[:, 0] / 360.0) * (np.abs(part[:, 0]) > 180.0)
        return [[float(lo), float(la)] for lo, la in zip(lons, part[:, 1], strict=True)]

    if shape is Shape.CIRCLE:
        return wrap(parts[0])[0]
    if shape is Shape.CORRIDOR:
        return wrap(parts[0])
    return [wrap(p) for p in parts]
