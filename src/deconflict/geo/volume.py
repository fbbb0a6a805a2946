"""Volume4D: a footprint, an altitude band and a time window (DESIGN.md section 2)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from deconflict.geo.altitude import UNITS, AltitudeBand, Reference, to_metres
from deconflict.geo.errors import ErrorCollector, join_path
from deconflict.geo.footprint import Footprint, FootprintLimits, parse_footprint
from deconflict.geo.timewindow import TimeWindow, parse_rfc3339
from deconflict.utc import format_ts

__all__ = ["MAX_ALTITUDE_M", "Limits", "Volume4D", "parse_volume", "parse_volumes"]

# No activity is notified beyond this height (or depth) from its reference.
MAX_ALTITUDE_M = 10_000_000.0


@dataclass(frozen=True)
class Limits:
    """What a single document may hold; every limit is refused with a clear error."""

    max_vertices: int = 10_000
    max_footprint_km: float = 1_000.0
    # A protected site is re-notified yearly; longer windows hide stale notices.
    max_window_s: float = 366 * 86_400.0
    max_volumes: int = 100

    @property
    def footprint(self) -> FootprintLimits:
        return FootprintLimits(self.max_vertices, self.max_footprint_km * 1000.0)


@dataclass(frozen=True, eq=False)
class Volume4D:
    footprint: Footprint
    altitude: AltitudeBand
    window: TimeWindow
    # A mapping, not necessarily a dict: a volume read back from its prepared form
    # (geo.packed) parses or builds its document only when asked.
    source: Mapping[str, Any] = field(repr=False)

    @property
    def time_start(self) -> datetime:
        return self.window.start

    @property
    def time_end(self) -> datetime:
        return self.window.end

    def to_json(self) -> dict[str, Any]:
        """The normalised document: times in UTC with 'Z', longitudes in [-180, 180]."""
        return dict(self.source)


def _parse_altitude(
    doc: object, path: str, errors: ErrorCollector
) -> tuple[float, Reference, dict[str, Any]] | None:
    if not isinstance(doc, dict):
        errors.add(
            path, 'must be an object such as {"value": 0, "units": "FT", "reference": "W84"}'
        )
        return None
    value, units, ref = doc.get("value"), doc.get("units"), doc.get("reference")
    ok = True
    if not isinstance(value, int | float) or isinstance(value, bool):
        errors.add(join_path(path, "value"), "must be a number")
        ok = False
    elif not math.isfinite(float(value)):
        errors.add(join_path(path, "value"), f"must be finite, got {value}")
        ok = False
    for key in sorted(set(doc) - {"value", "units", "reference"}, key=str):
        errors.add(join_path(path, str(key)), "unknown field (value, units, reference)")
        ok = False
    if units is None:
        errors.add(join_path(path, "units"), "is required: M, FT or FL")
        ok = False
    elif units not in UNITS:
        errors.add(join_path(path, "units"), f"unknown units {units!r}: use M, FT or FL")
        ok = False
    reference: Reference | None = None
    if units not in UNITS:
        # Whether a reference is due depends on the units (a flight level takes none):
        # with the units wrong, only a reference that fits no units at all is an error.
        if ref not in (None, "STD", Reference.W84.value, Reference.AMSL.value):
            errors.add(join_path(path, "reference"), f"unknown reference {ref!r}: use W84 or AMSL")
        ok = False
    elif units == "FL":
        if ref not in (None, "STD"):
            errors.add(
                join_path(path, "reference"),
                "a flight level is a pressure altitude: omit reference or use STD",
            )
            ok = False
        reference = Reference.STD
    elif ref in (Reference.W84.value, Reference.AMSL.value):
        reference = Reference(ref)
    elif ref is None:
        errors.add(join_path(path, "reference"), "is required: W84 or AMSL")
        ok = False
    else:
        errors.add(join_path(path, "reference"), f"unknown reference {ref!r}: use W84 or AMSL")
        ok = False
    if not ok or reference is None:
        return None
    assert isinstance(units, str)  # noqa: S101 - narrowed by the membership test above
    metres = to_metres(float(value), units)  # type: ignore[arg-type]
    if not abs(metres) <= MAX_ALTITUDE_M:
        # (a finite value in feet or flight levels may still overflow in metres, and the
        # coarse grain's layers would then fail on it)
        errors.add(
            join_path(path, "value"),
            f"{value} {units} is beyond {MAX_ALTITUDE_M / 1000:,.0f} km from the reference",
        )
        return None
    normalised: dict[str, Any] = {"value": value, "units": units, "reference": reference.value}
    return metres, reference, normalised


def _parse_time(doc: object, path: str, errors: ErrorCollector) -> datetime | None:
    if not isinstance(doc, str):
        errors.add(path, "must be an RFC 3339 string such as '2015-09-30T06:00:00Z'")
        return None
    try:
        return parse_rfc3339(doc)
    except ValueError as exc:
        errors.add(path, str(exc))
        return None


def parse_volume(
    doc: object,
    *,
    path: str = "",
    limits: Limits | None = None,
    errors: ErrorCollector | None = None,
) -> Volume4D | None:
    """Validate one Volume4D document.

    With ``errors`` given, problems are recorded there and None is returned;
    without, a :class:`GeoValidationError` listing all of them is raised.
    """
    limits = limits or Limits()
    own = errors is None
    errs = errors if errors is not None else ErrorCollector()
    result = _parse_volume(doc, path, limits, errs)
    if own:
        errs.raise_if_any()
    return result


_FIELDS = frozenset(
    {"geometry", "radius_m", "altitude_lower", "altitude_upper", "time_start", "time_end"}
)


def _parse_volume(doc: object, path: str, limits: Limits, errs: ErrorCollector) -> Volume4D | None:
    if not isinstance(doc, dict):
        errs.add(path, "a volume must be an object with geometry, altitudes and times")
        return None
    before = len(errs.errors)
    for key in sorted(set(doc) - _FIELDS):
        errs.add(join_path(path, key), "unknown field")
    for key in sorted(_FIELDS - {"radius_m"} - set(doc)):
        errs.add(join_path(path, key), "required")
    footprint = (
        parse_footprint(doc.get("geometry"), doc.get("radius_m"), path, limits.footprint, errs)
        if "geometry" in doc
        else None
    )
    lower = (
        _parse_altitude(doc.get("altitude_lower"), join_path(path, "altitude_lower"), errs)
        if "altitude_lower" in doc
        else None
    )
    upper = (
        _parse_altitude(doc.get("altitude_upper"), join_path(path, "altitude_upper"), errs)
        if "altitude_upper" in doc
        else None
    )
    start = (
        _parse_time(doc.get("time_start"), join_path(path, "time_start"), errs)
        if "time_start" in doc
        else None
    )
    end = (
        _parse_time(doc.get("time_end"), join_path(path, "time_end"), errs)
        if "time_end" in doc
        else None
    )
    if lower and upper and lower[0] > upper[0]:
        errs.add(
            join_path(path, "altitude_lower"),
            f"lower altitude ({lower[0]:.1f} m) is above upper altitude ({upper[0]:.1f} m)",
        )
    if start and end:
        if end < start:
            errs.add(join_path(path, "time_end"), "ends before it starts (time_end < time_start)")
        elif (end - start).total_seconds() > limits.max_window_s:
            errs.add(
                join_path(path, "time_end"),
                f"time window of {(end - start).total_seconds() / 86400:.1f} days is longer than "
                f"the limit of {limits.max_window_s / 86400:.0f} days",
            )
    if len(errs.errors) > before or not (footprint and lower and upper and start and end):
        return None
    source: dict[str, Any] = {
        "geometry": footprint.to_geojson(),
        "radius_m": footprint.radius_m,
        "altitude_lower": lower[2],
        "altitude_upper": upper[2],
        "time_start": format_ts(start),
        "time_end": format_ts(end),
    }
    return Volume4D(
        footprint=footprint,
        altitude=AltitudeBand(lower[0], lower[1], upper[0], upper[1]),
        window=TimeWindow(start, end),
        source=source,
    )


def parse_volumes(
    docs: object,
    *,
    path: str = "volumes",
    limits: Limits | None = None,
    errors: ErrorCollector | None = None,
) -> tuple[Volume4D, ...]:
    """Validate a non-empty array of Volume4D documents (all errors reported at once)."""
    limits = limits or Limits()
    own = errors is None
    errs = errors if errors is not None else ErrorCollector()
    out: list[Volume4D] = []
    if not isinstance(docs, list) or not docs:
        errs.add(path, "must be a non-empty array of volumes")
    elif len(docs) > limits.max_volumes:
        errs.add(path, f"too many volumes: {len(docs)} > limit {limits.max_volumes}")
    else:
        total = 0
        for i, doc in enumerate(docs):
            vol = _parse_volume(doc, join_path(path, i), limits, errs)
            if vol is not None:
                out.append(vol)
                total += vol.footprint.vertex_count
        if total > limits.max_vertices and not errs:
            errs.add(path, f"too many vertices in all: {total} > limit {limits.max_vertices}")
    if own:
        errs.raise_if_any()
    return tuple(out) if not errs else ()
