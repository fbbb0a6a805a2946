"""GET /v1/events: the party's outbox as Server-Sent Events (or JSON for pollers).

Resume with `Last-Event-ID` (what browsers send on reconnect) or `?after=`.
Events are read from the outbox table, so a reconnecting client gets every
event after the one it names, at least once. The cursor, and
`POST /v1/events/confirm`, are the client's confirmation that it has the events
up to that id: only then are deliveries recorded.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from deconflict.api.limits import PartySlots
from deconflict.api.routes import Who, hub_of
from deconflict.service import Hub, Invalid, Page, Principal, RateLimited

__all__ = ["router"]

router = APIRouter(prefix="/v1")
BATCH = 200
CURSOR_MAX = 2**63 - 1  # event ids are SQLite integers


def _sse(hub: Hub, who: Principal, start: int, request: Request) -> AsyncGenerator[bytes, None]:
    # closed with the response, so the stream's subscription ends with the client
    return sse_frames(who.party_id, start, hub.stream_events(who, start), request, hub)


async def sse_frames(
    label: str,
    start: int,
    pages: AsyncGenerator[Page, None],
    request: Request,
    hub: Hub,
) -> AsyncGenerator[bytes, None]:
    """A stream's pages as SSE frames, with a heartbeat while it is idle (a party's
    stream, and a unit's: api/units.py)."""
    heartbeat = hub.settings.heartbeat_s
    yield f"retry: 3000\n: stream of {label} from {start}\n\n".encode()
    last_sent = time.monotonic()
    async with aclosing(pages):
        async for page in pages:
            if page:
                yield b"".join(
                    f"id: {e['id']}\nevent: {e['type']}\ndata: {text}\n\n".encode()
                    for e, text in page
                )
                last_sent = time.monotonic()
                continue
            if await request.is_disconnected():
                return
            if time.monotonic() - last_sent >= heartbeat:
                yield b": heartbeat\n\n"
                last_sent = time.monotonic()


def _too_many(slots: PartySlots) -> str:
    return (
        f"a party may hold at most {slots.limit} event streams open; close one "
        "(or poll with Accept: application/json)"
    )


async def _held(
    slots: PartySlots, who: Principal, frames: AsyncGenerator[bytes, None]
) -> AsyncIterator[bytes]:
    """The stream's frames, holding one of the party's stream slots while it runs."""
    async with aclosing(frames):
        if who.is_admin:
            async for frame in frames:
                yield frame
            return
        if not slots.available(who.party_id):  # another stream began since the route checked
            yield f": {_too_many(slots)}\n\n".encode()
            return
        with slots.hold(who.party_id):
            async for frame in frames:
                yield frame


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
    after: Annotated[
        int | None, Query(ge=0, le=CURSOR_MAX, description="Resume after this event id")
    ] = None,
    last_event_id: Annotated[str | None, Header()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = BATCH,
) -> Any:
    hub = hub_of(request)
    start = after or 0
    if last_event_id is not None:
        text = last_event_id.strip()
        if not (text.isascii() and text.isdigit()) or int(text) > CURSOR_MAX:
            raise Invalid(
                [("Last-Event-ID", f"must be an event id (an integer from 0 to {CURSOR_MAX})")],
                location="header",
            )
        start = int(text)
    if last_event_id is not None:
        await hub.check_event_cursor(who, start, "Last-Event-ID", "header")
    else:
        await hub.check_event_cursor(who, start, "after", "query")
    accept = request.headers.get("accept", "")
    if "application/json" in accept and "text/event-stream" not in accept:
        return JSONResponse(await hub.poll_events(who, start, limit))
    slots: PartySlots = request.app.state.streams
    if not who.is_admin and not slots.available(who.party_id):
        raise RateLimited(_too_many(slots), retry_after_s=3.0)
    await hub.confirm_cursor(who, start)  # before answering: the client may hang up at once
    return StreamingResponse(
        _held(slots, who, _sse(hub, who, start, request)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post(
    "/events/confirm",
    tags=["events"],
    summary="Confirm your client has (has shown) the events up to an id: records deliveries",
)
async def confirm_events(
    request: Request,
    who: Who,
    body: Annotated[dict[str, Any], Body(openapi_examples={"confirm": {"value": {"up_to": 42}}})],
) -> dict[str, Any]:
    return await hub_of(request).confirm_events(who, body)
