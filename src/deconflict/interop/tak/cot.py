"""Cursor-on-Target events: read and checked as TAK clients read them, and written.

A TAK client drops an event that lacks ``uid``, ``type``, ``time``, ``start``,
``stale`` or a ``point`` with numeric ``lat``/``lon``/``hae``/``ce``/``le``,
whose point lies off the globe, or that is already stale. The gateway does
the same, and also refuses what a hostile or broken device could use to poison
the hub's picture: a time far in the future, a document with a DTD (entity
expansion), an oversized event.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

__all__ = [
    "MAX_EVENT_BYTES",
    "MAX_FUTURE_S",
    "UNKNOWN",
    "CotError",
    "CotEvent",
    "check_event",
    "cot_time",
    "event_xml",
    "parse_cot",
]

# CoT's "unknown" for hae, ce and le.
UNKNOWN = 9_999_999.0
MAX_EVENT_BYTES = 64 * 1024
# How far ahead of the gateway's clock an event may be dated (device clocks drift).
MAX_FUTURE_S = 60.0
_TYPE_RE = re.compile(r"^[a-zA-Z0-9]+(-[a-zA-Z0-9.]+)*$")
_UID_MAX = 256


class CotError(ValueError):
    """An event a TAK client would not accept; the message names the field and why."""


@dataclass
class CotEvent:
    uid: str
    type: str
    how: str
    time: datetime
    start: datetime
    stale: datetime
    lat: float
    lon: float
    hae: float
    ce: float = UNKNOWN
    le: float = UNKNOWN
    detail: ET.Element = field(default_factory=lambda: ET.Element("detail"))

    def find(self, path: str) -> ET.Element | None:
        return self.detail.find(path)

    def attr(self, path: str, name: str) -> str | None:
        el = self.detail.find(path)
        return None if el is None else el.get(name)

    @property
    def callsign(self) -> str | None:
        return self.attr("contact", "callsign")

    @property
    def group(self) -> str | None:
        return self.attr("__group", "name")


def cot_time(t: datetime) -> str:
    """CoT's time format: UTC, milliseconds, ``Z``."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _parse_time(value: str | None, name: str) -> datetime:
    if value is None:
        raise CotError(f"event@{name}: missing")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise CotError(f"event@{name}: not an ISO 8601 time: {value[:40]!r}") from None
    if t.tzinfo is None:  # TAK clients read zone-less CoT times as UTC
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC)


def _number(point: ET.Element, name: str, lo: float, hi: float, *, unknown_ok: bool) -> float:
    raw = point.get(name)
    if raw is None:
        raise CotError(f"point@{name}: missing")
    try:
        value = float(raw)
    except ValueError:
        raise CotError(f"point@{name}: not a number: {raw[:40]!r}") from None
    if not math.isfinite(value):
        raise CotError(f"point@{name}: not a finite number")
    if unknown_ok and value == UNKNOWN:
        return value
    if not lo <= value <= hi:
        raise CotError(f"point@{name}: {value:g} is outside [{lo:g}, {hi:g}]")
    return value


def parse_cot(data: bytes, now: datetime | None = None) -> CotEvent:
    """One ``<event>`` document, checked; raises `CotError` naming what is wrong."""
    if len(data) > MAX_EVENT_BYTES:
        raise CotError(f"event: {len(data)} bytes, more than {MAX_EVENT_BYTES}")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise CotError("event: a DTD is not allowed in CoT")
    try:
        # No DTD reaches the parser (refused above), so no entity can expand.
        root = ET.fromstring(data)  # noqa: S314
    except ET.ParseError as exc:
        raise CotError(f"event: malformed XML ({exc})") from None
    return check_event(root, now)


def check_event(root: ET.Element, now: datetime | None = None) -> CotEvent:
    """An ``<event>`` element (from XML or rebuilt from TAK protocol), checked."""
    if root.tag != "event":
        raise CotError(f"event: the root element is <{root.tag[:40]}>, not <event>")
    uid = root.get("uid")
    if not uid or len(uid) > _UID_MAX or any(c in uid for c in "\r\n\t"):
        raise CotError("event@uid: missing, too long or with control characters")
    type_ = root.get("type")
    if not type_ or not _TYPE_RE.match(type_) or len(type_) > 64:
        raise CotError(f"event@type: not a CoT type: {(type_ or '')[:40]!r}")
    time = _parse_time(root.get("time"), "time")
    start = _parse_time(root.get("start"), "start")
    stale = _parse_time(root.get("stale"), "stale")
    if stale < start:
        raise CotError("event@stale: before start")
    now = now or datetime.now(UTC)
    limit = now + timedelta(seconds=MAX_FUTURE_S)
    if time > limit or start > limit:
        raise CotError(f"event@time: {cot_time(time)} is in the future (clock {cot_time(now)})")
    if stale < now:
        raise CotError(f"event@stale: already stale ({cot_time(stale)})")
    point = root.find("point")
    if point is None:
        raise CotError("point: missing")
    lat = _number(point, "lat", -90.0, 90.0, unknown_ok=False)
    lon = _number(point, "lon", -180.0, 180.0, unknown_ok=False)
    hae = _number(point, "hae", -12_000.0, 1_000_000.0, unknown_ok=True)
    ce = _number(point, "ce", 0.0, math.inf, unknown_ok=True)
    le = _number(point, "le", 0.0, math.inf, unknown_ok=True)
    detail = root.find("detail")
    return CotEvent(
        uid=uid,
        type=type_,
        how=root.get("how") or "",
        time=time,
        start=start,
        stale=stale,
        lat=lat,
        lon=lon,
        hae=hae,
        ce=ce,
        le=le,
        detail=detail if detail is not None else ET.Element("detail"),
    )


def event_xml(
    *,
    uid: str,
    type_: str,
    lat: float,
    lon: float,
    hae: float = UNKNOWN,
    stale: datetime,
    now: datetime | None = None,
    how: str = "h-g-i-g-o",
    detail: ET.Element | None = None,
    start: datetime | None = None,
) -> bytes:
    """A CoT event as bytes (what goes on the TAK server's stream)."""
    now = now or datetime.now(UTC)
    ev = ET.Element(
        "event",
        {
            "version": "2.0",
            "uid": uid,
            "type": type_,
            "how": how,
            "time": cot_time(now),
            "start": cot_time(start or now),
            "stale": cot_time(stale),
        },
    )
    ET.SubElement(
        ev,
        "point",
        {
            "lat": f"{lat:.7f}",
            "lon": f"{lon:.7f}",
            "hae": f"{hae:.1f}",
            "ce": f"{UNKNOWN:.1f}",
            "le": f"{UNKNOWN:.1f}",
        },
    )
    ev.append(detail if detail is not None else ET.Element("detail"))
    data: bytes = ET.tostring(ev, encoding="utf-8", xml_declaration=False)
    return data
