"""What the hub tells the party, as CoT for its TAK network: shapes, alerts, chat, receipts.

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

from deconflict.interop.tak.cot import UNKNOWN, cot_time, event_xml

__all__ = [
    "ALERT_REFRESH_S",
    "alert_event",
    "alert_text",
    "chat_event",
    "delete_event",
    "notice_events",
    "overlap_events",
    "receipt_event",
]

ALERT_REFRESH_S = 10.0  # an active alert is re-sent this often; stale after 3 refreshes
_COLOURS = {  # ARGB as signed 32-bit ints, as TAK clients store colours
    "protected_site": 0xFF00A0FF,
    "fires": 0xFFFF0000,
    "overlap": 0xFFFF00FF,
}
_DEFAULT_COLOUR = 0xFFFFA000
_FT = 0.3048


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


def _clock(bearing: float) -> int:
    hour = round(bearing / 30.0) % 12
    return 12 if hour == 0 else hour


def alert_text(alert: dict[str, Any], track_heading: float | None = None) -> str:
    """The hub's advisory in the words an aircrew uses (no position of the other side)."""
    kind = alert.get("kind")
    if kind == "separation":
        o = alert.get("other") or {}
        bearing = float(o.get("bearing_deg") or 0.0)
        rel = bearing - track_heading if track_heading is not None else bearing
        clock = _clock(rel % 360.0)
        ref = "o'clock" if track_heading is not None else "o'clock true"
        nm = float(o.get("distance_m") or 0.0) / 1852.0
        dalt = float(o.get("dalt_m") or 0.0)
        vert = (
            "level"
            if abs(dalt) < 30
            else (f"{abs(dalt) / _FT:,.0f} ft {'above' if dalt > 0 else 'below'}")
        )
        head = (
            "LOSS OF SEPARATION"
            if alert.get("severity") == "lost" or (alert.get("t_los_s") == 0)
            else "TRAFFIC"
        )
        acked = alert.get("acknowledged_by") or []
        return (
            f"{head}: {o.get('party')} {o.get('category', '')} traffic {clock} {ref}, "
            f"{nm:.1f} NM, {vert}; closest {float(alert.get('dcpa_m') or 0) / 1852.0:.1f} NM "
            f"in {float(alert.get('tcpa_s') or 0):.0f} s. Alert {alert.get('id')} "
            f"({alert.get('state')}). "
            + (f"Acknowledged by {', '.join(acked)}." if acked else "Reply ACK to acknowledge.")
        )
    n = alert.get("notice") or {}
    when = (
        "INSIDE"
        if alert.get("inside_now")
        else (f"entering in {float(alert.get('t_entry_s') or 0):.0f} s")
    )
    return (
        f"INTRUSION: {when} {n.get('issuer')}'s {str(n.get('kind', '')).replace('_', ' ')}"
        f"{' ' + n['id'] if n.get('id') else ''}. Alert {alert.get('id')} ({alert.get('state')})."
        " Reply ACK to acknowledge."
    )


def alert_event(
    alert: dict[str, Any],
    *,
    device_uid: str,
    callsigns: list[str],
    track_heading: float | None = None,
    now: datetime | None = None,
) -> tuple[str, bytes]:
    now = now or datetime.now(UTC)
    uid = f"deconflict.alert.{alert['id']}"
    pos = alert.get("position") or {}
    d = ET.Element("detail")
    text = alert_text(alert, track_heading)
    ET.SubElement(d, "contact", {"callsign": f"ALERT {alert.get('kind', '').upper()}"})
    ET.SubElement(d, "link", {"uid": device_uid, "relation": "p-p", "type": "a-f"})
    ET.SubElement(
        d,
        "emergency" if alert.get("kind") == "separation" else "__geofence",
        {"type": "Ring The Bell"} if alert.get("kind") == "separation" else {"trigger": "Entry"},
    ).text = text if alert.get("kind") == "separation" else None
    rem = ET.SubElement(d, "remarks")
    rem.text = text
    ET.SubElement(
        d,
        "__deconflict",
        {
            "alert": str(alert["id"]),
            "kind": str(alert.get("kind")),
            "severity": str(alert.get("severity")),
            "revision": str(alert.get("revision")),
            "track": str(alert.get("track_id")),
        },
    )
    marti = ET.SubElement(d, "marti")
    for cs in callsigns:
        ET.SubElement(marti, "dest", {"callsign": cs})
    type_ = "b-a-o-pan" if alert.get("kind") == "separation" else "b-a-g"
    ev = event_xml(
        uid=uid,
        type_=type_,
        lat=float(pos.get("lat", 0.0)),
        lon=float(pos.get("lon", 0.0)),
        hae=UNKNOWN,
        stale=now + timedelta(seconds=3 * ALERT_REFRESH_S),
        now=now,
        detail=d,
    )
    return uid, ev


def alert_cleared_event(
    alert: dict[str, Any], *, device_uid: str, callsigns: list[str], now: datetime | None = None
) -> bytes:
    now = now or datetime.now(UTC)
    uid = f"deconflict.alert.{alert['id']}"
    d = ET.Element("detail")
    ET.SubElement(d, "link", {"uid": device_uid, "relation": "p-p", "type": "a-f"})
    ET.SubElement(d, "emergency", {"cancel": "true"})
    rem = ET.SubElement(d, "remarks")
    rem.text = f"Alert {alert['id']} cleared ({alert.get('clear_reason') or 'clear'})."
    marti = ET.SubElement(d, "marti")
    for cs in callsigns:
        ET.SubElement(marti, "dest", {"callsign": cs})
    pos = alert.get("position") or {}
    return event_xml(
        uid=uid,
        type_="b-a-o-can",
        lat=float(pos.get("lat", 0.0)),
        lon=float(pos.get("lon", 0.0)),
        stale=now + timedelta(seconds=20),
        now=now,
        detail=d,
    )


def chat_event(
    *,
    message_id: str,
    text: str,
    sender_uid: str,
    sender_callsign: str,
    to_uid: str,
    to_callsign: str,
    chatroom: str,
    now: datetime | None = None,
) -> bytes:
    """A private GeoChat message (``chatroom`` names the conversation on the device)."""
    now = now or datetime.now(UTC)
    d = ET.Element("detail")
    chat = ET.SubElement(
        d,
        "__chat",
        {
            "parent": "RootContactGroup",
            "groupOwner": "false",
            "messageId": message_id,
            "chatroom": chatroom,
            "id": to_uid,
            "senderCallsign": sender_callsign,
        },
    )
    ET.SubElement(chat, "chatgrp", {"uid0": sender_uid, "uid1": to_uid, "id": to_uid})
    ET.SubElement(d, "link", {"uid": sender_uid, "type": "a-f-G-U-C", "relation": "p-p"})
    rem = ET.SubElement(
        d, "remarks", {"source": f"BAO.F.ATAK.{sender_uid}", "to": to_uid, "time": cot_time(now)}
    )
    rem.text = text
    marti = ET.SubElement(d, "marti")
    ET.SubElement(marti, "dest", {"callsign": to_callsign})
    return event_xml(
        uid=f"GeoChat.{sender_uid}.{to_uid}.{message_id}",
        type_="b-t-f",
        lat=0.0,
        lon=0.0,
        stale=now + timedelta(days=1),
        now=now,
        detail=d,
    )


def receipt_event(
    *,
    what: str,
    message_id: str,
    sender_uid: str,
    sender_callsign: str,
    to_uid: str,
    to_callsign: str,
    chatroom: str,
    now: datetime | None = None,
) -> bytes:
    """``b-t-f-d`` (delivered) or ``b-t-f-r`` (read) for ``message_id``, to its sender."""
    now = now or datetime.now(UTC)
    d = ET.Element("detail")
    chat = ET.SubElement(
        d,
        "__chatreceipt",
        {
            "parent": "RootContactGroup",
            "groupOwner": "false",
            "messageId": message_id,
            "chatroom": chatroom,
            "id": to_uid,
            "senderCallsign": sender_callsign,
        },
    )
    ET.SubElement(chat, "chatgrp", {"uid0": sender_uid, "uid1": to_uid, "id": to_uid})
    ET.SubElement(d, "link", {"uid": sender_uid, "type": "a-f-G-U-C", "relation": "p-p"})
    marti = ET.SubElement(d, "marti")
    ET.SubElement(marti, "dest", {"callsign": to_callsign})
    type_ = {"delivered": "b-t-f-d", "read": "b-t-f-r"}[what]
    return event_xml(
        uid=message_id,
        type_=type_,
        lat=0.0,
        lon=0.0,
        stale=now + timedelta(days=1),
        now=now,
        detail=d,
    )


def self_event(uid: str, callsign: str, group: str, now: datetime | None = None) -> bytes:
    """The gateway's own presence, so the TAK server routes chat and receipts to it."""
    now = now or datetime.now(UTC)
    d = ET.Element("detail")
    ET.SubElement(
        d,
        "takv",
        {"os": "", "device": "deconflict", "version": "1", "platform": "deconflict tak-gateway"},
    )
    ET.SubElement(d, "contact", {"callsign": callsign, "endpoint": "*:-1:stcp"})
    ET.SubElement(d, "__group", {"name": group, "role": "HQ"})
    ET.SubElement(d, "uid", {"Droid": callsign})
    return event_xml(
        uid=uid,
        type_="a-f-G-E-S",
        lat=0.0,
        lon=0.0,
        stale=now + timedelta(minutes=2),
        now=now,
        detail=d,
        how="h-e",
    )


def takp_request(uid: str, now: datetime | None = None) -> bytes:
    """Ask the TAK server to switch this stream to TAK protocol version 1."""
    now = now or datetime.now(UTC)
    d = ET.Element("detail")
    control = ET.SubElement(d, "TakControl")
    ET.SubElement(control, "TakRequest", {"version": "1"})
    return event_xml(
        uid=f"{uid}-takp",
        type_="t-x-takp-q",
        lat=0.0,
        lon=0.0,
        hae=0.0,
        stale=now + timedelta(minutes=1),
        now=now,
        detail=d,
        how="m-g",
    )


__all__ += ["alert_cleared_event", "self_event", "takp_request"]
