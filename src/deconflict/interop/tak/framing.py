"""The TAK stream: CoT XML events back to back, or TAK protocol version 1 (protobuf).

TAK protocol version 1 on a stream is ``0xbf``, a varint length, then a
``TakMessage``; `takproto` encodes and decodes the messages. A message read in
protobuf is rebuilt as an ``<event>`` element so that it is checked exactly as
an XML event is (`deconflict.interop.tak.cot.check_event`).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

import takproto
from takproto.proto import TakMessage

from deconflict.interop.tak.cot import MAX_EVENT_BYTES, CotError, cot_time

__all__ = ["CotStream", "encode", "proto_to_element"]

_MAGIC = 0xBF
_END = b"</event>"


def encode(xml: bytes, protocol: str) -> bytes:
    """An event as sent on the wire: ``xml`` as is, or TAK protocol v1 stream framing."""
    if protocol == "xml":
        return xml
    framed: Any = takproto.xml2proto(xml, takproto.TAKProtoVer.STREAM)
    return bytes(framed)


def _ms(value: int) -> str:
    return cot_time(datetime.fromtimestamp(value / 1000.0, UTC))


def proto_to_element(msg: Any) -> ET.Element:
    """A ``TakMessage`` as the ``<event>`` element it stands for."""
    cot = msg.cotEvent
    ev = ET.Element(
        "event",
        {
            "version": "2.0",
            "uid": cot.uid,
            "type": cot.type,
            "how": cot.how,
            "time": _ms(cot.sendTime),
            "start": _ms(cot.startTime),
            "stale": _ms(cot.staleTime),
        },
    )
    ET.SubElement(
        ev,
        "point",
        {k: repr(float(getattr(cot, k))) for k in ("lat", "lon", "hae", "ce", "le")},
    )
    detail = ET.SubElement(ev, "detail")
    d = cot.detail
    if d.xmlDetail:
        try:
            # The fragment comes from a peer; like the XML path it may not carry a DTD.
            if "<!" in d.xmlDetail:
                raise CotError("detail.xmlDetail: a DTD is not allowed")
            frag = ET.fromstring(f"<x>{d.xmlDetail}</x>")  # noqa: S314
        except ET.ParseError as exc:
            raise CotError(f"detail.xmlDetail: malformed XML ({exc})") from None
        detail.extend(list(frag))
    if d.HasField("contact"):
        ET.SubElement(detail, "contact", {"callsign": d.contact.callsign})
    if d.HasField("group"):
        ET.SubElement(detail, "__group", {"name": d.group.name, "role": d.group.role})
    if d.HasField("track"):
        ET.SubElement(
            detail, "track", {"speed": repr(d.track.speed), "course": repr(d.track.course)}
        )
    return ev


class CotStream:
    """Splits what a TAK server sends into events; each item is XML bytes or a TakMessage.

    A broken item is reported, not fatal: `feed` returns it as a `CotError` and
    resynchronises on the next event.
    """

    def __init__(self) -> None:
        self.buf = bytearray()

    def feed(self, data: bytes) -> list[bytes | Any | CotError]:
        self.buf += data
        out: list[bytes | Any | CotError] = []
        while True:
            item = self._next()
            if item is None:
                return out
            out.append(item)

    def _next(self) -> bytes | Any | CotError | None:
        buf = self.buf
        # Whitespace and XML declarations between events carry nothing.
        while buf and buf[0] in b" \t\r\n\x00":
            del buf[0]
        if not buf:
            return None
        if buf[0] == _MAGIC:
            return self._next_proto()
        end = buf.find(_END)
        if end < 0:
            if len(buf) > MAX_EVENT_BYTES:
                size = len(buf)
                buf.clear()
                return CotError(f"stream: {size} bytes without </event>; dropped")
            nxt = buf.find(b"\xbf")
            if nxt > 0 and buf.find(b"<event") < 0:
                del buf[:nxt]  # garbage before a protobuf message
                return CotError("stream: bytes that are not CoT; dropped")
            return None
        chunk = bytes(buf[: end + len(_END)])
        del buf[: end + len(_END)]
        start = chunk.find(b"<event")
        if start < 0:
            return CotError("stream: </event> without <event>; dropped")
        if start > 0 and chunk[:start].strip() and not chunk[:start].lstrip().startswith(b"<?xml"):
            return chunk[start:]  # garbage before the event: the event still counts
        return chunk[start:]

    def _next_proto(self) -> Any | CotError | None:
        buf = self.buf
        length = 0
        shift = 0
        i = 1
        while True:
            if i >= len(buf):
                return None
            b = buf[i]
            length |= (b & 0x7F) << shift
            i += 1
            if not b & 0x80:
                break
            shift += 7
            if shift > 28:
                buf.clear()
                return CotError("stream: a TAK protocol length that does not end; dropped")
        if length > MAX_EVENT_BYTES:
            buf.clear()
            return CotError(f"stream: a TAK protocol message of {length} bytes; dropped")
        if len(buf) < i + length:
            return None
        payload = bytes(buf[i : i + length])
        del buf[: i + length]
        msg = TakMessage()
        try:
            msg.ParseFromString(payload)
        except Exception as exc:  # protobuf raises its own DecodeError
            return CotError(f"stream: not a TakMessage ({type(exc).__name__})")
        return msg
