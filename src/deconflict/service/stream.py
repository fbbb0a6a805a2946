"""The event outbox as each party reads it: polled pages, live streams, hand-overs.

The outbox table is the source of truth, read by sequence number, so a client resumes
from the last id it saw, on any connection. What a party's client was handed is
recorded (`handed_over`): the deliveries of the notice versions and messages among
the events, and the coordinate reads of the notices.
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

__all__ = ["PAGE", "Event", "Events", "Page"]

PAGE = 200  # events per read of a live stream
Event = dict[str, Any]
Page = list[tuple[Event, str]]  # events, each with its JSON text as stored
_WITH_NOTICE = (NOTICE_RECEIVED.name, NOTICE_UPDATED.name)
_HANDED_VERSIONS = (*_WITH_NOTICE, NOTICE_CANCELLED.name)


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
        """One page of events after `after`, recorded as handed over."""
        await asyncio.to_thread(self.check_cursor, who, after)
        page = await asyncio.to_thread(self.page, who, after, limit)
        await self.handed_over(who, page)
        return {"events": page, "last_id": page[-1]["id"] if page else after}

    async def stream(
        self, who: Principal, after: int
    ) -> AsyncGenerator[list[tuple[Event, str]], None]:
        """The live stream: pages of (event, its JSON text) as they are committed.

        An empty page is an idle tick (every `events_poll_s` at most, or `heartbeat_s`):
        the caller may check its client is still there and keep the line alive. Each
        page is recorded as handed over once the caller has sent it (asked for the next).
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
                    yield page
                    cursor = page[-1][0]["id"]
                    await self.handed_over(who, [e for e, _ in page])
                    if len(found) == PAGE:
                        continue
                if not await sub.wait(min(settings.events_poll_s, settings.heartbeat_s)):
                    yield []

    async def handed_over(self, who: Principal, events: list[Event]) -> None:
        """Record what a stream or a poll handed over: deliveries and coordinate reads."""
        change = self._handed_over(who, events)
        if change is not None:
            await self.writer.run(change)

    def _handed_over(self, who: Principal, events: list[Event]) -> Change[None] | None:
        if who.is_admin or who.unit is not None:  # a unit confirms its own (unit_deliveries.py)
            return None
        notices = [e["data"] for e in events if e["type"] in _WITH_NOTICE]
        handed = [
            (e["data"]["id"], e["data"]["version"]) for e in events if e["type"] in _HANDED_VERSIONS
        ]
        message_ids = [e["data"]["id"] for e in events if e["type"] == MESSAGE_RECEIVED.name]
        if not handed and not message_ids:
            return None

        def run(tx: Tx) -> None:
            self.notices.record_reads(tx, who, notices, "events")
            if handed:
                self.acks.mark_delivered(tx, who.party_id, handed)
            if message_ids:
                self.messages.delivered(tx, who, message_ids)

        return run
