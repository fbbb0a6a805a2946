"""Alerts as CoT: the hub's advisory, in words, on the device's own position.

``b-a-o-pan`` (separation: "ring the bell", which TAK clients sound) or
``b-a-g`` (intrusion: a geofence breach), addressed to the device and its group
(``marti/dest``), re-sent while active; ``b-a-o-can`` when it clears. Nothing of
the other side's track is placed on the map, even where the hub shares it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

from deconflict.interop.tak.cot import UNKNOWN, event_xml

__all__ = ["ALERT_REFRESH_S", "alert_cleared_event", "alert_event", "alert_text"]

ALERT_REFRESH_S = 10.0  # an active alert is re-sent this often; stale after 3 refreshes


def _nm(value: Any) -> str:
    return f"{float(value):.1f} NM" if isinstance(value, int | float) else "? NM"


def alert_text(alert: dict[str, Any]) -> str:
    """The hub's advisory in the words an aircrew uses (no position of the other side).

    The hub gives it as collision-avoidance advisories do: clock position relative to the
    own track, range to 0.1 NM, relative altitude to 100 ft, climbing or descending.
    """
    kind = alert.get("kind")
    if kind == "separation":
        o = alert.get("other") or {}
        clock = o.get("clock")
        where = f"{clock} o'clock" if clock else "position unknown"
        nm = o.get("range_nm")
        ft = o.get("rel_alt_ft")
        if not isinstance(ft, int | float):
            height = "height unknown"
        elif ft == 0:
            height = "same level"
        else:
            height = f"{abs(ft):,.0f} ft {'above' if ft > 0 else 'below'}"
        vertical = o.get("vertical")
        trend = f", {vertical}" if vertical in ("climbing", "descending") else ""
        head = (
            "LOSS OF SEPARATION"
            if alert.get("severity") == "lost" or (alert.get("t_los_s") == 0)
            else "TRAFFIC"
        )
        acked = alert.get("acknowledged_by") or []
        dcpa = alert.get("dcpa_nm")
        return (
            f"{head}: {o.get('party')} {o.get('category', '')} traffic {where}, "
            f"{_nm(nm)}, {height}{trend}; closest {_nm(dcpa)} "
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
    now: datetime | None = None,
) -> tuple[str, bytes]:
    now = now or datetime.now(UTC)
    uid = f"deconflict.alert.{alert['id']}"
    pos = alert.get("position") or {}
    d = ET.Element("detail")
    text = alert_text(alert)
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
