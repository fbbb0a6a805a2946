"""Which request and response models each operation has (the table the document is made from)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel

from deconflict.api.models import requests as rq
from deconflict.api.models import responses as rs

__all__ = ["OPERATIONS", "Operation"]


@dataclass(frozen=True)
class Operation:
    """One operation's bodies: `request` (None: no body) and its success answers.

    `problems` are the statuses beyond those every operation may answer (401, 403, 404,
    405, 429, 431 and 400/422 for a bad query or header); `public` says no token is
    required (the answer then may say less). `media`: the success answer's media types
    and their schemas when it is not JSON (a printable notice), `headers` its response
    headers; `unit`: the operation takes a unit's token (`/v1/unit/...`), not a party's;
    `idempotent`: it takes an `Idempotency-Key` header (issue 14).
    """

    ok: dict[int, type[BaseModel] | None]
    request: type[BaseModel] | None = None
    problems: tuple[int, ...] = ()
    public: bool = False
    body_required: bool = True
    extra: dict[str, object] = field(default_factory=dict)
    media: dict[str, dict[str, object]] = field(default_factory=dict)
    headers: dict[str, dict[str, object]] = field(default_factory=dict)
    unit: bool = False
    idempotent: bool = False


_BODY = (408, 409, 413, 422)  # the statuses of an operation that takes a body
_STATE = (409,)
PRINTABLE: dict[str, dict[str, object]] = {
    "text/plain": {"schema": {"type": "string"}},
    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
}
CODE_HEADER: dict[str, dict[str, object]] = {
    "X-Verification-Code": {
        "description": "The code printed on it (check it with POST /v1/paper/verify)",
        "schema": {"type": "string"},
    }
}

OPERATIONS: dict[tuple[str, str], Operation] = {
    ("POST", "/v1/parties"): Operation({201: rs.RegisteredParty}, rq.PartyIn, _BODY),
    ("GET", "/v1/parties"): Operation({200: rs.PartyList}),
    ("GET", "/v1/whoami"): Operation({200: rs.WhoAmI}),
    ("PUT", "/v1/parties/{party_id}/key"): Operation({200: rs.PartyKey}, rq.PartyKeyIn, _BODY),
    ("GET", "/v1/parties/{party_id}/keys"): Operation({200: rs.PartyKeys}),
    ("POST", "/v1/notices"): Operation({201: rs.NotifyOut}, rq.NoticeIn, _BODY, idempotent=True),
    ("GET", "/v1/notices"): Operation({200: rs.NoticeList}),
    ("GET", "/v1/notices/{notice_id}"): Operation({200: rs.NoticeOut}),
    ("PUT", "/v1/notices/{notice_id}"): Operation(
        {200: rs.NotifyOut}, rq.AmendIn, _BODY, idempotent=True
    ),
    ("DELETE", "/v1/notices/{notice_id}"): Operation(
        {200: rs.NoticeOut}, problems=_STATE, idempotent=True
    ),
    ("GET", "/v1/notices/{notice_id}/reads"): Operation({200: rs.Reads}),
    ("GET", "/v1/notices/{notice_id}/evidence"): Operation({200: rs.Evidence}),
    ("GET", "/v1/probes"): Operation({200: rs.ProbeList}),
    ("POST", "/v1/notices/{notice_id}/ack"): Operation(
        {200: rs.AckOut}, rq.AckIn, _BODY, idempotent=True
    ),
    ("GET", "/v1/acks"): Operation({200: rs.AckList}),
    ("POST", "/v1/check"): Operation({200: rs.CheckOut}, rq.CheckIn, _BODY),
    ("GET", "/v1/conflicts"): Operation({200: rs.ConflictList}),
    ("GET", "/v1/conflicts/{conflict_id}"): Operation({200: rs.ConflictOut}),
    ("POST", "/v1/messages"): Operation({201: rs.MessageOut}, rq.MessageIn, _BODY, idempotent=True),
    ("GET", "/v1/messages"): Operation({200: rs.MessageList}),
    ("GET", "/v1/messages/{message_id}"): Operation({200: rs.MessageOut}),
    ("POST", "/v1/messages/{message_id}/read"): Operation({200: rs.MessageOut}),
    ("GET", "/v1/events"): Operation({200: rs.EventsPage}),
    ("POST", "/v1/tracks"): Operation({200: rs.TracksOut}, rq.TracksIn, _BODY),
    ("GET", "/v1/tracks"): Operation({200: rs.TrackList}),
    ("GET", "/v1/alerts"): Operation({200: rs.AlertList}),
    ("GET", "/v1/alerts/{alert_id}"): Operation({200: rs.AlertOut}),
    ("POST", "/v1/alerts/{alert_id}/ack"): Operation(
        {200: rs.AlertOut}, rq.AlertAckIn, _BODY, body_required=False
    ),
    ("GET", "/v1/ledger/head"): Operation({200: rs.TreeHead}),
    ("GET", "/v1/ledger/heads"): Operation({200: rs.TreeHeads}),
    ("GET", "/v1/ledger/key"): Operation({200: rs.HubKey}),
    ("GET", "/v1/ledger/entries"): Operation({200: rs.LedgerEntries}),
    ("GET", "/v1/ledger/proof/inclusion"): Operation({200: rs.InclusionProof}),
    ("GET", "/v1/ledger/proof/consistency"): Operation({200: rs.ConsistencyProof}),
    ("GET", "/v1/ledger/checkpoint"): Operation({200: rs.Checkpoint}),
    ("POST", "/v1/ledger/cosignatures"): Operation({200: rs.Cosignature}, rq.CosignatureIn, _BODY),
    ("POST", "/v1/events/confirm"): Operation({200: rs.EventsConfirmed}, rq.EventsConfirmIn, _BODY),
    # relays and paper (issue 15)
    ("POST", "/v1/notices/{notice_id}/relay"): Operation(
        {200: rs.RelayStepRecorded}, rq.RelayStepIn, _BODY
    ),
    ("GET", "/v1/notices/{notice_id}/relay"): Operation({200: rs.RelayChain}),
    ("POST", "/v1/messages/{message_id}/relay"): Operation(
        {200: rs.RelayStepRecorded}, rq.MessageRelayStepIn, _BODY
    ),
    ("GET", "/v1/messages/{message_id}/relay"): Operation({200: rs.MessageRelayChain}),
    ("GET", "/v1/relay/owed"): Operation({200: rs.RelayOwed}),
    ("GET", "/v1/notices/{notice_id}/printable"): Operation(
        {200: None}, media=PRINTABLE, headers=CODE_HEADER
    ),
    ("POST", "/v1/paper/verify"): Operation(
        {200: rs.PaperVerified}, rq.PaperVerifyIn, (*_BODY, 404, 429), public=True
    ),
    # units (issue 15): the party's side
    ("POST", "/v1/units"): Operation({201: rs.UnitCreated}, rq.UnitIn, _BODY),
    ("GET", "/v1/units"): Operation({200: rs.UnitList}),
    ("GET", "/v1/units/{party}/{name}"): Operation({200: rs.UnitDetail}),
    ("PATCH", "/v1/units/{party}/{name}"): Operation({200: rs.UnitUpdated}, rq.UnitPatchIn, _BODY),
    ("DELETE", "/v1/units/{party}/{name}"): Operation({200: rs.UnitOut}),
    ("POST", "/v1/units/{party}/{name}/token"): Operation({200: rs.UnitToken}),
    ("GET", "/v1/notices/{notice_id}/units"): Operation({200: rs.NoticeUnits}),
    ("GET", "/v1/unit-deliveries"): Operation({200: rs.UnitDeliveries}),
    # the unit's side (a unit's token)
    ("GET", "/v1/unit"): Operation({200: rs.UnitOut}, unit=True),
    ("GET", "/v1/unit/notices"): Operation({200: rs.RoutedNotices}, unit=True),
    ("GET", "/v1/unit/notices/{notice_id}"): Operation({200: rs.RoutedNotice}, unit=True),
    ("POST", "/v1/unit/notices/{notice_id}/ack"): Operation(
        {200: rs.UnitDelivery}, rq.UnitAckIn, _BODY, unit=True, idempotent=True
    ),
    ("POST", "/v1/unit/confirm"): Operation(
        {200: rs.UnitConfirmed}, rq.UnitConfirmIn, _BODY, unit=True
    ),
    ("GET", "/v1/unit/events"): Operation({200: rs.EventsPage}, unit=True),
    ("GET", "/healthz"): Operation({200: rs.Health, 503: rs.Health}, public=True),
}
