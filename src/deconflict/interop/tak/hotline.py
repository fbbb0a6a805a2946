"""Hotline <-> GeoChat: the gateway as a TAK contact that carries hub messages and receipts.

A hotline message to the party becomes a private GeoChat message from the gateway's
contact (sender callsign: the party that wrote) to each liaison device; a chat to
that contact becomes a hub message to ``@party`` or to the party that wrote last;
``ACK`` acknowledges the device's alerts. Receipts cross both ways: the device's
read receipt marks the message read on the hub; the other party's delivered and
read receipts come back as ``b-t-f-d`` and ``b-t-f-r``.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

import httpx

from deconflict.interop.tak.chat import chat_event, receipt_event
from deconflict.interop.tak.cot import CotEvent
from deconflict.interop.tak.hub import HubBusyError, HubError
from deconflict.interop.tak.support import Device

if TYPE_CHECKING:
    from deconflict.interop.tak.gateway import Gateway

__all__ = ["Hotline"]

Doc = dict[str, Any]
_ACK_RE = re.compile(r"^\s*ack\b\s*(a-[A-Za-z0-9]+)?\s*(.*)$", re.IGNORECASE | re.DOTALL)
_TO_RE = re.compile(r"^\s*@([a-z0-9][a-z0-9-]{0,63})[\s:,]+(.+)$", re.DOTALL)


class Hotline:
    def __init__(self, gw: Gateway) -> None:
        self.gw = gw
        self.last_party: dict[str, str] = {}  # device uid -> party it last talked with
        self.inbound: dict[str, Doc] = {}  # hub message id -> message (to our devices)
        self.outbound: dict[str, tuple[str, str, str]] = {}  # hub msg id -> (device, cs, chat id)
        self.read_sent: set[str] = set()

    def liaison_devices(self) -> list[Device]:
        if not self.gw.cfg.liaison:
            return list(self.gw.devices.values())
        return [
            d
            for d in self.gw.devices.values()
            if d.uid in self.gw.cfg.liaison or (d.callsign or "") in self.gw.cfg.liaison
        ]

    def chat_to(self, dev: Device, message_id: str, text: str, sender_cs: str) -> None:
        self.gw.send(
            f"chat.{message_id}.{dev.uid}",
            chat_event(
                message_id=message_id,
                text=text,
                sender_uid=self.gw.cfg.uid,
                sender_callsign=sender_cs,
                to_uid=dev.uid,
                to_callsign=dev.callsign or dev.uid,
                chatroom=self.gw.cfg.callsign,
                now=self.gw.clock(),
            ),
        )

    def on_hub_message(self, msg: Doc) -> None:
        sender = str(msg.get("from"))
        self.inbound[str(msg["id"])] = msg
        body = str(msg.get("body", ""))
        subject = str(msg.get("subject") or "")
        prio = str(msg.get("priority", "routine"))
        text = f"[{sender}{'' if prio == 'routine' else ' ' + prio.upper()}] "
        text += f"{subject}: {body}" if subject else body
        for dev in self.liaison_devices():
            self.last_party.setdefault(dev.uid, sender)
            self.last_party[dev.uid] = sender
            self.chat_to(dev, str(msg["id"]), text, sender)
            self.gw.stats["chat_out"] += 1

    def on_hub_receipt(self, data: Doc, what: str) -> None:
        """The other party's delivered / read receipt of a chat a device sent."""
        out = self.outbound.get(str(data.get("message_id")))
        if out is None:
            return
        device, callsign, chat_id = out
        self.gw.send(
            f"receipt.{chat_id}.{what}",
            receipt_event(
                what=what,
                message_id=chat_id,
                sender_uid=self.gw.cfg.uid,
                sender_callsign=self.gw.cfg.callsign,
                to_uid=device,
                to_callsign=callsign,
                chatroom=self.gw.cfg.callsign,
                now=self.gw.clock(),
            ),
        )
        self.gw.stats["receipts_out"] += 1

    def reply(self, ev: CotEvent, text: str) -> None:
        dev = self.gw.devices.get(ev.attr("link", "uid") or "") or Device(
            ev.attr("link", "uid") or "", ev.attr("__chat", "senderCallsign")
        )
        self.chat_to(dev, f"gw-{time.monotonic_ns()}", text, self.gw.cfg.callsign)

    async def on_chat(self, ev: CotEvent) -> None:
        chat = ev.find("__chat")
        if chat is None or chat.get("id") != self.gw.cfg.uid:
            return  # not to the hotline: the party's own chatter stays on its network
        sender = ev.attr("link", "uid") or ""
        remarks = ev.find("remarks")
        text = (remarks.text if remarks is not None else None) or ""
        chat_id = chat.get("messageId") or ev.uid
        callsign = chat.get("senderCallsign") or sender
        if sender and sender not in self.gw.devices:
            self.gw.devices[sender] = Device(sender, callsign)
        self.gw.stats["chat_in"] += 1
        m = _ACK_RE.match(text)
        if m:
            await self.chat_ack(ev, sender, m.group(1), m.group(2).strip())
            return
        to = _TO_RE.match(text)
        party, body = (
            (to.group(1), to.group(2).strip())
            if to
            else (self.last_party.get(sender), text.strip())
        )
        if not party or not body:
            self.reply(ev, "Not sent: start with @party (e.g. @russia ...), or reply ACK.")
            return
        try:
            # The text as typed: the device's callsign is the party's own picture.
            sent = await self.gw.hub.send_message(party, body)
        except (HubError, HubBusyError, httpx.HTTPError) as exc:
            self.reply(ev, f"NOT SENT to {party}: {exc}")
            return
        self.last_party[sender] = party
        self.outbound[str(sent["id"])] = (sender, callsign, chat_id)

    async def chat_ack(self, ev: CotEvent, sender: str, alert_id: str | None, note: str) -> None:
        mine = [
            a
            for a in self.gw.alerts.values()
            if (alert_id is None and a.get("_device") == sender) or a.get("id") == alert_id
        ]
        if not mine:
            self.reply(ev, "No active alert of yours to acknowledge.")
            return
        done = [
            a["id"] for a in mine if await self.gw.ack_alert(str(a["id"]), note or "ACK via TAK")
        ]
        self.reply(ev, f"Acknowledged {', '.join(done)}." if done else "Acknowledgement failed.")

    async def on_receipt(self, ev: CotEvent) -> None:
        """A device's receipt of a hotline message: read goes to the hub (delivered is implied:
        the hub counts a message delivered when the gateway took it from the stream)."""
        receipt = ev.find("__chatreceipt")
        message_id = (receipt.get("messageId") if receipt is not None else None) or ev.uid
        if message_id not in self.inbound:
            return
        self.gw.stats["receipts_in"] += 1
        if ev.type == "b-t-f-r" and message_id not in self.read_sent:
            self.read_sent.add(message_id)
            try:
                await self.gw.hub.read_message(message_id)
            except (HubError, HubBusyError, httpx.HTTPError) as exc:
                self.read_sent.discard(message_id)
                self.gw.complaints.warn(f"read receipt of {message_id} not passed on: {exc}")
