"""Time windows: RFC 3339 instants with an explicit zone, held in UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from deconflict.utc import format_utc, parse_rfc3339

__all__ = ["TimeWindow", "format_utc", "parse_rfc3339"]


@dataclass(frozen=True)
class TimeWindow:
    start: datetime
    end: datetime

    @property
    def start_s(self) -> float:
        return self.start.timestamp()

    @property
    def end_s(self) -> float:
        return self.end.timestamp()

    def gap_s(self, other: TimeWindow) -> float:
        """Seconds between the windows; 0 when they touch or overlap (closed intervals)."""
        return max(0.0, max(self.start_s, other.start_s) - min(self.end_s, other.end_s))

    def overlap(self, other: TimeWindow) -> tuple[datetime, datetime] | None:
        lo = max(self.start, other.start)
        hi = min(self.end, other.end)
        return (lo, hi) if lo <= hi else None
