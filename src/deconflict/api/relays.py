"""Relayed parties and printable notices (issue 15): thin routes over the hub."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Request

from deconflict.api.routes import Who, hub_of

__all__ = ["router"]

router = APIRouter(prefix="/v1")
Doc = dict[str, Any]

STEP_EXAMPLE = {
    "version": 1,
    "step": "forwarded",
    "means": "phone",
    "to": "Permanent Mission of Syria to the UN, duty officer",
    "at": "2015-09-30T05:10:00Z",
}


@router.post(
    "/notices/{notice_id}/relay",
    tags=["relays"],
    summary="Record a step of a relayed notice (its relay only): forwarded, or the answer",
)
async def record_relay_step(
    request: Request,
    who: Who,
    notice_id: str,
    body: Annotated[Doc, Body(openapi_examples={"forwarded": {"value": STEP_EXAMPLE}})],
) -> Doc:
    return await hub_of(request).record_relay_step(who, notice_id, body)


@router.get(
    "/notices/{notice_id}/relay",
    tags=["relays"],
    summary="The relay chain of a notice (its issuer: all legs; a relay: its own)",
)
async def relay_chain(request: Request, who: Who, notice_id: str) -> Doc:
    return await hub_of(request).relay_chain(who, notice_id)


@router.get("/relay/owed", tags=["relays"], summary="What you owe as a relay, soonest first")
async def relay_owed(request: Request, who: Who) -> Doc:
    return await hub_of(request).relay_owed(who)


_ = Literal  # (printable routes below use it)
