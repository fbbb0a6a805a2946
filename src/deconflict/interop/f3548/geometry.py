"""F3548 `Volume4D` documents to the hub's Volume4D, and back.

F3548 geometry is what the hub already speaks: polygon edges are geodesics
(great circles within the hub's tolerance), circles are round, altitudes are
W84 metres, times RFC 3339 with a zone, and every bound is inclusive. The
schema checks come from `uas_standards` (generated from the same OpenAPI
document as the InterUSS DSS); the geometric ones (self-intersection, size,
ranges) from `deconflict.geo`, so a volume the DSS accepts is one the hub's
engine screens.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any, TypeVar

import shapely
from implicitdict import ImplicitDict
from uas_standards.astm.f3548.v21 import api

from deconflict.geo import (
    Frame,
    GeoValidationError,
    Limits,
    Volume4D,
    format_utc,
    parse_rfc3339,
    parse_volume,
)
from deconflict.interop.f3548.errors import DssError

__all__ = [
    "DSS_LIMITS",
    "QUERY_HORIZON",
    "covers",
    "f3548_time",
    "hub_volumes",
    "parse_area",
    "parse_extents",
    "parse_model",
]

# F3548 caps: 10,000 vertices an intent (OiMaxVertices), 10,000 km2 a constraint
# (CstrMaxAreaKm2; a footprint 200 km across is already past that); an intent is
# planned at most 30 days ahead and a constraint 56 (OiMaxPlanHorizonDays,
# CstrMaxPlanningHorizonDays).
DSS_LIMITS = Limits(max_vertices=10_000, max_footprint_km=200.0, max_window_s=200 * 366 * 86_400.0)
T = TypeVar("T", bound=ImplicitDict)
_POLE_NUDGE_DEG = 1e-7  # about 1.1 cm of latitude
_POLE_NUDGE_M = 0.02
# A query without a time bound looks from now to this far ahead.
QUERY_HORIZON = timedelta(days=60)
# The hub's notices take windows of at most a year; a longer F3548 volume is mirrored as
# consecutive volumes of at most this (closed intervals: together exactly the same set).
HUB_WINDOW = timedelta(days=366)
# A volume without an altitude bound reaches from below any ground to above any drone.
_FLOOR_M = -10_000.0
_CEILING_M = 100_000.0


def parse_model(doc: Any, model: type[T], what: str) -> T:
    """``doc`` as a `uas_standards` model; a 400 naming the problem otherwise."""
    if not isinstance(doc, dict):
        raise DssError(400, f"{what} must be a JSON object")
    try:
        parsed: T = ImplicitDict.parse(doc, model)
        return parsed
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DssError(400, f"{what} is not a valid {model.__name__}: {exc}") from exc


def _latlng(point: Any, path: str) -> list[float]:
    if not isinstance(point, dict):
        raise DssError(400, f"{path} must be {{'lat': ..., 'lng': ...}}")
    out = []
    for name in ("lng", "lat"):
        value = point.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise DssError(400, f"{path}.{name} must be a number")
        out.append(float(value))
    return out


def _altitude(alt: Any, default: float, path: str) -> dict[str, Any]:
    if alt is None:
        return {"value": default, "units": "M", "reference": "W84"}
    if alt.get("reference", "W84") != "W84":
        raise DssError(400, f"{path}.reference must be W84 (F3548 altitudes are WGS-84)")
    if alt.get("units", "M") != "M":
        raise DssError(400, f"{path}.units must be M")
    value = alt.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DssError(400, f"{path}.value must be a number")
    return {"value": float(value), "units": "M", "reference": "W84"}


def f3548_time(value: datetime) -> dict[str, str]:
    return {"value": format_utc(value), "format": "RFC3339"}


def _time(doc: Any, path: str) -> str | None:
    if doc is None:
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("value"), str):
        raise DssError(400, f"{path} must be {{'value': RFC 3339 time, 'format': 'RFC3339'}}")
    if doc.get("format", "RFC3339") != "RFC3339":
        raise DssError(400, f"{path}.format must be RFC3339")
    return str(doc["value"])


def _hub_volume(
    doc: Any,
    path: str,
    *,
    default_start: str | None,
    default_end: str | None,
    checked: bool = False,
) -> dict[str, Any]:
    # ``checked``: the document it is part of already passed its schema (parsing with
    # `uas_standards` again costs more than the geometry)
    vol4 = doc if checked and isinstance(doc, dict) else parse_model(doc, api.Volume4D, path)
    vol3 = vol4.get("volume")
    if not isinstance(vol3, dict):
        raise DssError(400, f"{path}.volume must be a Volume3D object")
    circle = vol3.get("outline_circle")
    polygon = vol3.get("outline_polygon")
    out: dict[str, Any] = {}
    if (circle is None) == (polygon is None):
        raise DssError(400, f"{path}.volume needs exactly one of outline_circle, outline_polygon")
    if polygon is not None:
        vertices = polygon.get("vertices") if isinstance(polygon, dict) else None
        if not isinstance(vertices, list):
            raise DssError(400, f"{path}.volume.outline_polygon.vertices must be an array")
        ring = [
            _latlng(p, f"{path}.volume.outline_polygon.vertices[{i}]")
            for i, p in enumerate(vertices)
        ]
        if ring and ring[0] != ring[-1]:
            ring.append(ring[0])
        out["geometry"] = {"type": "Polygon", "coordinates": [ring]}
    else:
        if not isinstance(circle, dict):
            raise DssError(400, f"{path}.volume.outline_circle must be an object")
        center, radius = circle.get("center"), circle.get("radius")
        if not isinstance(center, dict) or not isinstance(radius, dict):
            raise DssError(400, f"{path}.volume.outline_circle needs a center and a radius")
        if radius.get("units", "M") != "M":
            raise DssError(400, f"{path}.volume.outline_circle.radius.units must be M")
        lng, lat = _latlng(center, f"{path}.center")
        r = radius.get("value")
        if abs(lat) == 90.0 and isinstance(r, int | float) and r > 0:
            # The hub's engine files no circle centred exactly on a pole (its longitude is
            # undefined); the circle 1 cm off it and 1 cm wider covers the same points and
            # more only within the engine's 1 m tolerance, so nothing is ever missed.
            lat, r = math.copysign(90.0 - _POLE_NUDGE_DEG, lat), float(r) + _POLE_NUDGE_M
        out["geometry"] = {"type": "Point", "coordinates": [lng, lat]}
        out["radius_m"] = r
    out["altitude_lower"] = _altitude(
        vol3.get("altitude_lower"), _FLOOR_M, f"{path}.altitude_lower"
    )
    out["altitude_upper"] = _altitude(
        vol3.get("altitude_upper"), _CEILING_M, f"{path}.altitude_upper"
    )
    start = _time(vol4.get("time_start"), f"{path}.time_start") or default_start
    end = _time(vol4.get("time_end"), f"{path}.time_end") or default_end
    if start is None or end is None:
        missing = "time_start" if start is None else "time_end"
        raise DssError(400, f"{path}.{missing} is required")
    out["time_start"], out["time_end"] = start, end
    return out


def _validated(hub_doc: dict[str, Any], path: str) -> Volume4D:
    try:
        vol = parse_volume(hub_doc, path=path, limits=DSS_LIMITS)
    except GeoValidationError as exc:
        problems = "; ".join(f"{e.path}: {e.message}" for e in exc.errors)
        raise DssError(400, f"invalid volume: {problems}") from exc
    if vol is None:  # pragma: no cover - parse_volume raises when it finds problems
        raise DssError(400, f"{path} is not a valid volume")
    return vol


def parse_extents(
    docs: Any, now: datetime, path: str = "extents", *, checked: bool = False
) -> tuple[Volume4D, ...]:
    """The extents of a reference: a non-empty list of complete volumes, not yet ended.

    ``checked``: the request they are part of already passed its `uas_standards` schema."""
    if not isinstance(docs, list) or not docs:
        raise DssError(400, f"{path} must be a non-empty array of Volume4D")
    if len(docs) > 100:
        raise DssError(400, f"{path}: {len(docs)} volumes; the limit is 100")
    vols = tuple(
        _validated(
            _hub_volume(d, f"{path}[{i}]", default_start=None, default_end=None, checked=checked),
            f"{path}[{i}]",
        )
        for i, d in enumerate(docs)
    )
    if sum(v.footprint.vertex_count for v in vols) > DSS_LIMITS.max_vertices:
        raise DssError(400, f"{path}: more than {DSS_LIMITS.max_vertices} vertices in all")
    if max(v.time_end for v in vols) <= now:
        raise DssError(400, f"{path}: every volume has already ended")
    return vols


def parse_area(doc: Any, now: datetime, path: str = "area_of_interest") -> Volume4D:
    """A query's area of interest. Without an end it looks ``QUERY_HORIZON`` past its
    start; without a start, that far before its end, or from now when it has neither."""
    if doc is None:
        raise DssError(400, f"{path} is required")
    if not isinstance(doc, dict):
        raise DssError(400, f"{path} must be a Volume4D object")
    start, end = (
        _time(doc.get("time_start"), f"{path}.time_start"),
        _time(doc.get("time_end"), f"{path}.time_end"),
    )
    try:
        t0 = parse_rfc3339(start) if start else None
        t1 = parse_rfc3339(end) if end else None
    except ValueError as exc:
        raise DssError(400, f"{path}: {exc}") from exc
    if t0 is None:
        t0 = now if t1 is None else t1 - QUERY_HORIZON
    if t1 is None:
        t1 = t0 + QUERY_HORIZON
    if t1 < t0:
        raise DssError(400, f"{path}.time_end is before its time_start")
    return _validated(
        _hub_volume(doc, path, default_start=format_utc(t0), default_end=format_utc(t1)), path
    )


def hub_volumes(vols: tuple[Volume4D, ...]) -> list[dict[str, Any]]:
    """The volumes of the hub notice mirroring ``vols``: the same 4D set, in windows the
    hub takes (`HUB_WINDOW`)."""
    out: list[dict[str, Any]] = []
    for vol in vols:
        doc = vol.to_json()
        start, end = vol.time_start, vol.time_end
        while end - start > HUB_WINDOW:
            out.append(
                {**doc, "time_start": format_utc(start), "time_end": format_utc(start + HUB_WINDOW)}
            )
            start += HUB_WINDOW
        out.append({**doc, "time_start": format_utc(start), "time_end": format_utc(end)})
    return out


# Containment is decided in the subscription's own planar frame, where round parts are
# drawn with 64 segments a quarter (off the true circle by < 0.01 %), with this slack.
_COVER_SLACK_M = 1.0
# A subscription re-sent with a start computed a moment later than its intent's still
# covers it: the start may lag by this much (clients compute "now + 20 min" twice).
_COVER_START_SLACK = timedelta(seconds=60)


def covers(outer: Volume4D, inner: tuple[Volume4D, ...], now: datetime) -> bool:
    """Whether ``outer`` (a subscription) contains every volume of ``inner`` (its
    dependent intent), in space, height and time; time before ``now`` is not asked for."""
    frame = Frame(*outer.footprint.center)
    core, _ = outer.footprint.core_in(frame)
    area = shapely.buffer(core, outer.footprint.radius_m + _COVER_SLACK_M, quad_segs=64)
    for vol in inner:
        if (
            vol.altitude.lower_m < outer.altitude.lower_m
            or vol.altitude.upper_m > outer.altitude.upper_m
        ):
            return False
        late = outer.time_start - max(vol.time_start, now)
        if vol.time_end > outer.time_end or late > _COVER_START_SLACK:
            return False
        part, _ = vol.footprint.core_in(frame)
        if vol.footprint.radius_m > 0:
            part = shapely.buffer(part, vol.footprint.radius_m, quad_segs=64)
        if not area.contains(part):
            return False
    return True
