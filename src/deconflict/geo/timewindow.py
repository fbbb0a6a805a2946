"""Time windows: RFC 3339 instants with an explicit zone, held in UTC."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["TimeWindow", "format_utc", "parse_rfc3339"]

# RFC 3339 section 5.6, with the zone mandatory. datetime.fromisoformat alone
# would accept naive times and ISO week dates, which a planner never means.
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 timestamp into an aware UTC datetime.

    Raises ValueError with a reason a person can act on.
    """
    if not _RFC3339.match(text):
        if re.match(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$", text):
            raise ValueError("time zone missing: add 'Z' for UTC or an offset such as '+03:00'")
        raise ValueError("not an RFC 3339 timestamp such as '2015-09-30T06:00:00Z'")
    normalised = text.replace("z", "Z").replace("t", "T")
    frac = re.search(r"\.(\d+)", normalised)
    if frac and len(frac.group(1)) > 6:
        # Python keeps microseconds; finer digits cannot change any decision.
        normalised = normalised.replace(frac.group(0), "." + frac.group(1)[:6])
    try:
        parsed = datetime.fromisoformat(normalised)
    except ValueError as exc:
        raise ValueError(f"invalid date or time: {exc}") from None
    return parsed.astimezone(UTC)


def format_utc(moment: datetime) -> str:
    """RFC 3339 in UTC with a 'Z', to the second unless sub-second digits matter."""
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


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
