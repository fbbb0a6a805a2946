"""Separation minima and lookahead used when screening tracks against each other."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

__all__ = ["DRONE", "MANNED", "ScreenKwargs", "SeparationProfile"]

# Exact by definition (international nautical mile and foot).
NAUTICAL_MILE_M = 1852.0
FOOT_M = 0.3048


class ScreenKwargs(TypedDict):
    """A profile as keyword arguments of :func:`deconflict.tactical.screen`."""

    h_sep_m: float
    v_sep_m: float
    lookahead_s: float


@dataclass(frozen=True, slots=True)
class SeparationProfile:
    """Horizontal and vertical minima (metres) and the prediction horizon (seconds)."""

    h_sep_m: float
    v_sep_m: float
    lookahead_s: float

    def as_kwargs(self) -> ScreenKwargs:
        """The keyword arguments of :func:`deconflict.tactical.screen` for this profile."""
        return {
            "h_sep_m": self.h_sep_m,
            "v_sep_m": self.v_sep_m,
            "lookahead_s": self.lookahead_s,
        }


MANNED = SeparationProfile(h_sep_m=5 * NAUTICAL_MILE_M, v_sep_m=1000 * FOOT_M, lookahead_s=300.0)
DRONE = SeparationProfile(h_sep_m=50.0, v_sep_m=15.0, lookahead_s=30.0)
