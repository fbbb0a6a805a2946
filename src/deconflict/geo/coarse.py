"""Coarse volumes: a volume grown to whole grid cells, altitude layers and time slots.

What the hub shows a party that a notice was not addressed to is decided and described
against the coarse volume, never the exact one. Two exact volumes with the same cells,
layers and slots have the same coarse volume, so nothing a party can ask depends on
where, inside that grain, the real volume lies.

- **Footprint**: every H3 cell (of the grain's resolution) that the footprint meets,
  merged into one polygon, its outline pushed out by ``SLACK_M``. H3 cells have
  great-circle edges on a sphere while footprints have geodesic edges on WGS-84; over
  the cell sizes allowed the two differ by a few metres at most, and the slack makes
  the coarse footprint contain the exact one all the same. Which cells a footprint
  meets is found by h3's "overlap" polygon fill on the footprint, polygonised in its
  own frame and grown by ``_FILL_MARGIN_M`` (so a sliver of a cell that the
  polygonisation rounds away is still counted).
- **Band**: each bound moved outwards to a whole multiple of the layer, in its own
  reference.
- **Window**: each end moved outwards to a whole multiple of the slot since the epoch.

Every step only widens: the coarse volume contains the exact one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import h3
import numpy as np
import shapely

from deconflict.geo.altitude import FOOT_M, AltitudeBand
from deconflict.geo.ellipsoid import Frame
from deconflict.geo.errors import ErrorCollector
from deconflict.geo.footprint import Footprint, FootprintLimits, parse_footprint
from deconflict.geo.timewindow import TimeWindow
from deconflict.geo.volume import Volume4D
from deconflict.utc import format_ts

__all__ = [
    "GRAIN_LIMITS",
    "MAX_OUTLINE_CELLS",
    "SLACK_M",
    "Grain",
    "coarse_band",
    "coarse_footprint",
    "coarse_volume",
    "coarse_window",
    "footprint_cells",
]

SLACK_M = 50.0
_FILL_MARGIN_M = 100.0
# The largest coarse outline the hub builds; a footprint meeting more cells than this
# at the chosen resolution is refused (choose a coarser grain).
MAX_CELLS = 50_000

# name: (smallest, largest, default)
GRAIN_LIMITS: dict[str, tuple[int, int, int]] = {
    # H3 resolution 5 is ~252 km2 a cell (edge ~8.5 km), about one CGRS keypad (10'x10');
    # 3 is ~12,400 km2, 6 ~36 km2. Finer grains are what `exact` is for.
    "h3_resolution": (3, 6, 5),
    "layer_ft": (500, 10_000, 1_000),
    "slot_min": (5, 1_440, 15),
}


@dataclass(frozen=True)
class Grain:
    """How coarse a notice is shown: H3 resolution, altitude layer, time slot."""

    h3_resolution: int = GRAIN_LIMITS["h3_resolution"][2]
    layer_ft: int = GRAIN_LIMITS["layer_ft"][2]
    slot_min: int = GRAIN_LIMITS["slot_min"][2]

    def __post_init__(self) -> None:
        for name, (lo, hi, _) in GRAIN_LIMITS.items():
            value = getattr(self, name)
            if not lo <= value <= hi:
                raise ValueError(f"{name} must be between {lo} and {hi}, got {value}")

    @property
    def layer_m(self) -> float:
        return self.layer_ft * FOOT_M

    @property
    def slot_s(self) -> int:
        return self.slot_min * 60

    def to_json(self) -> dict[str, int]:
        return {
            "h3_resolution": self.h3_resolution,
            "layer_ft": self.layer_ft,
            "slot_min": self.slot_min,
        }


def _wrap(lon: float) -> float:
    return (lon + 180.0) % 360.0 - 180.0 if not -180.0 <= lon <= 180.0 else lon


def footprint_cells(fp: Footprint, resolution: int) -> list[int]:
    """The H3 cells (as integers) that ``fp`` meets, and possibly a few next to them."""
    frame = Frame(*fp.center)
    core, _ = fp.core_in(frame)
    grown = core.buffer(fp.radius_m + _FILL_MARGIN_M, quad_segs=16)
    polys = list(grown.geoms) if isinstance(grown, shapely.MultiPolygon) else [grown]
    cells: set[int] = set()
    for poly in polys:
        rings = []
        for ring in (poly.exterior, *poly.interiors):
            xy = np.asarray(ring.coords)
            lons, lats = frame.inverse(xy[:, 0], xy[:, 1])
            rings.append([(float(la), _wrap(float(lo))) for lo, la in zip(lons, lats, strict=True)])
        shape = h3.LatLngPoly(rings[0], *rings[1:])
        found = h3.h3shape_to_cells_experimental(shape, resolution, contain="overlap")
        cells.update(h3.str_to_int(c) for c in found)
        if len(cells) > MAX_CELLS:
            raise ValueError(
                f"the footprint meets more than {MAX_CELLS} cells at H3 resolution {resolution}"
            )
    return sorted(cells)


def coarse_footprint(fp: Footprint, resolution: int) -> Footprint:
    """The union of the cells ``fp`` meets, grown by ``SLACK_M``: contains ``fp``.

    A footprint meeting more than ``MAX_OUTLINE_CELLS`` cells is outlined with coarser
    cells instead (only wider; and the choice depends on the cells alone, not on where
    inside them the footprint lies), so that a large plan's outline stays cheap to
    compare with.
    """
    cells = footprint_cells(fp, resolution)
    while len(cells) > MAX_OUTLINE_CELLS and resolution > _COARSEST:
        resolution -= 1
        cells = footprint_cells(fp, resolution)
    merged = h3.cells_to_geo([h3.int_to_str(c) for c in cells])
    if merged["type"] == "Polygon":
        rings = [[[float(lo), float(la)] for lo, la in ring] for ring in merged["coordinates"]]
        geometry: dict[str, Any] = {"type": "Polygon", "coordinates": rings}
        return _polygon(geometry)
    # Cells met by one connected footprint form one piece; should h3 split it (a
    # pentagon), a circle round every cell vertex is still a function of the cells alone.
    points = np.array(
        [p for poly in merged["coordinates"] for ring in poly for p in ring], dtype=np.float64
    )
    frame = Frame(*fp.center)
    _, _, d = frame.forward(points[:, 0], points[:, 1])
    circle = {"type": "Point", "coordinates": [fp.center[0], fp.center[1]]}
    errs = ErrorCollector()
    out = parse_footprint(circle, float(np.max(d)) + SLACK_M, "", _COARSE_LIMITS, errs)
    errs.raise_if_any()
    assert out is not None  # noqa: S101 - parse_footprint returns a value when no error
    return out


MAX_OUTLINE_CELLS = 200
_COARSEST = 2
_COARSE_LIMITS = FootprintLimits(max_vertices=10**7, max_across_m=4_000_000.0)


def _polygon(geometry: dict[str, Any]) -> Footprint:
    """The cells' outline pushed out by ``SLACK_M`` (mitred: a hexagon stays a hexagon),
    once here rather than as a radius that every later comparison would have to buffer."""
    errs = ErrorCollector()
    cells = parse_footprint(geometry, None, "", _COARSE_LIMITS, errs)
    errs.raise_if_any()
    assert cells is not None  # noqa: S101 - parse_footprint returns a value when no error
    frame = Frame(*cells.center)
    planar = []
    for part in cells.parts:  # the corners alone: the edges are densified when parsed again
        x, y, _ = frame.forward(part[:, 0], part[:, 1])
        planar.append(np.column_stack((x, y)))
    core = shapely.Polygon(planar[0], planar[1:])
    grown = core.buffer(SLACK_M, join_style="mitre", mitre_limit=2.0)
    rings = []
    for ring in (grown.exterior, *grown.interiors):
        xy = np.asarray(ring.coords)
        lons, lats = frame.inverse(xy[:, 0], xy[:, 1])
        rings.append([[_wrap(float(lo)), float(la)] for lo, la in zip(lons, lats, strict=True)])
    for ring in rings:
        ring[-1] = list(ring[0])  # closed bit-exactly after the round trip
    out = parse_footprint({"type": "Polygon", "coordinates": rings}, None, "", _COARSE_LIMITS, errs)
    errs.raise_if_any()
    assert out is not None  # noqa: S101 - parse_footprint returns a value when no error
    return out


def _down(x: float, step: float) -> float:
    v = math.floor(x / step) * step
    return v - step if v > x else v


def _up(x: float, step: float) -> float:
    v = math.ceil(x / step) * step
    return v + step if v < x else v


def coarse_band(band: AltitudeBand, layer_m: float) -> AltitudeBand:
    return AltitudeBand(
        _down(band.lower_m, layer_m), band.lower_ref, _up(band.upper_m, layer_m), band.upper_ref
    )


def coarse_window(window: TimeWindow, slot_s: int) -> TimeWindow:
    start = math.floor(window.start_s / slot_s) * slot_s
    end = math.ceil(window.end_s / slot_s) * slot_s
    return TimeWindow(
        datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(max(end, start), UTC)
    )


def coarse_volume(vol: Volume4D, grain: Grain) -> Volume4D:
    """The volume grown to ``grain``: what a party it was not addressed to is judged by."""
    fp = coarse_footprint(vol.footprint, grain.h3_resolution)
    band = coarse_band(vol.altitude, grain.layer_m)
    window = coarse_window(vol.window, grain.slot_s)
    source: dict[str, Any] = {
        "geometry": fp.to_geojson(),
        "radius_m": fp.radius_m,
        "altitude_lower": {"value": band.lower_m, "units": "M", "reference": band.lower_ref.value},
        "altitude_upper": {"value": band.upper_m, "units": "M", "reference": band.upper_ref.value},
        "time_start": format_ts(window.start),
        "time_end": format_ts(window.end),
    }
    return Volume4D(footprint=fp, altitude=band, window=window, source=source)
