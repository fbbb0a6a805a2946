"""Time, the one way the hub writes and reads it: UTC-aware, and text that sorts.

One text form in every answer of the hub (API JSON, the event stream, the command
line), whoever wrote the instant:

- `format_ts` / `parse_ts`: fixed-width ``YYYY-MM-DDTHH:MM:SS.ffffffZ``, so that string
  order is time order in every database and every answer. The instants parties write
  in their documents are given back this way too (``06:00:00Z`` comes back as
  ``06:00:00.000000Z``), never in a second form beside the hub's own stamps;
- `parse_rfc3339`: what parties write (RFC 3339 with an explicit zone);
- `format_utc`: RFC 3339 to the second unless sub-second digits matter, for the
  ASTM F3548 interface only (its documents are its own).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

__all__ = [
    "epoch_of",
    "format_epoch",
    "format_ts",
    "format_utc",
    "parse_rfc3339",
    "parse_ts",
    "utcnow",
]

_STAMP = "%Y-%m-%dT%H:%M:%S.%fZ"

# RFC 3339 section 5.6, with the zone mandatory. datetime.fromisoformat alone
# would accept naive times and ISO week dates, which a planner never means.
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def format_ts(dt: datetime) -> str:
    """Fixed-width UTC text, so that string order is time order."""
    return dt.astimezone(UTC).strftime(_STAMP)


def parse_ts(text: str) -> datetime:
    return datetime.strptime(text, _STAMP).replace(tzinfo=UTC)


def format_epoch(t: float) -> str:
    """`format_ts` of a POSIX time (what the tactical loop keeps)."""
    return format_ts(datetime.fromtimestamp(t, UTC))


def epoch_of(text: str) -> float:
    """The POSIX time of a `format_ts` stamp."""
    return parse_ts(text).timestamp()


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
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00:00-05:00 is in the year 10000 in UTC
        raise ValueError("outside the years 1 to 9999 once in UTC") from None


def format_utc(moment: datetime) -> str:
    """RFC 3339 in UTC with a 'Z', to the second unless sub-second digits matter."""
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
