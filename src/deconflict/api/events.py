"""GET /v1/events: the party's outbox as Server-Sent Events (or JSON for pollers).

Resume with `Last-Event-ID` (what browsers send on reconnect) or `?after=`.
Events are read from the outbox table, so a reconnecting client gets every
event after the one it names, at least once.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from deconflict.api.routes import Who, call, hub_of
from deconflict.service import Hub, Invalid, Principal

__all__ = ["router"]

router = APIRouter(prefix="/v1")
BATCH = 200


def _frame(event: dict[str, Any], text: str) -> bytes:
    return f"id: {event['id']}\nevent: {event['type']}\ndata: {text}\n\n".encode()


async def _stream(hub: Hub, who: Principal, start: int, request: Request) -> AsyncIterator[bytes]:
    settings = hub.settings
    # Subscribe before the first read so that no commit can fall between the two.
    with hub.broker.subscribe(who.party_id) as sub:
        yield f"retry: 3000\n: stream of {who.party_id} from {start}\n\n".encode()
        cursor = start
        last_sent = time.monotonic()
        while not hub.closing:
            # One indexed read of committed rows (WAL: never waits for the writer), done on
            # the loop; the hand-over is recorded through the group commit, awaited.
            page = hub.events_with_json(who, cursor, BATCH)
            events = [e for e, _ in page]
            if events:
                yield b"".join(_frame(e, text) for e, text in page)
                last_sent = time.monotonic()
                cursor = events[-1]["id"]
                delivered = hub.events_delivered_change(who, events)
                if delivered is not None:
                    await hub.write_async(delivered)
                if len(events) == BATCH:
                    continue
            wait = min(settings.events_poll_s, settings.heartbeat_s)
            await sub.wait(wait)
            if await request.is_disconnected():
                return
            if time.monotonic() - last_sent >= settings.heartbeat_s:
                yield b": heartbeat\n\n"
                last_sent = time.monotonic()


@router.get(
    "/events",
    tags=["events"],
    summary="Your event stream (SSE); resume with Last-Event-ID or ?after=",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}, "application/json": {}}}},
)
async def events(
    request: Request,
    who: Who,
    after: Annotated[int | None, Query(ge=0, description="Resume after this event id")] = None,
    last_event_id: Annotated[str | None, Header()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = BATCH,
) -> Any:
    hub = hub_of(request)
    start = after or 0
    if last_event_id is not None:
        if not last_event_id.strip().isdigit():
            raise Invalid(
                [("Last-Event-ID", "must be an event id (a non-negative integer)")],
                location="header",
            )
        start = int(last_event_id)
    accept = request.headers.get("accept", "")
    if "application/json" in accept and "text/event-stream" not in accept:
        page = await call(hub.events_after, who, start, limit)
        await call(hub.events_delivered, who, page)
        return JSONResponse({"events": page, "last_id": page[-1]["id"] if page else start})
    return StreamingResponse(
        _stream(hub, who, start, request),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
