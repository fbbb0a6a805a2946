"""Altitude bands: units, vertical references and how bands compare.

Heights are held in metres with their reference. Two bands on the same
reference compare exactly; across references (ellipsoid vs mean sea level vs
pressure) the true relation is unknown to the hub, so the vertical gap is
reduced by a margin: deconfliction must never miss, and a spurious conflict
costs a phone call while a missed one can cost an aircraft.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "FOOT_M",
    "AltitudeBand",
    "Reference",
    "VerticalMargins",
    "to_metres",
]

FOOT_M = 0.3048  # exact, by the 1959 international agreement


class Reference(StrEnum):
    W84 = "W84"  # height above the WGS-84 ellipsoid
    AMSL = "AMSL"  # height above mean sea level (the geoid)
    STD = "STD"  # pressure altitude on the standard atmosphere: flight levels


UNITS = ("M", "FT", "FL")


def to_metres(value: float, units: str) -> float:
    if units == "M":
        return value
    if units == "FT":
        return value * FOOT_M
    if units == "FL":
        return value * 100.0 * FOOT_M
    raise ValueError(f"unknown units {units!r}")


@dataclass(frozen=True)
class VerticalMargins:
    """How much the vertical gap is widened when two bands use different references.

    ``geoid_m`` covers W84 vs AMSL: the geoid departs from the ellipsoid by
    -106 m to +85 m worldwide. ``pressure_m`` covers flight levels vs
    geometric heights: in a cold air mass a flight level sits hundreds of
    metres lower than its nominal height (ICAO cold-temperature corrections
    reach ~10 % of height), so the default is deliberately generous.
    """

    geoid_m: float = 110.0
    pressure_m: float = 1000.0

    def between(self, a: Reference, b: Reference) -> float:
        if a == b:
            return 0.0
        if Reference.STD in (a, b):
            return self.pressure_m + (self.geoid_m if Reference.W84 in (a, b) else 0.0)
        return self.geoid_m


@dataclass(frozen=True)
class AltitudeBand:
    """A closed band of heights. Each bound keeps its own reference, because
    real bands mix them ("surface to FL250")."""

    lower_m: float
    lower_ref: Reference
    upper_m: float
    upper_ref: Reference

    def gap_m(self, other: AltitudeBand, margins: VerticalMargins) -> float:
        """Conservative vertical gap: 0 when the bands may touch or overlap.

        Each side's gap is reduced by the margin between the two references
        involved, so a band in feet AMSL and one in flight levels are never
        declared apart on the strength of nominal numbers alone.
        """
        above = other.lower_m - self.upper_m - margins.between(other.lower_ref, self.upper_ref)
        below = self.lower_m - other.upper_m - margins.between(self.lower_ref, other.upper_ref)
        return max(0.0, above, below)

    def overlap(self, other: AltitudeBand) -> tuple[float, float] | None:
        """The nominal common band in metres, or None when the bands are apart."""
        lo = max(self.lower_m, other.lower_m)
        hi = min(self.upper_m, other.upper_m)
        return (lo, hi) if lo <= hi else None
