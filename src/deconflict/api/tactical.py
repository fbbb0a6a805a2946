"""Tactical endpoints: track reports (HTTP batches and a WebSocket stream) and alerts."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, WebSocket, WebSocketDisconnect

from deconflict.api.problems import status_of
from deconflict.api.routes import ALERT_STATES, STATE_LIST, Who, hub_of, states
from deconflict.api.text import lone_surrogates
from deconflict.service import Hub, Principal, ServiceError

__all__ = ["router"]

router = APIRouter(prefix="/v1")
Doc = dict[str, Any]

TRACKS_EXAMPLE = {
    "reports": [
        {
            "track_id": "VIPER11",
            "time": "2030-09-30T06:00:00Z",
            "lat": 35.3,
            "lon": 36.2,
            "alt_m": 6000,
            "gs_mps": 220,
            "trk_deg": 90,
            "vs_mps": 0,
            "category": "manned",
        }
    ]
}


@router.post(
    "/tracks",
    tags=["tactical"],
    summary="Report your own tracks (a batch); each report is accepted or rejected on its own",
    description=(
        'Body `{"reports": [...]}` (or a bare array). Each report: `track_id`, `time` '
        "(RFC 3339), `lat`, `lon`, `alt_m`, optional `gs_mps`, `trk_deg`, `vs_mps` "
        "(estimated from successive positions when absent), `category` (`manned` or `uas`). "
        "The answer lists `accepted` (status `applied`, `duplicate` or `out_of_order`) and "
        "`rejected` (`index`, `path`, `reason`). Tracks are kept in memory only and are "
        "never shown to other parties."
    ),
)
async def post_tracks(
    request: Request,
    who: Who,
    body: Annotated[Any, Body(openapi_examples={"one aircraft": {"value": TRACKS_EXAMPLE}})],
) -> Doc:
    return await hub_of(request).report_tracks(who, body)


@router.get("/tracks", tags=["tactical"], summary="Your own live tracks, as the hub holds them")
async def get_tracks(request: Request, who: Who) -> Doc:
    return await hub_of(request).my_tracks(who)


@router.get("/alerts", tags=["tactical"], summary="Alerts that involve you (newest first)")
async def list_alerts(
    request: Request,
    who: Who,
    *,
    state: str | None = STATE_LIST,
    kind: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Doc:
    return await hub_of(request).list_alerts(
        who, states=states(state, ALERT_STATES), kind=kind, limit=limit
    )


@router.get("/alerts/{alert_id}", tags=["tactical"], summary="One alert that involves you")
async def get_alert(request: Request, who: Who, alert_id: str) -> Doc:
    return await hub_of(request).get_alert(who, alert_id)


@router.post(
    "/alerts/{alert_id}/ack",
    tags=["tactical"],
    summary='Acknowledge an alert (each involved party); body {"comment": "..."} optional',
)
async def ack_alert(
    request: Request,
    who: Who,
    alert_id: str,
    body: Annotated[Any, Body(openapi_examples={"ack": {"value": {"comment": "visual"}}})] = None,
) -> Doc:
    return await hub_of(request).ack_alert(who, alert_id, body)


def _token_of(value: Any) -> str | None:
    if isinstance(value, str):
        scheme, _, token = value.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


@router.websocket("/tracks/ws")
async def tracks_ws(ws: WebSocket) -> None:
    """A continuous stream of track reports.

    Authenticate with ``Authorization: Bearer <token>`` on the upgrade request,
    or with a first message ``{"token": "<token>"}``. Then each message is a
    report, an array of reports or ``{"seq": n, "reports": [...]}``; each is
    answered with ``{"type": "result", "seq": n, "accepted": [...], "rejected": [...]}``.
    """
    hub: Hub = ws.app.state.hub
    await ws.accept()
    who: Principal | None = None
    header = _token_of(ws.headers.get("authorization"))
    try:
        if header is not None:
            who = hub.authenticate(header)
        else:
            first = json.loads(await ws.receive_text())
            token = first.get("token") if isinstance(first, dict) else None
            who = hub.authenticate(token if isinstance(token, str) else None)
    except (ServiceError, ValueError) as exc:
        detail = exc.detail if isinstance(exc, ServiceError) else "first message must be JSON"
        await ws.send_json({"type": "error", "status": 401, "detail": detail})
        await ws.close(code=1008)
        return
    except WebSocketDisconnect:
        return
    if who.is_admin:
        await ws.send_json(
            {"type": "error", "status": 403, "detail": "the hub operator reports no tracks"}
        )
        await ws.close(code=1008)
        return
    await ws.send_json({"type": "ready", "party": who.party_id})
    try:
        while True:
            text = await ws.receive_text()
            seq: Any = None
            try:
                doc = json.loads(text)
            except ValueError:
                await ws.send_json({"type": "error", "seq": None, "detail": "not valid JSON"})
                continue
            bad_text = lone_surrogates(doc, "message")
            if bad_text:
                await ws.send_json(
                    {
                        "type": "error",
                        "seq": None,
                        "status": 422,
                        "detail": "the message holds text that is not Unicode; nothing was taken",
                        "errors": [{"path": p, "message": m} for p, m in bad_text],
                    }
                )
                continue
            if isinstance(doc, dict) and "reports" in doc:
                seq = doc.get("seq")
                body: Any = {"reports": doc.get("reports")}
            elif isinstance(doc, dict):
                body = [doc]
            else:
                body = doc
            try:
                hub.check_rate(who)
                result = await hub.report_tracks(who, body)
            except ServiceError as exc:
                await ws.send_json(
                    {"type": "error", "seq": seq, "status": status_of(exc), "detail": exc.detail}
                )
                continue
            await ws.send_json({"type": "result", "seq": seq, **result})
    except WebSocketDisconnect:
        return
