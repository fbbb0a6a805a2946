"""Relayed parties and printable notices (issue 15): thin routes over the hub."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import Response

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


@router.post(
    "/messages/{message_id}/relay",
    tags=["relays"],
    summary="Record a step of a relayed hotline message (its relay only): forwarded, or the answer",
)
async def record_message_relay_step(
    request: Request,
    who: Who,
    message_id: str,
    body: Annotated[
        Doc,
        Body(
            openapi_examples={
                "forwarded": {"value": {k: v for k, v in STEP_EXAMPLE.items() if k != "version"}}
            }
        ),
    ],
) -> Doc:
    return await hub_of(request).record_message_relay_step(who, message_id, body)


@router.get(
    "/messages/{message_id}/relay",
    tags=["relays"],
    summary="The relay chain of a hotline message (its sender: all legs; a relay: its own)",
)
async def message_relay_chain(request: Request, who: Who, message_id: str) -> Doc:
    return await hub_of(request).message_relay_chain(who, message_id)


@router.get("/relay/owed", tags=["relays"], summary="What you owe as a relay, soonest first")
async def relay_owed(request: Request, who: Who) -> Doc:
    return await hub_of(request).relay_owed(who)


@router.get(
    "/notices/{notice_id}/printable",
    tags=["relays"],
    summary="The current version, printable (text or PDF) with its verification code",
    response_class=Response,
)
async def printable(
    request: Request,
    who: Who,
    notice_id: str,
    format: Literal["text", "pdf"] = "text",
    lang: Annotated[
        str | None,
        Query(description="en, ru or ar (default: the first of Accept-Language, else en)"),
    ] = None,
) -> Response:
    content, code = await hub_of(request).print_notice(
        who, notice_id, format, lang, request.headers.get("accept-language")
    )
    media = "application/pdf" if format == "pdf" else "text/plain; charset=utf-8"
    headers = {"X-Verification-Code": code, "Vary": "Accept-Language"}
    return Response(content, media_type=media, headers=headers)


@router.post(
    "/paper/verify",
    tags=["relays"],
    summary="Unauthenticated: does a printed notice's code (and text) match the ledger?",
)
async def verify_paper(
    request: Request,
    body: Annotated[
        Doc, Body(openapi_examples={"code": {"value": {"code": "ABCD-EFGH-JKLM-NPQR-STUV"}}})
    ],
) -> Doc:
    client = request.client.host if request.client else "unknown"
    return await hub_of(request).verify_paper(client, body)
