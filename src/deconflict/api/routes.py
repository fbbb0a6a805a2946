"""The /v1 endpoints: authenticate, hand the document to the hub, return its answer."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request, Response

from deconflict.api.examples import ACK_EXAMPLE, MESSAGE_EXAMPLE, NOTICE_EXAMPLE, PARTY_EXAMPLE
from deconflict.service import IDEMPOTENCY_KEY, Hub, Invalid, Once, Principal, Unauthorized

__all__ = [
    "ACK_STATES",
    "ALERT_STATES",
    "CONFLICT_STATES",
    "NOTICE_STATES",
    "STATE_LIST",
    "Who",
    "hub_of",
    "idempotent",
    "replayed",
    "router",
    "states",
]

router = APIRouter(prefix="/v1")
Doc = dict[str, Any]


def hub_of(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


async def principal(request: Request) -> Principal:
    # async: a few dictionary look-ups and one hash, not worth a trip to a worker thread
    hub = hub_of(request)
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer <token>")
    who = hub.authenticate(token.strip())
    hub.check_rate(who)
    return who


Who = Annotated[Principal, Depends(principal)]


def idempotent(
    request: Request, who: Principal, operation: str, target: str, body: Any
) -> Once | None:
    """The request's `Idempotency-Key` (issue 14), checked by the service; None: none."""
    values = request.headers.getlist(IDEMPOTENCY_KEY)
    return hub_of(request).once(who, values, operation, target, body)


def replayed(response: Response, once: Once | None, answer: Doc) -> Doc:
    """`answer`, saying so when it is the stored one of an earlier attempt (as Stripe)."""
    if once is not None and once.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return answer


STATE_LIST = Query(
    None, description="Comma-separated states to include; `all` (the default) is every state"
)


NOTICE_STATES = ("active", "cancelled", "expired")
ACK_STATES = ("pending", "delivered", "acknowledged")
CONFLICT_STATES = ("open", "resolved")
ALERT_STATES = ("active", "cleared")


def states(raw: str | None, known: tuple[str, ...]) -> list[str] | None:
    """The states asked for; `all` (or nothing) is every state; an unknown one is a 422.

    An unknown state used to match nothing, so `?state=al` answered an empty list, which
    reads as "nothing there".
    """
    if not raw:
        return None
    asked = [s.strip() for s in raw.split(",") if s.strip()]
    unknown = [s for s in asked if s != "all" and s not in known]
    if unknown:
        raise Invalid(
            [("state", f"unknown state {s!r}: one of {', '.join(known)}, or all") for s in unknown],
            location="query",
        )
    if "all" in asked or not asked:
        return None
    return asked


@router.post(
    "/parties",
    status_code=201,
    tags=["parties"],
    summary="Register a party (hub operator only); returns its token once",
)
async def register_party(
    request: Request,
    who: Who,
    body: Annotated[Doc, Body(openapi_examples={"party": {"value": PARTY_EXAMPLE}})],
) -> Doc:
    return await hub_of(request).register_party(who, body)


@router.get("/parties", tags=["parties"], summary="The party directory (ids and names)")
async def list_parties(request: Request, who: Who) -> Doc:
    return await hub_of(request).list_parties(who)


@router.get("/whoami", tags=["parties"], summary="The party this token belongs to")
async def whoami(who: Who) -> Doc:
    return {"party": who.party_id, "admin": who.is_admin}


@router.post(
    "/notices",
    status_code=201,
    tags=["notices"],
    summary="Notify an activity or protected site; answers with its conflicts",
)
async def notify(
    request: Request,
    response: Response,
    who: Who,
    body: Annotated[Doc, Body(openapi_examples={"strike package": {"value": NOTICE_EXAMPLE}})],
) -> Doc:
    once = idempotent(request, who, "notify", "", body)
    return replayed(response, once, await hub_of(request).notify(who, body, once))


@router.get(
    "/notices", tags=["notices"], summary="Notices visible to you (coordinate reads are recorded)"
)
async def list_notices(
    request: Request,
    who: Who,
    *,
    state: str | None = STATE_LIST,
    issuer: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: str | None = None,
) -> Doc:
    return await hub_of(request).list_notices(
        who,
        states=states(state, NOTICE_STATES),
        issuer=issuer,
        limit=limit,
        after=after,
    )


@router.get("/notices/{notice_id}", tags=["notices"], summary="One notice (the read is recorded)")
async def get_notice(request: Request, who: Who, notice_id: str) -> Doc:
    return await hub_of(request).get_notice(who, notice_id)


@router.put(
    "/notices/{notice_id}",
    tags=["notices"],
    summary="Amend: a new version; `version` must be the current one (else 409)",
)
async def amend(
    request: Request,
    response: Response,
    who: Who,
    notice_id: str,
    body: Annotated[
        Doc, Body(openapi_examples={"amendment": {"value": {**NOTICE_EXAMPLE, "version": 1}}})
    ],
) -> Doc:
    once = idempotent(request, who, "amend", notice_id, body)
    return replayed(response, once, await hub_of(request).amend(who, notice_id, body, once))


@router.delete("/notices/{notice_id}", tags=["notices"], summary="Cancel a notice (issuer only)")
async def cancel(
    request: Request,
    response: Response,
    who: Who,
    notice_id: str,
    version: Annotated[int | None, Query(ge=1, description="Cancel only if still current")] = None,
    signature: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Required once you registered a key: your Ed25519 signature over "
            "the cancel statement of the current version",
        ),
    ] = None,
) -> Doc:
    once = idempotent(
        request, who, "cancel", notice_id, {"version": version, "signature": signature}
    )
    found = await hub_of(request).cancel(who, notice_id, version, signature, once)
    return replayed(response, once, found)


@router.get(
    "/notices/{notice_id}/reads",
    tags=["notices"],
    summary="Who read the coordinates of your notice, which version, when",
)
async def notice_reads(request: Request, who: Who, notice_id: str) -> Doc:
    return await hub_of(request).notice_reads(who, notice_id)


@router.get(
    "/probes",
    tags=["notices"],
    summary="Probes of your notices: dry runs, and notices withdrawn at once, that touched them",
)
async def list_probes(
    request: Request,
    who: Who,
    *,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,  # probe ids are SQLite integers
) -> Doc:
    return await hub_of(request).list_probes(who, limit=limit, after=after)


@router.post(
    "/notices/{notice_id}/ack",
    tags=["acknowledgements"],
    summary="Acknowledge receipt of the current version (addressees only)",
)
async def acknowledge(
    request: Request,
    response: Response,
    who: Who,
    notice_id: str,
    body: Annotated[Doc, Body(openapi_examples={"ack": {"value": ACK_EXAMPLE}})],
) -> Doc:
    once = idempotent(request, who, "ack", notice_id, body)
    found = await hub_of(request).acknowledge(who, notice_id, body, once)
    return replayed(response, once, found)


@router.get(
    "/acks",
    tags=["acknowledgements"],
    summary="Acknowledgements you owe (role=addressee) or are owed (role=issuer)",
)
async def list_acks(
    request: Request,
    who: Who,
    role: Literal["addressee", "issuer"] = "addressee",
    state: str | None = STATE_LIST,
    include_superseded: bool = False,
) -> Doc:
    return await hub_of(request).list_acks(
        who,
        role=role,
        states=states(state, ACK_STATES),
        include_superseded=include_superseded,
    )


@router.post(
    "/check",
    tags=["conflicts"],
    summary="Dry run: the conflicts a notice would have; nothing is stored",
)
async def check(
    request: Request,
    who: Who,
    body: Annotated[Doc, Body(openapi_examples={"check": {"value": NOTICE_EXAMPLE}})],
) -> Doc:
    return await hub_of(request).check(who, body)


@router.get("/conflicts", tags=["conflicts"], summary="Conflicts of your notices")
async def list_conflicts(
    request: Request,
    who: Who,
    state: str | None = STATE_LIST,
    notice: str | None = None,
) -> Doc:
    return await hub_of(request).list_conflicts(
        who, states=states(state, CONFLICT_STATES), notice_id=notice
    )


@router.get("/conflicts/{conflict_id}", tags=["conflicts"], summary="One conflict")
async def get_conflict(request: Request, who: Who, conflict_id: str) -> Doc:
    return await hub_of(request).get_conflict(who, conflict_id)


@router.post("/messages", status_code=201, tags=["hotline"], summary="Send a hotline message")
async def send_message(
    request: Request,
    response: Response,
    who: Who,
    body: Annotated[Doc, Body(openapi_examples={"urgent": {"value": MESSAGE_EXAMPLE}})],
) -> Doc:
    once = idempotent(request, who, "message", "", body)
    return replayed(response, once, await hub_of(request).send_message(who, body, once))


@router.get(
    "/messages",
    tags=["hotline"],
    summary="Your messages; fetching inbound ones records their delivery",
)
async def list_messages(
    request: Request,
    who: Who,
    box: Literal["in", "out", "all"] = "all",
) -> Doc:
    return await hub_of(request).list_messages(who, box=box)


@router.get("/messages/{message_id}", tags=["hotline"], summary="One message")
async def get_message(request: Request, who: Who, message_id: str) -> Doc:
    return await hub_of(request).get_message(who, message_id)


@router.post(
    "/messages/{message_id}/read",
    tags=["hotline"],
    summary="Mark a message read (recipients only); the sender gets a receipt",
)
async def mark_read(request: Request, who: Who, message_id: str) -> Doc:
    return await hub_of(request).mark_read(who, message_id)
