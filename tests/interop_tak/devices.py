"""TAK devices for the tests: pytak clients on the party's TAK server (taky)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from deconflict.interop.tak.cot import CotError, CotEvent, cot_time, event_xml, parse_cot
from deconflict.interop.tak.framing import CotStream
from deconflict.interop.tak.transport import TakEndpoint, close_stream, open_tak


class Device:
    def __init__(
        self,
        endpoint: TakEndpoint,
        uid: str,
        callsign: str,
        *,
        group: str = "Cyan",
        type_: str = "a-f-A-M-F",
    ) -> None:
        self.endpoint = endpoint
        self.uid, self.callsign, self.group, self.type = uid, callsign, group, type_
        self.events: list[CotEvent] = []
        self.bad: list[str] = []
        self._new = asyncio.Event()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None

    async def connect(self) -> Device:
        self._reader, self._writer = await open_tak(self.endpoint)
        self._task = asyncio.create_task(self._read())
        return self

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._writer is not None:
            await close_stream(self._writer)

    async def _read(self) -> None:
        assert self._reader is not None
        stream = CotStream()
        while True:
            data = await self._reader.read(65536)
            if not data:
                return
            for item in stream.feed(data):
                if isinstance(item, bytes):
                    try:
                        self.events.append(parse_cot(item))
                    except CotError as exc:
                        self.bad.append(str(exc))
                self._new.set()

    async def send_raw(self, data: bytes) -> None:
        assert self._writer is not None
        self._writer.write(data)
        await self._writer.drain()

    def position_xml(
        self,
        lat: float,
        lon: float,
        hae: float = 6000.0,
        *,
        speed: float = 0.0,
        course: float = 0.0,
        at: datetime | None = None,
    ) -> bytes:
        now = at or datetime.now(UTC)
        d = ET.Element("detail")
        ET.SubElement(
            d, "takv", {"os": "34", "device": "test", "version": "4.10", "platform": "ATAK"}
        )
        ET.SubElement(d, "contact", {"callsign": self.callsign, "endpoint": "*:-1:stcp"})
        ET.SubElement(d, "__group", {"name": self.group, "role": "Team Member"})
        ET.SubElement(d, "track", {"speed": f"{speed}", "course": f"{course}"})
        return event_xml(
            uid=self.uid,
            type_=self.type,
            lat=lat,
            lon=lon,
            hae=hae,
            stale=now + timedelta(minutes=2),
            now=now,
            detail=d,
            how="m-g",
        )

    async def report(
        self,
        lat: float,
        lon: float,
        hae: float = 6000.0,
        *,
        speed: float = 0.0,
        course: float = 0.0,
    ) -> None:
        await self.send_raw(self.position_xml(lat, lon, hae, speed=speed, course=course))

    async def chat(
        self, text: str, *, to_uid: str = "deconflict-hotline", to: str = "HOTLINE"
    ) -> str:
        message_id = str(uuid.uuid4())
        now = datetime.now(UTC)
        d = ET.Element("detail")
        chat = ET.SubElement(
            d,
            "__chat",
            {
                "parent": "RootContactGroup",
                "groupOwner": "false",
                "messageId": message_id,
                "chatroom": to,
                "id": to_uid,
                "senderCallsign": self.callsign,
            },
        )
        ET.SubElement(chat, "chatgrp", {"uid0": self.uid, "uid1": to_uid, "id": to_uid})
        ET.SubElement(d, "link", {"uid": self.uid, "type": self.type, "relation": "p-p"})
        rem = ET.SubElement(
            d, "remarks", {"source": f"BAO.F.ATAK.{self.uid}", "to": to_uid, "time": cot_time(now)}
        )
        rem.text = text
        xml = event_xml(
            uid=f"GeoChat.{self.uid}.{to_uid}.{message_id}",
            type_="b-t-f",
            lat=0.0,
            lon=0.0,
            stale=now + timedelta(days=1),
            now=now,
            detail=d,
        )
        await self.send_raw(xml)
        return message_id

    async def receipt(self, what: str, message_id: str, *, to: str = "HOTLINE") -> None:
        now = datetime.now(UTC)
        d = ET.Element("detail")
        rc = ET.SubElement(
            d,
            "__chatreceipt",
            {
                "messageId": message_id,
                "chatroom": to,
                "id": "deconflict-hotline",
                "senderCallsign": self.callsign,
            },
        )
        ET.SubElement(rc, "chatgrp", {"uid0": self.uid, "uid1": "deconflict-hotline"})
        ET.SubElement(d, "link", {"uid": self.uid, "type": self.type, "relation": "p-p"})
        marti = ET.SubElement(d, "marti")
        ET.SubElement(marti, "dest", {"callsign": to})
        await self.send_raw(
            event_xml(
                uid=message_id,
                type_={"delivered": "b-t-f-d", "read": "b-t-f-r"}[what],
                lat=0.0,
                lon=0.0,
                stale=now + timedelta(minutes=5),
                now=now,
                detail=d,
            )
        )

    async def wait_for(
        self, pred: Callable[[CotEvent], bool], timeout: float = 10.0, what: str = "event"
    ) -> CotEvent:
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for ev in self.events[seen:]:
                if pred(ev):
                    return ev
            seen = len(self.events)
            left = deadline - time.monotonic()
            if left <= 0:
                types = sorted({e.type for e in self.events})
                raise AssertionError(f"{self.callsign}: no {what} within {timeout} s; saw {types}")
            self._new.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), min(left, 0.2))
