"""What the hub tells the party, as CoT for its TAK network: the shapes (alerts are built
in ``alerts.py``, chat and receipts in ``chat.py``).

Types (the issue asks for the ``r-`` branch, restrictions, for what is drawn):

* ``r-a-f`` a restricted area drawn as a polygon (a notice's polygon, a
  corridor's outline, a conflict's overlap region),
* ``r-a-c`` a restricted circle,
* ``b-a-o-pan`` a separation alert ("ring the bell": TAK clients sound it),
  ``b-a-g`` an intrusion alert (a geofence breach), ``b-a-o-can`` its end,
* ``b-t-f`` GeoChat, ``b-t-f-d`` / ``b-t-f-r`` delivered / read receipts,
* ``t-x-d-d`` delete (with ``__forcedelete``), as TAK clients expect.

Shapes also carry the detail elements TAK clients draw drawing objects from
(``link`` vertices, ``shape/ellipse``, stroke and fill colours, a callsign as
the label), the issuer, altitude band and window in ``remarks``, and
``stale`` at the end of the window so that a client drops them on its own.
Alerts carry the hub's advisory only (clock position, range, relative
altitude, closest approach), placed on the device's own reported position.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

import pyproj
import shapely
from shapely.geometry import LineString, Polygon, mapping, shape

from deconflict.interop.tak.cot import event_xml

__all__ = ["delete_event", "notice_events", "overlap_events"]

_COLOURS = {  # ARGB as signed 32-bit ints, as TAK clients store colours
    "protected_site": 0xFF00A0FF,
    "fires": 0xFFFF0000,
    "overlap": 0xFFFF00FF,
}
_DEFAULT_COLOUR = 0xFFFFA000


def _argb(value: int, alpha: int | None = None) -> str:
    if alpha is not None:
        value = (value & 0x00FFFFFF) | (alpha << 24)
    return str(value - (1 << 32) if value >= 1 << 31 else value)


def _ts(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _hhmm(t: datetime | None) -> str:
    return t.strftime("%d %H:%MZ") if t else "?"


def _altitude(doc: dict[str, Any] | None) -> str:
    if not doc:
        return "?"
    units = doc.get("units", "M")
    value = doc.get("value")
    if units == "FL":
        return f"FL{value:g}" if isinstance(value, int | float) else "FL?"
    ref = doc.get("reference", "W84")
    return f"{value:g} {units} {ref}" if isinstance(value, int | float) else "?"


def _outline(coords: list[list[float]], *, close: bool) -> list[tuple[float, float]]:
    pts = [(float(p[1]), float(p[0])) for p in coords]  # GeoJSON [lon, lat] -> (lat, lon)
    if close and len(pts) > 1 and pts[0] == pts[-1]:
        pts = pts[:-1]
    return pts


def _corridor_outline(coords: list[list[float]], radius_m: float) -> list[tuple[float, float]]:
    """Every point within ``radius_m`` of the centre line, drawn in a local equidistant frame."""
    lon0, lat0 = float(coords[0][0]), float(coords[0][1])
    aeqd = pyproj.CRS.from_proj4(f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m")
    fwd = pyproj.Transformer.from_crs("EPSG:4326", aeqd, always_xy=True)
    back = pyproj.Transformer.from_crs(aeqd, "EPSG:4326", always_xy=True)
    xs, ys = fwd.transform([c[0] for c in coords], [c[1] for c in coords])
    ring = LineString(list(zip(xs, ys, strict=True))).buffer(radius_m, quad_segs=8)
    if not isinstance(ring, Polygon):  # pragma: no cover - a buffered line is one polygon
        raise ValueError("corridor outline is not a polygon")
    lons, lats = back.transform(*ring.exterior.xy)
    return [(float(la), float(lo)) for lo, la in zip(lons, lats, strict=True)][:-1]


def _centre(points: list[tuple[float, float]]) -> tuple[float, float]:
    lat = sum(p[0] for p in points) / len(points)
    # Longitudes averaged as vectors so that a shape across ±180 centres on it.
    x = sum(math.cos(math.radians(p[1])) for p in points)
    y = sum(math.sin(math.radians(p[1])) for p in points)
    return lat, math.degrees(math.atan2(y, x))


def _shape_detail(
    *,
    label: str,
    remarks: str,
    colour: int,
    points: list[tuple[float, float]] | None = None,
    radius_m: float | None = None,
    extra: dict[str, str] | None = None,
) -> ET.Element:
    d = ET.Element("detail")
    ET.SubElement(d, "contact", {"callsign": label[:120]})
    if points is not None:
        for lat, lon in points:
            ET.SubElement(d, "link", {"point": f"{lat:.7f},{lon:.7f}"})
        ET.SubElement(d, "closed", {"value": "true"})
    if radius_m is not None:
        sh = ET.SubElement(d, "shape")
        r = f"{radius_m:.1f}"
        ET.SubElement(sh, "ellipse", {"major": r, "minor": r, "angle": "360"})
    ET.SubElement(d, "strokeColor", {"value": _argb(colour)})
    ET.SubElement(d, "strokeWeight", {"value": "3.0"})
    ET.SubElement(d, "fillColor", {"value": _argb(colour, 0x40)})
    ET.SubElement(d, "labels_on", {"value": "true"})
    rem = ET.SubElement(d, "remarks")
    rem.text = remarks
    ET.SubElement(d, "__deconflict", extra or {})
    return d


def _volume_event(
    uid: str,
    volume: dict[str, Any],
    label: str,
    remarks: str,
    colour: int,
    extra: dict[str, str],
    now: datetime,
) -> bytes | None:
    geom = volume.get("geometry") or {}
    gtype = geom.get("type")
    coords = geom.get("coordinates")
    radius = float(volume.get("radius_m") or 0.0)
    stale = _ts(volume.get("time_end")) or now + timedelta(hours=1)
    if stale <= now:
        return None
    if gtype == "Polygon" and coords:
        pts = _outline(coords[0], close=True)
        lat, lon = _centre(pts)
        detail = _shape_detail(label=label, remarks=remarks, colour=colour, points=pts, extra=extra)
        return event_xml(
            uid=uid, type_="r-a-f", lat=lat, lon=lon, stale=stale, now=now, detail=detail
        )
    if gtype == "Point" and coords and radius > 0:
        detail = _shape_detail(
            label=label, remarks=remarks, colour=colour, radius_m=radius, extra=extra
        )
        return event_xml(
            uid=uid,
            type_="r-a-c",
            lat=float(coords[1]),
            lon=float(coords[0]),
            stale=stale,
            now=now,
            detail=detail,
        )
    if gtype == "LineString" and coords and radius > 0:
        pts = _corridor_outline(coords, radius)
        lat, lon = _centre(pts)
        extra = {**extra, "width_m": f"{2 * radius:.0f}"}
        detail = _shape_detail(label=label, remarks=remarks, colour=colour, points=pts, extra=extra)
        return event_xml(
            uid=uid, type_="r-a-f", lat=lat, lon=lon, stale=stale, now=now, detail=detail
        )
    return None


def notice_events(notice: dict[str, Any], now: datetime | None = None) -> list[tuple[str, bytes]]:
    """(uid, CoT) for each live volume of a notice."""
    now = now or datetime.now(UTC)
    out = []
    kind = str(notice.get("kind", "other"))
    colour = _COLOURS.get(kind, _DEFAULT_COLOUR)
    for i, v in enumerate(notice.get("volumes") or []):
        uid = f"deconflict.notice.{notice['id']}.{i}"
        lo, hi = _altitude(v.get("altitude_lower")), _altitude(v.get("altitude_upper"))
        window = f"{_hhmm(_ts(v.get('time_start')))} to {_hhmm(_ts(v.get('time_end')))}"
        width = ""
        if (v.get("geometry") or {}).get("type") == "LineString":
            width = f" Corridor {2 * float(v.get('radius_m') or 0):.0f} m wide."
        remarks = (
            f"{notice.get('issuer')} {kind.replace('_', ' ')}: {notice.get('title', '')}. "
            f"{lo} to {hi}, {window}.{width} Notice {notice['id']} v{notice.get('version')}."
        )
        if notice.get("remarks"):
            remarks += f" {notice['remarks']}"
        label = f"{notice.get('issuer')}: {notice.get('title') or kind}"
        extra = {
            "notice": str(notice["id"]),
            "version": str(notice.get("version")),
            "issuer": str(notice.get("issuer")),
            "kind": kind,
            "volume": str(i),
        }
        ev = _volume_event(uid, v, label, remarks, colour, extra, now)
        if ev is not None:
            out.append((uid, ev))
    return out


def overlap_events(
    conflict: dict[str, Any], now: datetime | None = None
) -> list[tuple[str, bytes]]:
    """A conflict's overlap regions as the hub disclosed them (coarse when not addressed)."""
    now = now or datetime.now(UTC)
    other = conflict.get("other") or {}
    out = []
    for i, o in enumerate(conflict.get("overlaps") or []):
        region = o.get("region")
        window = o.get("time_window") or {}
        stale = _ts(window.get("end"))
        if not region or stale is None or stale <= now:
            continue
        try:
            geom = shape(region)
        except (ValueError, TypeError, AttributeError, shapely.errors.GEOSException):
            continue
        polys = list(getattr(geom, "geoms", [geom]))
        band = o.get("altitude_band") or {}
        remarks = (
            f"Overlap with {other.get('issuer')}'s {str(other.get('kind', '')).replace('_', ' ')}"
            f" (conflict {conflict.get('id')}): {band.get('lower_m', 0):.0f} to "
            f"{band.get('upper_m', 0):.0f} m, {_hhmm(_ts(window.get('start')))} to "
            f"{_hhmm(stale)}. As disclosed by the hub."
        )
        for j, poly in enumerate(polys):
            if not isinstance(poly, Polygon):
                continue
            uid = f"deconflict.conflict.{conflict['id']}.{i}.{j}"
            pts = _outline(mapping(poly)["coordinates"][0], close=True)
            lat, lon = _centre(pts)
            detail = _shape_detail(
                label=f"Overlap {other.get('issuer')}",
                remarks=remarks,
                colour=_COLOURS["overlap"],
                points=pts,
                extra={"conflict": str(conflict.get("id")), "issuer": str(other.get("issuer"))},
            )
            out.append(
                (
                    uid,
                    event_xml(
                        uid=uid,
                        type_="r-a-f",
                        lat=lat,
                        lon=lon,
                        stale=stale,
                        now=now,
                        detail=detail,
                    ),
                )
            )
    return out


def delete_event(uid: str, now: datetime | None = None) -> bytes:
    now = now or datetime.now(UTC)
    d = ET.Element("detail")
    ET.SubElement(d, "link", {"uid": uid, "relation": "none", "type": "none"})
    ET.SubElement(d, "__forcedelete")
    return event_xml(
        uid=f"{uid}.delete",
        type_="t-x-d-d",
        lat=0.0,
        lon=0.0,
        stale=now + timedelta(seconds=20),
        now=now,
        detail=d,
        how="h-g-i-g-o",
    )
