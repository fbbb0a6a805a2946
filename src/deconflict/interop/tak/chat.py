"""GeoChat, receipts and the gateway's own presence as CoT (``b-t-f``, ``b-t-f-d``,
``b-t-f-r``, the contact the TAK server routes chat to, TAK protocol negotiation)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from deconflict.interop.tak.cot import cot_time, event_xml

__all__ = ["chat_event", "receipt_event", "self_event", "takp_request"]


def _chat_detail(
    tag: str,
    message_id: str,
    sender_uid: str,
    sender_callsign: str,
    to_uid: str,
    chatroom: str,
) -> ET.Element:
    """The ``detail`` a chat message and its receipts share: who, to whom, which room."""
    d = ET.Element("detail")
    chat = ET.SubElement(
        d,
        tag,
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
    return d


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
    d = _chat_detail("__chat", message_id, sender_uid, sender_callsign, to_uid, chatroom)
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
    d = _chat_detail("__chatreceipt", message_id, sender_uid, sender_callsign, to_uid, chatroom)
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
