"""`Gateway`: the party's TAK network on one side, the hub on the other.

Four flows, each its own task so that one stalled side never blocks the other:

* own positions out: position reports the party chose (`ShareRules`) become
  track reports, coalesced per track (the newest report wins) and posted in
  batches; a 429 or a lost hub keeps the newest reports and waits;
* notices, conflicts and alerts in: from the party's event stream (SSE,
  resumed from the last event seen), after one snapshot at start;
* hotline and GeoChat both ways, receipts included;
* the TAK connection itself, reopened with back-off, with the gateway's own
  presence announced so that the TAK server routes chat to it.

Bad input from the TAK side is logged in one line (rate-limited) and dropped;
nothing a device sends can stop the gateway. The hotline is `Hotline`
(``hotline.py``); the CoT the gateway writes is built in ``shapes.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx

from deconflict.interop.tak.alerts import ALERT_REFRESH_S, alert_cleared_event, alert_event
from deconflict.interop.tak.chat import self_event, takp_request
from deconflict.interop.tak.cot import CotError, CotEvent, check_event, parse_cot
from deconflict.interop.tak.framing import CotStream, encode, proto_to_element
from deconflict.interop.tak.hotline import Hotline
from deconflict.interop.tak.hub import HubBusyError, HubError, HubLink
from deconflict.interop.tak.rules import ShareRules, track_id_of, track_report
from deconflict.interop.tak.shapes import delete_event, notice_events, overlap_events
from deconflict.interop.tak.support import Backoff, Complaints, Device, marti
from deconflict.interop.tak.transport import TakEndpoint, close_stream, open_tak

__all__ = ["Gateway", "GatewayConfig"]

log = logging.getLogger("deconflict.tak")
T = TypeVar("T")
Doc = dict[str, Any]
SELF_EVERY_S = 60.0
# Events whose passing-on the gateway confirms to the hub (their deliveries are recorded then).
_DELIVERED_TYPES = frozenset(
    ("notice_received", "notice_updated", "notice_cancelled", "message_received")
)


@dataclass
class GatewayConfig:
    server: str
    token: str
    tak: TakEndpoint
    rules: ShareRules = field(default_factory=ShareRules)
    protocol: str = "xml"  # or "proto": TAK protocol version 1
    uid: str = "deconflict-hotline"
    callsign: str = "HOTLINE"
    group: str = "Cyan"
    liaison: frozenset[str] = frozenset()  # uids or callsigns on the hotline; empty: every device
    flush_interval_s: float = 0.2
    status_interval_s: float = 60.0
    max_events_per_s: float = 2000.0  # from the TAK side; beyond, events are dropped
    backoff_max_s: float = 30.0


class Gateway:
    def __init__(self, cfg: GatewayConfig, *, clock: Callable[[], datetime] | None = None) -> None:
        self.cfg = cfg
        self.clock = clock or (lambda: datetime.now(UTC))
        self.hub = HubLink(cfg.server, cfg.token)
        self.party: str | None = None
        self.complaints = Complaints()
        self.stats: dict[str, int] = dict.fromkeys(
            (
                "cot_in",
                "cot_bad",
                "cot_dropped_burst",
                "positions_shared",
                "positions_kept",
                "tracks_sent",
                "tracks_rejected",
                "hub_busy",
                "shapes",
                "alerts_sent",
                "alerts_acked",
                "chat_in",
                "chat_out",
                "receipts_in",
                "receipts_out",
                "tak_connects",
                "hub_connects",
            ),
            0,
        )
        self.tak_up = False
        self.hub_up = False
        self.wire_protocol = "xml"
        self.devices: dict[str, Device] = {}
        self.track_uid: dict[str, str] = {}  # hub track id -> device uid
        self.pending: dict[str, Doc] = {}  # track id -> newest report not yet posted
        self.drawn: dict[str, dict[str, bytes]] = {}  # notice:/conflict: key -> uid -> CoT
        self.alerts: dict[str, Doc] = {}  # active alerts of our devices, by id
        self._writer: asyncio.StreamWriter | None = None
        self._tx: asyncio.Queue[bytes] = asyncio.Queue(maxsize=10_000)
        self._bucket = (cfg.max_events_per_s, time.monotonic())
        self._wake_flush = asyncio.Event()
        self.hotline = Hotline(self)

    # -- running -------------------------------------------------------------
    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        tasks = [
            asyncio.create_task(self._tak_loop(), name="tak"),
            asyncio.create_task(self._hub_events_loop(), name="hub-events"),
            asyncio.create_task(self._flush_loop(), name="hub-tracks"),
            asyncio.create_task(self._refresh_loop(), name="refresh"),
            asyncio.create_task(self._status_loop(), name="status"),
        ]
        try:
            await stop.wait()
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
            if self._writer is not None:
                await close_stream(self._writer)
            await self.hub.close()

    async def check(self) -> tuple[bool, list[str]]:
        """Both connections, once: (all good, one line per side)."""
        lines, ok = [], True
        try:
            who = await self.hub.whoami()
            lines.append(f"hub {self.cfg.server}: ok, party {who.get('party')}")
        except (HubError, HubBusyError, httpx.HTTPError) as exc:
            ok = False
            lines.append(f"hub {self.cfg.server}: FAILED ({exc})")
        try:
            _reader, writer = await asyncio.wait_for(open_tak(self.cfg.tak), 10.0)
            writer.write(self._wire(self._self_event()))
            await writer.drain()
            await close_stream(writer)
            lines.append(f"TAK server {self.cfg.tak.cot_url}: ok")
        except (OSError, ssl.SSLError, SyntaxError, ValueError, TimeoutError) as exc:
            ok = False
            lines.append(f"TAK server {self.cfg.tak.cot_url}: FAILED ({exc})")
        await self.hub.close()
        return ok, lines

    def status_line(self) -> str:
        s = self.stats
        return (
            f"tak-gateway {self.party or '?'}: TAK {'up' if self.tak_up else 'DOWN'}, "
            f"hub {'up' if self.hub_up else 'DOWN'}; CoT in {s['cot_in']} (bad {s['cot_bad']}, "
            f"burst-dropped {s['cot_dropped_burst']}); positions shared {s['positions_shared']} "
            f"kept {s['positions_kept']}; tracks sent {s['tracks_sent']} rejected "
            f"{s['tracks_rejected']}; hub busy {s['hub_busy']}; shapes {self._shape_count()}; "
            f"alerts active {len(self.alerts)} sent {s['alerts_sent']} acked {s['alerts_acked']}; "
            f"chat in {s['chat_in']} out {s['chat_out']}"
        )

    def _shape_count(self) -> int:
        return sum(len(v) for v in self.drawn.values())

    async def _status_loop(self) -> None:
        while True:
            await asyncio.sleep(self.cfg.status_interval_s)
            log.info("%s", self.status_line())

    # -- TAK side ------------------------------------------------------------
    def _wire(self, xml: bytes) -> bytes:
        return encode(xml, self.wire_protocol)

    def _self_event(self) -> bytes:
        return self_event(self.cfg.uid, self.cfg.callsign, self.cfg.group, self.clock())

    def send(self, uid: str, xml: bytes) -> None:
        """Queue one CoT event for the TAK server (the oldest is dropped when full)."""
        if self._tx.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self._tx.get_nowait()
        self._tx.put_nowait(xml)  # encoded when written: the protocol may change meanwhile

    async def _tak_loop(self) -> None:
        backoff = Backoff(self.cfg.backoff_max_s)
        while True:
            try:
                reader, writer = await asyncio.wait_for(open_tak(self.cfg.tak), 15.0)
            except Exception as exc:  # whatever the transport raises, the link is retried
                delay = backoff.next()
                self.complaints.warn(
                    f"TAK server {self.cfg.tak.cot_url} unreachable ({exc}); retry in {delay:.1f} s"
                )
                await asyncio.sleep(delay)
                continue
            self.stats["tak_connects"] += 1
            self.tak_up = True
            self._writer = writer
            self.wire_protocol = "xml"  # every connection starts in XML; see _negotiate
            log.info("tak-gateway: connected to %s", self.cfg.tak.cot_url)
            # The server forgets us with the connection: announce, then redraw.
            writer.write(self._wire(self._self_event()))
            for shapes in self.drawn.values():
                for xml in shapes.values():
                    writer.write(self._wire(xml))
            started = time.monotonic()
            writer_task = asyncio.create_task(self._tak_writer(writer))
            try:
                await self._tak_reader(reader)
            except (OSError, ssl.SSLError, asyncio.IncompleteReadError) as exc:
                self.complaints.warn(f"TAK connection lost ({exc})")
            finally:
                writer_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await writer_task
                self.tak_up = False
                self._writer = None
                await close_stream(writer)
            if time.monotonic() - started > 10:
                backoff.reset()
            delay = backoff.next()
            log.warning("tak-gateway: TAK server closed the connection; retry in %.1f s", delay)
            await asyncio.sleep(delay)

    async def _tak_writer(self, writer: asyncio.StreamWriter) -> None:
        last_self = time.monotonic()
        while True:
            try:
                data = await asyncio.wait_for(self._tx.get(), timeout=5.0)
            except TimeoutError:
                data = b""
            if time.monotonic() - last_self > SELF_EVERY_S:
                writer.write(self._wire(self._self_event()))
                last_self = time.monotonic()
            if data:
                writer.write(self._wire(data))
                # Write what else is queued in one go.
                while not self._tx.empty():
                    writer.write(self._wire(self._tx.get_nowait()))
            await writer.drain()

    async def _tak_reader(self, reader: asyncio.StreamReader) -> None:
        stream = CotStream()
        while True:
            data = await reader.read(65536)
            if not data:
                return
            for item in stream.feed(data):
                self.stats["cot_in"] += 1
                if not self._take_token():
                    self.stats["cot_dropped_burst"] += 1
                    continue
                try:
                    ev = self._event_of(item)
                except CotError as exc:
                    self.stats["cot_bad"] += 1
                    self.complaints.warn(f"dropped CoT: {exc}")
                    continue
                try:
                    await self.on_cot(ev)
                except CotError as exc:
                    self.stats["cot_bad"] += 1
                    self.complaints.warn(f"dropped CoT {ev.uid!r} ({ev.type}): {exc}")
                except Exception as exc:  # a bug must not stop the link; say which event
                    self.stats["cot_bad"] += 1
                    log.exception("tak-gateway: failed on CoT %r (%s): %s", ev.uid, ev.type, exc)

    def _take_token(self) -> bool:
        tokens, last = self._bucket
        now = time.monotonic()
        rate = self.cfg.max_events_per_s
        tokens = min(2 * rate, tokens + (now - last) * rate)
        if tokens < 1:
            self._bucket = (tokens, now)
            return False
        self._bucket = (tokens - 1, now)
        return True

    def _event_of(self, item: Any) -> CotEvent:
        now = self.clock()
        if isinstance(item, CotError):
            raise item
        if isinstance(item, bytes):
            return parse_cot(item, now)
        return check_event(proto_to_element(item), now)

    async def on_cot(self, ev: CotEvent) -> None:
        if ev.uid == self.cfg.uid:
            return
        if ev.type.startswith("a-f-"):
            if ev.find("takv") is not None or ev.attr("contact", "endpoint"):
                self._seen_device(ev)  # a TAK client's own report, not a marker or a feed
            if self.cfg.rules.shares(ev):
                report = track_report(ev)  # CotError: logged, not sent
                self.track_uid[report["track_id"]] = ev.uid
                if report["track_id"] in self.pending:
                    self.stats["positions_kept"] += 1  # superseded before it was posted
                self.pending[report["track_id"]] = report
                self.stats["positions_shared"] += 1
                self._wake_flush.set()
            return
        if ev.type.startswith("t-x-takp-"):
            self._negotiate(ev)
        elif ev.type == "b-t-f":
            await self.hotline.on_chat(ev)
        elif ev.type in ("b-t-f-d", "b-t-f-r"):
            await self.hotline.on_receipt(ev)
        elif ev.type == "b-a-o-can":
            link = ev.attr("link", "uid") or ev.uid
            alert_id = link.removeprefix("deconflict.alert.")
            if alert_id in self.alerts:
                await self.ack_alert(alert_id, "cancelled on the device")

    def _negotiate(self, ev: CotEvent) -> None:
        """TAK protocol negotiation on a stream: the server offers (``t-x-takp-v``), we ask
        (``t-x-takp-q``), it answers (``t-x-takp-r``); only then is protobuf spoken."""
        if self.cfg.protocol != "proto":
            return
        if ev.type == "t-x-takp-v":
            offered = {el.get("version") or "" for el in ev.detail.iter("TakProtocolSupport")}
            if "1" in offered:
                self.send("takp-q", takp_request(self.cfg.uid, self.clock()))
            else:
                self.complaints.warn(f"TAK server offers protocol {sorted(offered)}; staying XML")
        elif ev.type == "t-x-takp-r":
            if any(el.get("status") == "true" for el in ev.detail.iter("TakResponse")):
                self.wire_protocol = "proto"
                log.info("tak-gateway: TAK protocol version 1 agreed")
            else:
                self.complaints.warn("TAK server refused protocol version 1; staying XML")

    def _seen_device(self, ev: CotEvent) -> None:
        dev = self.devices.get(ev.uid)
        if dev is None and ev.callsign:
            self._catch_up(ev.callsign)
        dev = dev or Device(ev.uid)
        dev.callsign = ev.callsign or dev.callsign
        dev.group = ev.group or dev.group
        course = ev.attr("track", "course")
        with contextlib.suppress(TypeError, ValueError):
            dev.heading = float(course) if course is not None else dev.heading
        dev.seen = time.monotonic()
        self.devices[ev.uid] = dev

    def _catch_up(self, callsign: str) -> None:
        """A device new to the gateway gets what is drawn (TAK servers keep only some types
        for late joiners), addressed to it alone."""
        dest = ET.tostring(marti(callsign), encoding="utf-8")
        for shapes in self.drawn.values():
            for uid, xml in shapes.items():
                self.send(uid, xml.replace(b"</detail>", dest + b"</detail>", 1))
        for alert in self.alerts.values():
            self._send_alert(alert)

    # -- positions out -------------------------------------------------------
    async def _flush_loop(self) -> None:
        backoff = Backoff(self.cfg.backoff_max_s)
        while True:
            await self._wake_flush.wait()
            await asyncio.sleep(self.cfg.flush_interval_s)  # coalesce what arrives meanwhile
            self._wake_flush.clear()
            if not self.pending:
                continue
            batch, self.pending = self.pending, {}
            reports = list(batch.values())
            try:
                result = await self.hub.post_tracks(reports)
            except HubBusyError as exc:
                self.stats["hub_busy"] += 1
                self._requeue(batch)
                self.complaints.warn(f"hub busy (429); tracks wait {exc.retry_after_s:.1f} s")
                await asyncio.sleep(max(0.2, exc.retry_after_s))
                continue
            except (httpx.HTTPError, HubError) as exc:
                self.hub_up = isinstance(exc, HubError)
                self._requeue(batch)
                delay = backoff.next()
                self.complaints.warn(f"tracks not posted ({exc}); retry in {delay:.1f} s")
                await asyncio.sleep(delay)
                continue
            backoff.reset()
            self.hub_up = True
            self.stats["tracks_sent"] += int(result.get("accepted_count", 0))
            for r in result.get("rejected", []):
                self.stats["tracks_rejected"] += 1
                self.complaints.warn(
                    f"hub refused track {r.get('track_id')}: {r.get('path')}: {r.get('reason')}"
                )

    def _requeue(self, batch: dict[str, Doc]) -> None:
        for tid, report in batch.items():
            self.pending.setdefault(tid, report)  # a newer report of the track wins
        self._wake_flush.set()

    # -- hub side: snapshot, then the event stream ---------------------------
    async def _hub_events_loop(self) -> None:
        backoff = Backoff(self.cfg.backoff_max_s)
        after: int | None = None
        while True:
            try:
                if self.party is None:
                    self.party = str((await self._patient(self.hub.whoami))["party"])
                if after is None:
                    # The stream's position first, then the picture: an event between the
                    # two is applied twice, never lost. Kept only once both succeeded.
                    start = await self._patient(self.hub.last_event_id)
                    await self._snapshot()
                    after = start
                self.hub_up = True
                self.stats["hub_connects"] += 1
                async for event in self.hub.events(after):
                    after = max(after, int(event.get("id", after)))
                    backoff.reset()
                    try:
                        await self.on_hub_event(event)
                        if str(event.get("type")) in _DELIVERED_TYPES:
                            # passed on to the TAK server: now the hub records its delivery
                            await self.hub.confirm(after)
                    except (HubError, KeyError, TypeError, ValueError) as exc:
                        self.complaints.warn(f"hub event {event.get('id')} not handled: {exc}")
            except HubBusyError as exc:
                self.stats["hub_busy"] += 1
                await asyncio.sleep(max(0.2, exc.retry_after_s))
                continue
            except (httpx.HTTPError, HubError, ValueError) as exc:
                self.hub_up = False
                delay = backoff.next()
                self.complaints.warn(f"hub stream lost ({exc!r}); retry in {delay:.1f} s")
                await asyncio.sleep(delay)
                continue
            self.hub_up = False
            await asyncio.sleep(backoff.next())

    async def _patient(self, call: Callable[[], Awaitable[T]]) -> T:
        """``call``, again after the delay the hub asks for while it answers 429."""
        while True:
            try:
                return await call()
            except HubBusyError as exc:
                self.stats["hub_busy"] += 1
                await asyncio.sleep(max(0.2, exc.retry_after_s))

    async def _snapshot(self) -> None:
        for n in await self._patient(self.hub.active_notices):
            self._draw_notice(n)
        for c in await self._patient(self.hub.open_conflicts):
            self._draw_conflict(c)
        for a in await self._patient(self.hub.active_alerts):
            self._on_alert(a, "alert_raised")

    def _wants(self, notice: Doc) -> bool:
        """Notices the party received, and protected sites (its own too)."""
        return notice.get("issuer") != self.party or notice.get("kind") == "protected_site"

    def _replace(self, key: str, events: list[tuple[str, bytes]]) -> None:
        old = self.drawn.pop(key, {})
        new = dict(events)
        for uid in old.keys() - new.keys():
            self.send(uid, delete_event(uid, self.clock()))
        for uid, xml in new.items():
            self.send(uid, xml)
        if new:
            self.drawn[key] = new

    def _draw_notice(self, notice: Doc) -> None:
        if notice.get("state", "active") != "active" or not self._wants(notice):
            self._replace(f"notice:{notice['id']}", [])
            return
        self._replace(f"notice:{notice['id']}", notice_events(notice, self.clock()))

    def _draw_conflict(self, conflict: Doc) -> None:
        other = conflict.get("other") or {}
        key = f"conflict:{conflict['id']}"
        # Drawn only when the hub withholds the other notice: then the overlap it
        # discloses is all the party has. An addressed notice is drawn in full already.
        if conflict.get("state") != "open" or other.get("notice"):
            self._replace(key, [])
            return
        self._replace(key, overlap_events(conflict, self.clock()))

    async def on_hub_event(self, event: Doc) -> None:
        type_ = str(event.get("type"))
        data = event.get("data") or {}
        if type_ in ("notice_received", "notice_updated"):
            self._draw_notice(data)
        elif type_ in ("notice_cancelled", "notice_expired", "notice_withdrawn"):
            self._replace(f"notice:{data['id']}", [])
        elif type_ in ("conflict_opened", "conflict_updated", "conflict_resolved"):
            self._draw_conflict(data)
        elif type_.startswith("alert_"):
            self._on_alert(data, type_)
        elif type_ == "message_received":
            self.hotline.on_hub_message(data)
        elif type_ in ("message_delivered", "message_read"):
            self.hotline.on_hub_receipt(data, type_.removeprefix("message_"))

    # -- alerts in -----------------------------------------------------------
    def _recipients(self, device_uid: str | None) -> tuple[str, list[str]]:
        dev = self.devices.get(device_uid or "")
        if dev is None:
            return device_uid or "", []
        names = {dev.callsign} if dev.callsign else set()
        if dev.group:
            names |= {
                d.callsign for d in self.devices.values() if d.group == dev.group and d.callsign
            }
        return dev.uid, sorted(n for n in names if n)

    def _on_alert(self, alert: Doc, type_: str) -> None:
        track_id = alert.get("track_id")
        if not track_id:
            return  # an alert about another party's track in our notice: not a device's
        device = self.track_uid.get(str(track_id))
        if device is None:
            device = next((u for u in self.devices if track_id_of(u) == track_id), None)
        uid, callsigns = self._recipients(device)
        if type_ == "alert_cleared" or alert.get("state") == "cleared":
            if self.alerts.pop(str(alert["id"]), None) is not None or type_ == "alert_cleared":
                xml = alert_cleared_event(
                    alert, device_uid=uid, callsigns=callsigns, now=self.clock()
                )
                self.send(f"deconflict.alert.{alert['id']}", xml)
                self.send(
                    f"deconflict.alert.{alert['id']}",
                    delete_event(f"deconflict.alert.{alert['id']}", self.clock()),
                )
            return
        alert = {**alert, "_device": uid}
        self.alerts[str(alert["id"])] = alert
        self._send_alert(alert)

    def _send_alert(self, alert: Doc) -> None:
        uid, callsigns = self._recipients(alert.get("_device"))
        cot_uid, xml = alert_event(
            alert,
            device_uid=uid,
            callsigns=callsigns,
            now=self.clock(),
        )
        self.stats["alerts_sent"] += 1
        self.send(cot_uid, xml)

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(ALERT_REFRESH_S)
            for alert in list(self.alerts.values()):
                self._send_alert(alert)

    async def ack_alert(self, alert_id: str, comment: str) -> bool:
        try:
            await self.hub.ack_alert(alert_id, comment)
        except (HubError, HubBusyError, httpx.HTTPError) as exc:
            self.complaints.warn(f"alert {alert_id} not acknowledged on the hub: {exc}")
            return False
        self.stats["alerts_acked"] += 1
        return True
