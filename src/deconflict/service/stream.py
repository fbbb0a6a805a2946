"""The event outbox as each party reads it: polled pages, live streams, confirmations.

The outbox table is the source of truth, read by sequence number, so a client resumes
from the last id it saw, on any connection. What a party's client was sent is recorded
before it is sent (`handed_over`): the coordinate reads of the notices among the events,
and how far the party's clients were sent. A delivery is recorded only when the client
confirms it has the events up to an id (`confirm`): explicitly, or through the cursor
(`after`, `Last-Event-ID`) of its next request, which says it has everything before it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, Callable
from typing import Any

from deconflict.config import Settings
from deconflict.service.acks import Acks
from deconflict.service.auth import Principal
from deconflict.service.broker import Broker
from deconflict.service.errors import Invalid
from deconflict.service.event_types import (
    MESSAGE_RECEIVED,
    NOTICE_CANCELLED,
    NOTICE_RECEIVED,
    NOTICE_UPDATED,
)
from deconflict.service.messages import Messages
from deconflict.service.notices import Notices
from deconflict.service.tx import Tx
from deconflict.service.writer import Change, Writer
from deconflict.store import Row, Store

__all__ = ["CONFIRM_PAGE", "PAGE", "Event", "Events", "Page"]

PAGE = 200  # events per read of a live stream
CONFIRM_PAGE = 1000  # events per read of a confirmation
Event = dict[str, Any]
Page = list[tuple[Event, str]]  # events, each with its JSON text as stored
_WITH_NOTICE = (NOTICE_RECEIVED.name, NOTICE_UPDATED.name)
_HANDED_VERSIONS = (*_WITH_NOTICE, NOTICE_CANCELLED.name)
_CONFIRMED = (*_HANDED_VERSIONS, MESSAGE_RECEIVED.name)  # events whose delivery is recorded


def _event(row: Row) -> Event:
    return {
        "id": row["seq"],
        "type": row["type"],
        "time": row["created_at"],
        "data": json.loads(row["data"]),
    }


def _text(row: Row) -> str:
    """The event as JSON, with its stored data as is (never re-encoded)."""
    return (
        f'{{"id":{row["seq"]},"type":{json.dumps(row["type"])},'
        f'"time":{json.dumps(row["created_at"])},"data":{row["data"]}}}'
    )


class Events:
    def __init__(
        self,
        settings: Settings,
        *,
        writer: Writer,
        store: Store,
        broker: Broker,
        notices: Notices,
        acks: Acks,
        messages: Messages,
        closing: Callable[[], bool],
    ) -> None:
        self.settings = settings
        self.writer = writer
        self.store = store
        self.broker = broker
        self.notices = notices
        self.acks = acks
        self.messages = messages
        self.closing = closing
        # The last event id this process sent to each party's clients: what a page without
        # a notice or a message advanced (those are stored, `note_sent`, before sending).
        self._sent: dict[str, int] = {}

    def _page(self, who: Principal, after: int, limit: int) -> list[Row]:
        with self.store.read_one() as repo:
            return repo.events.after(who.outbox, after, limit)

    def page(self, who: Principal, after: int, limit: int = PAGE) -> list[Event]:
        """Events after `after`, read only: nothing is recorded as handed over."""
        return [_event(r) for r in self._page(who, after, limit)]

    def check_cursor(
        self, who: Principal, after: int, field: str = "after", location: str = "query"
    ) -> None:
        """Refuse a cursor past the party's last event.

        Such a cursor is not "nothing new": it was never given to this party (it comes
        from another hub, or from before this one was restored from a backup), and the
        events numbered up to it would never be shown. It is compared with the party's
        own last event, so the answer says nothing of the events of other parties.
        """
        if after <= 0:
            return
        with self.store.read_one() as repo:
            last = repo.events.last_seq_of(who.outbox)
        if after > last:
            raise Invalid(
                [
                    (
                        field,
                        f"{after} is past your last event ({last}); was the hub restored "
                        f"from a backup? resume from {last}, or from 0 for every event again",
                    )
                ],
                location=location,
            )

    async def poll(self, who: Principal, after: int, limit: int = PAGE) -> dict[str, Any]:
        """One page of events after `after`; `after` confirms what was sent before it."""
        await asyncio.to_thread(self.check_cursor, who, after)
        await self.confirm(who, after, via="cursor", strict=False)
        page = await asyncio.to_thread(self.page, who, after, limit)
        await self.handed_over(who, page)
        return {"events": page, "last_id": page[-1]["id"] if page else after}

    async def stream(
        self, who: Principal, after: int
    ) -> AsyncGenerator[list[tuple[Event, str]], None]:
        """The live stream: pages of (event, its JSON text) as they are committed.

        An empty page is an idle tick (every `events_poll_s` at most, or `heartbeat_s`):
        the caller may check its client is still there and keep the line alive. Each
        page is recorded as handed over before it is given to the caller. The caller
        confirms the client's cursor first (`confirm(..., via="cursor", strict=False)`),
        before it answers at all.
        """
        settings = self.settings
        # Subscribe before the first read so that no commit can fall between the two.
        with self.broker.subscribe(who.outbox) as sub:
            cursor = after
            while not self.closing():
                # One indexed read of committed rows (WAL: never waits for the writer), on
                # the loop: every live stream pays it on each wake-up.
                found = self._page(who, cursor, PAGE)
                if found:
                    page = [(_event(r), _text(r)) for r in found]
                    await self.handed_over(who, [e for e, _ in page])
                    yield page
                    cursor = page[-1][0]["id"]
                    if len(found) == PAGE:
                        continue
                if not await sub.wait(min(settings.events_poll_s, settings.heartbeat_s)):
                    yield []

    async def handed_over(self, who: Principal, events: list[Event]) -> None:
        """Record what is about to be sent: coordinate reads, and how far the party was sent.

        Recorded before the events are written, so that a client confirming them at once
        never finds the hub unaware it sent them. A page holding no notice and no message
        is only remembered in memory (no write on the alert path): it has nothing whose
        delivery is recorded.
        """
        # a unit confirms its own deliveries (service/unit_deliveries.py)
        if who.is_admin or who.unit is not None or not events:
            return
        last = events[-1]["id"]
        party = who.party_id
        self._sent[party] = max(self._sent.get(party, 0), last)
        notices = [e["data"] for e in events if e["type"] in _WITH_NOTICE]
        carried = any(e["type"] in _CONFIRMED for e in events)
        if not carried:
            return

        def run(tx: Tx) -> None:
            if notices:
                self.notices.record_reads(tx, who, notices, "events")
            tx.repo.events.note_sent(party, last)

        await self.writer.run(run)

    # -- delivery confirmation (issue 13) ---------------------------------------
    async def confirm(
        self,
        who: Principal,
        up_to: int,
        *,
        via: str = "confirm",
        strict: bool = True,
        field: str = "up_to",
        location: str = "body",
    ) -> dict[str, Any]:
        """`who`'s client has every event up to `up_to`: record the deliveries they carried.

        Only events that were sent to the party count: an explicit confirmation past the
        last one is refused (`strict`); a cursor (`after`, `Last-Event-ID`) confirms up to
        the last one sent, no further.
        """
        if who.is_admin or who.unit is not None or up_to <= 0:
            return {"confirmed_up_to": max(up_to, 0), "notice_versions": 0, "messages": 0}
        return await self.writer.run(self._confirm(who, up_to, via, strict, field, location))

    async def confirm_request(self, who: Principal, body: Any) -> dict[str, Any]:
        """`POST /v1/events/confirm`: `{"up_to": id}`, the last event the client has shown."""
        if not isinstance(body, dict):
            raise Invalid([("", "must be a JSON object")])
        errs = [(k, "unknown field") for k in sorted(set(body) - {"up_to"})]
        up_to = body.get("up_to")
        if isinstance(up_to, bool) or not isinstance(up_to, int) or not 0 <= up_to < 2**63:
            errs.append(("up_to", "is required: the id of the last event your client has"))
        if errs or not isinstance(up_to, int):
            raise Invalid(errs)
        return await self.confirm(who, up_to)

    def _confirm(
        self, who: Principal, up_to: int, via: str, strict: bool, field: str, location: str
    ) -> Change[dict[str, Any]]:
        party = who.party_id

        def run(tx: Tx) -> dict[str, Any]:
            stored_sent, confirmed = tx.repo.events.receipt_marks(party)
            sent = max(stored_sent, self._sent.get(party, 0))
            upto = up_to
            if upto > sent:
                if strict:
                    raise Invalid(
                        [
                            (
                                field,
                                f"{upto} is past the last event sent to you ({sent}); "
                                "confirm only events your client received",
                            )
                        ],
                        location=location,
                    )
                upto = sent
            if upto <= confirmed:
                return {"confirmed_up_to": confirmed, "notice_versions": 0, "messages": 0}
            handed: list[tuple[str, int]] = []
            message_ids: list[str] = []
            cursor = confirmed
            while cursor < upto:
                rows = tx.repo.events.after(party, cursor, CONFIRM_PAGE)
                for r in rows:
                    if r["seq"] > upto:
                        break
                    if r["type"] in _HANDED_VERSIONS:
                        data = json.loads(r["data"])
                        handed.append((data["id"], data["version"]))
                    elif r["type"] == MESSAGE_RECEIVED.name:
                        message_ids.append(json.loads(r["data"])["id"])
                if len(rows) < CONFIRM_PAGE or rows[-1]["seq"] >= upto:
                    break
                cursor = rows[-1]["seq"]
            versions = self.acks.mark_delivered(tx, party, handed, via=via) if handed else 0
            messages = self.messages.delivered(tx, who, message_ids) if message_ids else 0
            tx.repo.events.note_confirmed(party, upto, tx.ts)
            # how many deliveries this confirmation recorded (not those recorded before)
            return {"confirmed_up_to": upto, "notice_versions": versions, "messages": messages}

        return run
