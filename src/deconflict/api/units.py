"""Units (issue 15): the party's endpoints for its units, and the unit's own endpoints.

`/v1/units...` and `/v1/notices/{id}/units` take the party's token; `/v1/unit/...` takes
a unit's token and nothing else does (every other endpoint refuses a unit's token).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from deconflict.api.events import sse_frames
from deconflict.api.limits import PartySlots
from deconflict.api.routes import STATE_LIST, Who, hub_of, idempotent, replayed, states
from deconflict.service import Hub, Invalid, Principal, RateLimited, Unauthorized

__all__ = ["router"]

router = APIRouter(prefix="/v1")
Doc = dict[str, Any]
DELIVERY_STATES = ("pending", "delivered", "acknowledged")
CURSOR_MAX = 2**63 - 1

UNIT_EXAMPLE = {
    "id": "coalition/strike-cell-2",
    "name": "Strike cell 2 (Idlib sector)",
    "area": {
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[36.0, 35.0], [37.0, 35.0], [37.0, 36.0], [36.0, 36.0], [36.0, 35.0]]],
        }
    },
    "kinds": ["air_activity", "fires", "protected_site"],
    "share_with_issuers": False,
}


async def unit_principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer <unit token>")
    return hub_of(request).authenticate_unit(token.strip())


Unit = Annotated[Principal, Depends(unit_principal)]


# -- the party's side ------------------------------------------------------------
@router.post(
    "/units",
    status_code=201,
    tags=["units"],
    summary="Create one of your units (party/name): its area, its kinds; returns its token once",
)
async def create_unit(
    request: Request,
    who: Who,
    body: Annotated[Doc, Body(openapi_examples={"unit": {"value": UNIT_EXAMPLE}})],
) -> Doc:
    return await hub_of(request).create_unit(who, body)


@router.get("/units", tags=["units"], summary="Your units")
async def list_units(request: Request, who: Who) -> Doc:
    return await hub_of(request).list_units(who)


@router.get("/units/{party}/{name}", tags=["units"], summary="One of your units and what it has")
async def get_unit(request: Request, who: Who, party: str, name: str) -> Doc:
    return await hub_of(request).get_unit(who, f"{party}/{name}")


@router.patch(
    "/units/{party}/{name}",
    tags=["units"],
    summary="Change a unit's name, area, kinds or sharing (its notices are routed again)",
)
async def update_unit(
    request: Request, who: Who, party: str, name: str, body: Annotated[Doc, Body()]
) -> Doc:
    return await hub_of(request).update_unit(who, f"{party}/{name}", body)


@router.delete(
    "/units/{party}/{name}",
    tags=["units"],
    summary="Disable a unit: its token stops working at once",
)
async def disable_unit(request: Request, who: Who, party: str, name: str) -> Doc:
    return await hub_of(request).disable_unit(who, f"{party}/{name}")


@router.post(
    "/units/{party}/{name}/token",
    tags=["units"],
    summary="A new token for a unit: the old one stops working at once; returned once",
)
async def rotate_unit_token(request: Request, who: Who, party: str, name: str) -> Doc:
    return await hub_of(request).rotate_unit_token(who, f"{party}/{name}")


@router.get(
    "/notices/{notice_id}/units",
    tags=["units"],
    summary="Which of your units have received and acknowledged a notice you received",
)
async def notice_units(request: Request, who: Who, notice_id: str) -> Doc:
    return await hub_of(request).notice_units(who, notice_id)


@router.get(
    "/unit-deliveries",
    tags=["units"],
    summary="Your units' current deliveries (e.g. ?state=pending: what has not reached them)",
)
async def unit_deliveries(request: Request, who: Who, state: str | None = STATE_LIST) -> Doc:
    return await hub_of(request).list_unit_deliveries(who, states=states(state, DELIVERY_STATES))


# -- the unit's side -------------------------------------------------------------
@router.get("/unit", tags=["unit"], summary="The unit this token belongs to")
async def unit_whoami(request: Request, unit: Unit) -> Doc:
    return await hub_of(request).unit_whoami(unit)


@router.get("/unit/notices", tags=["unit"], summary="The notices routed to this unit")
async def unit_notices(request: Request, unit: Unit) -> Doc:
    return await hub_of(request).unit_notices(unit)


@router.get("/unit/notices/{notice_id}", tags=["unit"], summary="One notice routed to this unit")
async def unit_notice(request: Request, unit: Unit, notice_id: str) -> Doc:
    return await hub_of(request).unit_notice(unit, notice_id)


@router.post(
    "/unit/notices/{notice_id}/ack",
    tags=["unit"],
    summary="Acknowledge receipt of the version routed to this unit",
)
async def unit_ack(
    request: Request,
    response: Response,
    unit: Unit,
    notice_id: str,
    body: Annotated[Doc, Body()],
) -> Doc:
    once = idempotent(request, unit, "unit_ack", notice_id, body)
    found = await hub_of(request).unit_acknowledge(unit, notice_id, body, once)
    return replayed(response, once, found)


@router.post(
    "/unit/confirm",
    tags=["unit"],
    summary="Confirm receipt of every event up to last_event_id (the routed notices)",
)
async def unit_confirm(request: Request, unit: Unit, body: Annotated[Doc, Body()]) -> Doc:
    return await hub_of(request).unit_confirm(unit, body)


def _sse(hub: Hub, unit: Principal, start: int, request: Request) -> AsyncGenerator[bytes, None]:
    return sse_frames(unit.outbox, start, hub.unit_stream(unit, start), request, hub)


async def _held(
    slots: PartySlots, key: str, frames: AsyncGenerator[bytes, None]
) -> AsyncGenerator[bytes, None]:
    async with aclosing(frames):
        with slots.hold(key):
            async for frame in frames:
                yield frame


@router.get(
    "/unit/events",
    tags=["unit"],
    summary="This unit's event stream (SSE, or JSON); resuming after N confirms through N",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}, "application/json": {}}}},
)
async def unit_events(
    request: Request,
    unit: Unit,
    after: Annotated[int | None, Query(ge=0, le=CURSOR_MAX)] = None,
    last_event_id: Annotated[str | None, Header()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
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
        await hub.unit_confirm_cursor(unit, start, "Last-Event-ID", "header")
    else:
        await hub.unit_confirm_cursor(unit, start, "after", "query")
    accept = request.headers.get("accept", "")
    if "application/json" in accept and "text/event-stream" not in accept:
        return JSONResponse(await hub.unit_poll(unit, start, limit))
    slots: PartySlots = request.app.state.streams
    if not slots.available(unit.outbox):
        raise RateLimited(
            f"a unit may hold at most {slots.limit} event streams open", retry_after_s=3.0
        )
    frames = _sse(hub, unit, start, request)
    return StreamingResponse(
        _held(slots, unit.outbox, frames),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
