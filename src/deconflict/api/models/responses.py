"""What each operation answers: the response bodies, as the service's views build them.

Descriptions only (the routes return the service's dictionaries as they are): each
model names the members every answer carries, with their types, and allows more
(`additionalProperties`), so a hub that adds a member stays true to its document.
Timestamps are RFC 3339 strings in UTC (`format: date-time`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from deconflict.api.models.requests import Kind, Level, Priority, RefType, RelayMeans
from deconflict.service import EVENT_TYPES

__all__ = [
    "AckList",
    "AckOut",
    "AlertList",
    "AlertOut",
    "CheckOut",
    "Checkpoint",
    "ConflictList",
    "ConflictOut",
    "ConflictSide",
    "ConsistencyProof",
    "Cosignature",
    "DeliverySummary",
    "DisclosureOut",
    "Event",
    "EventsConfirmed",
    "EventsPage",
    "Evidence",
    "FieldError",
    "GrainOut",
    "Health",
    "HubKey",
    "InclusionProof",
    "LedgerEntries",
    "LedgerEntry",
    "MessageList",
    "MessageOut",
    "MessageRelayChain",
    "NoticeList",
    "NoticeOut",
    "NoticeUnits",
    "NotifyOut",
    "Overlap",
    "OwedLeg",
    "PaperVerified",
    "PartyKey",
    "PartyKeys",
    "PartyList",
    "PartyOut",
    "Probe",
    "ProbeList",
    "Problem",
    "Read",
    "Reads",
    "Receipt",
    "RefOut",
    "RegisteredParty",
    "RelayChain",
    "RelayLeg",
    "RelayOwed",
    "RelayStepOut",
    "RelayStepRecorded",
    "RoutedNotice",
    "RoutedNotices",
    "RoutedVersion",
    "TrackAccepted",
    "TrackList",
    "TrackOut",
    "TrackRejected",
    "TracksOut",
    "TreeHead",
    "TreeHeads",
    "UnitAreaOut",
    "UnitConfirmed",
    "UnitCreated",
    "UnitDeliveries",
    "UnitDelivery",
    "UnitDetail",
    "UnitList",
    "UnitOut",
    "UnitToken",
    "UnitUpdated",
    "WhoAmI",
    "Window",
]

Time = datetime
LedgerIndex = Annotated[
    int | None,
    Field(description="The ledger entry this object comes from (null: none yet)"),
]


class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class FieldError(_Out):
    path: str = Field(description="The invalid field, by its path (`body.volumes[0].time_end`)")
    message: str


class Problem(_Out):
    """RFC 9457 problem details; some problems carry more members (`current_version` of
    a stale version, `acknowledged_at`...)."""

    type: str = Field(description="urn:deconflict:problem:<slug>, or about:blank")
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    errors: list[FieldError] = Field(
        default_factory=list, description="Each invalid field of a 422 (absent otherwise)"
    )


# -- parties ------------------------------------------------------------------------
class PartyOut(_Out):
    id: str
    name: str
    created_at: Time
    reachable_via: str | None = Field(default=None, description="Its relay, if it has one")


class RegisteredParty(PartyOut):
    token: str | None = Field(
        default=None,
        description="The party's bearer token; shown this once only (absent for a relayed "
        "party: it never connects)",
    )


class PartyList(_Out):
    parties: list[PartyOut]


class WhoAmI(_Out):
    party: str | None
    admin: bool


class PartyKey(_Out):
    party: str
    public_key: str
    key_id: str
    set_at: Time
    ledger_index: LedgerIndex


class PartyKeys(_Out):
    party: str
    keys: list[PartyKey]


# -- notices and acknowledgements ------------------------------------------------------
class AckOut(_Out):
    """Per (notice version, addressee): pending, then delivered, then acknowledged."""

    notice_id: str
    version: int
    issuer: str
    addressee: str
    state: Literal["pending", "delivered", "acknowledged"]
    deadline: Time | None
    overdue: bool
    overdue_since: Time | None
    created_at: Time
    delivered_at: Time | None
    acknowledged_at: Time | None
    comment: str | None
    current: bool = Field(description="False once a newer version superseded it")
    ledger_index: LedgerIndex = None


class GrainOut(_Out):
    h3_resolution: int
    layer_ft: int
    slot_min: int


class DisclosureOut(_Out):
    level: Level
    grain: GrainOut


class NoticeOut(_Out):
    id: str
    version: int
    issuer: str
    kind: Kind
    title: str
    remarks: str
    priority: int
    addressees: list[str]
    ack_deadline: Time | None
    state: Literal["active", "cancelled", "expired"]
    created_at: Time
    updated_at: Time
    ends_at: Time = Field(description="When the last volume ends")
    disclosure: DisclosureOut
    volumes: list[dict[str, Any]] | None = Field(
        default=None, description="The volumes, normalised (times in UTC)"
    )
    acks: list[AckOut] | None = Field(default=None, description="To the issuer and the admin")
    ledger_index: LedgerIndex = None


class Window(_Out):
    start: Time
    end: Time


class Overlap(_Out):
    time_window: Window
    time_gap_s: float | None = None
    altitude_band: dict[str, Any] | None = None
    vertical_gap_m: float | None = None
    region: dict[str, Any] | None = Field(default=None, description="GeoJSON, when overlapping")
    min_distance_m: float | None = None
    your_volume: int | None = None
    other_volume: int | None = Field(default=None, description="Only if addressed to you")


class ConflictSide(_Out):
    notice: str | None
    version: int | None
    kind: Kind
    issuer: str | None = None
    addressed_to_you: bool | None = None
    disclosure: Level | None = None


class ConflictOut(_Out):
    """A conflict as the caller may see it: the other side's notice only if addressed to
    the caller (else its issuer, kind and the overlap at its disclosure level)."""

    id: str | None = Field(default=None, description="Absent from a dry run's answer")
    state: Literal["open", "resolved", "would_open"]
    revision: int
    opened_at: Time
    updated_at: Time
    resolved_at: Time | None
    resolution: str | None
    mine: ConflictSide | None = None
    other: ConflictSide | None = None
    notices: list[str] | None = None
    overlaps: list[Overlap]


class NotifyOut(NoticeOut):
    conflicts: list[ConflictOut] = Field(description="Its conflicts, as you may see them")


class NoticeList(_Out):
    notices: list[NoticeOut]


class Read(_Out):
    party: str
    version: int
    read_at: Time
    via: str


class Reads(_Out):
    reads: list[Read]


class Probe(_Out):
    id: int
    notice: str
    version: int
    by: str
    at: Time
    via: str
    over_budget: bool
    overlaps: list[dict[str, Any]]


class ProbeList(_Out):
    probes: list[Probe]
    next_after: int | None


class AckList(_Out):
    acks: list[AckOut]


class CheckOut(_Out):
    conflicts: list[ConflictOut]
    checked_against: int


class ConflictList(_Out):
    conflicts: list[ConflictOut]


# -- hotline ------------------------------------------------------------------------
class RefOut(_Out):
    type: RefType
    id: str


class Receipt(_Out):
    party: str
    delivered_at: Time | None
    read_at: Time | None
    via_relay: str | None = Field(
        default=None, description="The relay through which a relayed recipient is reached"
    )
    relay_chain: RelayLeg | None = Field(
        default=None, description="What its relay recorded: received, forwarded, the answer"
    )


class MessageOut(_Out):
    id: str
    from_: str = Field(alias="from")
    to: list[str]
    priority: Priority
    subject: str
    body: str
    ref: RefOut | None
    created_at: Time
    receipts: list[Receipt] | None = Field(default=None, description="To the sender")
    delivered_at: Time | None = None
    read_at: Time | None = None
    ledger_index: LedgerIndex = None
    relaying: list[RelayLeg] | None = Field(
        default=None, description="To a relay: its legs of the message (issue 15)"
    )


class MessageList(_Out):
    messages: list[MessageOut]


# -- events ---------------------------------------------------------------------------
class Event(_Out):
    id: int = Field(description="Increasing; resume after it")
    type: str = Field(json_schema_extra={"enum": [t.name for t in EVENT_TYPES]})
    time: Time
    data: dict[str, Any]


class EventsPage(_Out):
    events: list[Event]
    last_id: int


# -- tactical ---------------------------------------------------------------------------
class TrackAccepted(_Out):
    index: int
    track_id: str
    status: Literal["applied", "duplicate", "out_of_order"]


class TrackRejected(_Out):
    index: int
    track_id: Any = Field(description="As sent (may be missing or not a string)")
    path: str
    reason: str


class TracksOut(_Out):
    accepted: list[TrackAccepted]
    rejected: list[TrackRejected]
    accepted_count: int
    rejected_count: int


class TrackOut(_Out):
    track_id: str
    time: datetime = Field(description="The time of the last report (RFC 3339, UTC)")
    lat: float
    lon: float
    alt_m: float
    category: str


class TrackList(_Out):
    tracks: list[TrackOut]
    count: int


class AlertOut(_Out):
    id: str
    kind: Literal["separation", "intrusion", "nonconformance"]
    state: Literal["active", "cleared"]
    severity: str
    revision: int
    parties: list[str]
    raised_at: Time
    updated_at: Time
    cleared_at: Time | None
    clear_reason: str | None
    acks: dict[str, Time | None]
    acknowledged_by: list[str]
    escalated: list[str]


class AlertList(_Out):
    alerts: list[AlertOut]


# -- ledger -----------------------------------------------------------------------------
class TreeHead(_Out):
    type: Literal["tree_head"]
    tree_size: int
    root_hash: str
    timestamp: Time
    key_id: str
    signature: str


class TreeHeads(_Out):
    heads: list[TreeHead]


class HubKey(_Out):
    algorithm: Literal["Ed25519"]
    public_key: str
    key_id: str
    fingerprint: str


class LedgerEntry(_Out):
    index: int
    leaf_hash: str
    entry: str | None = Field(default=None, description="Only entries that concern you")


class LedgerEntries(_Out):
    tree_size: int
    start: int
    end: int
    entries: list[LedgerEntry]


class InclusionProof(_Out):
    index: int
    tree_size: int
    leaf_hash: str
    proof: list[str]


class ConsistencyProof(_Out):
    first: int
    second: int
    proof: list[str]


class Checkpoint(_Out):
    origin: str
    hub_key: str
    hub_key_fingerprint: str
    tree_size: int
    root_hash: str
    fingerprint: str
    checkpoint: str
    cosignatures: list[dict[str, Any]]


class Cosignature(_Out):
    party: str
    name: str = Field(description="Your cosigner name in the note")
    tree_size: int
    timestamp: int = Field(description="The cosignature's time, Unix seconds (C2SP)")
    stored: bool = Field(description="False if the hub held this cosignature already")


class Evidence(_Out):
    format: str
    notice_id: str
    hub_public_key: str
    tree_head: TreeHead
    entries: list[dict[str, Any]]


class Health(_Out):
    status: str = Field(description="ok; the figures only with the admin token")


class EventsConfirmed(_Out):
    confirmed_up_to: int = Field(description="Your confirmed mark now (it never goes back)")
    notice_versions: int = Field(description="Deliveries of notice versions this recorded")
    messages: int = Field(description="Deliveries of messages this recorded")


# -- relays and paper (issue 15) -------------------------------------------------------
class RelayStepOut(_Out):
    step: Literal["received", "forwarded", "acknowledged", "refused", "no_answer"] = Field(
        description="received: the hub handed the version to the relay (its record); the "
        "others: what the relay reported"
    )
    at: Time
    recorded_at: Time
    means: RelayMeans | None
    counterpart: str | None = Field(description="To whom it was forwarded, or who acknowledged")
    comment: str | None
    signed_by_key: str | None = Field(description="The relay's key id, if it signed the step")
    ledger_index: LedgerIndex


class RelayLeg(_Out):
    """What one relay owes one relayed addressee for one notice version, or one relayed
    recipient for one hotline message (`what`)."""

    what: Literal["notice", "message"] = Field(
        description="A notice version's leg (notice_id, version, issuer) or a hotline "
        "message's (message_id, sender)"
    )
    notice_id: str | None = None
    version: int | None = None
    message_id: str | None = None
    recipient: str
    relay: str
    issuer: str | None = None
    sender: str | None = None
    current: bool = Field(default=True, description="False once a newer version superseded it")
    forward_deadline: Time
    received_by_relay_at: Time | None
    forwarded_at: Time | None
    answer: Literal["acknowledged", "refused", "no_answer"] | None
    answered_at: Time | None
    forward_overdue: bool
    steps: list[RelayStepOut]


class RelayStepRecorded(RelayLeg):
    recorded: RelayStepOut


class RelayChain(_Out):
    notice_id: str
    version: int = Field(description="The notice's current version")
    legs: list[RelayLeg] = Field(description="To the issuer every leg; to a relay its own")


class MessageRelayChain(_Out):
    message_id: str
    legs: list[RelayLeg] = Field(description="To the sender every leg; to a relay its own")


class OwedLeg(RelayLeg):
    owes: Literal["receive", "forward", "answer"]
    ack_deadline: Time | None
    ack_overdue: bool
    title: str | None = Field(default=None, description="The notice's title, a message's subject")
    kind: Kind | None = None
    state: Literal["active", "cancelled", "expired"] | None = None
    priority: Priority | None = Field(default=None, description="A message's priority")


class RelayOwed(_Out):
    owed: list[OwedLeg] = Field(description="Soonest forwarding deadline first")


class PaperVerified(_Out):
    match: Literal[True]
    notice_id: str
    version: int
    issuer: str
    ledger_index: int
    says: str
    text_matches: bool | None = Field(
        default=None, description="Only if the text was sent: whether it is the one printed"
    )
    language: Literal["en", "ru", "ar"] | None = Field(
        default=None, description="Only if the text matches: the language it was printed in"
    )


# -- units (issue 15) ----------------------------------------------------------------------
class UnitAreaOut(_Out):
    geometry: dict[str, Any] = Field(description="GeoJSON, normalised")
    radius_m: float | None


class UnitOut(_Out):
    id: str
    party: str
    name: str
    area: UnitAreaOut
    kinds: list[Kind]
    share_with_issuers: bool
    state: Literal["active", "disabled"]
    confirmed_through: int = Field(description="The last event id the unit confirmed")
    created_at: Time
    updated_at: Time


class UnitCreated(UnitOut):
    token: str = Field(description="The unit's bearer token (for /v1/unit/...); shown once")
    routed: list[str] = Field(description="The notices routed to it at once")


class UnitToken(UnitOut):
    token: str = Field(description="The unit's new bearer token; the old one no longer works")


class UnitUpdated(UnitOut):
    routed: list[str] = Field(description="The notices routed to it by this change")


class UnitDelivery(_Out):
    notice_id: str
    version: int
    unit: str
    state: Literal["pending", "delivered", "acknowledged"]
    routed_at: Time
    starts_at: Time | None = Field(description="When the activity starts in the unit's area")
    delivered_at: Time | None
    acknowledged_at: Time | None
    comment: str | None
    missed: bool = Field(description="The activity started before the unit had it")
    missed_at: Time | None
    current: bool


class UnitDetail(UnitOut):
    deliveries: list[UnitDelivery]


class UnitList(_Out):
    units: list[UnitOut]


class DeliverySummary(_Out):
    responsible: int
    delivered: int
    acknowledged: int


class NoticeUnits(_Out):
    notice_id: str
    version: int
    units: list[UnitDelivery] = Field(description="The current version's deliveries")
    summary: DeliverySummary
    earlier: list[UnitDelivery]


class UnitDeliveries(_Out):
    deliveries: list[UnitDelivery]


class RoutedNotice(NoticeOut):
    delivery: UnitDelivery


class RoutedNotices(_Out):
    notices: list[RoutedNotice]


class RoutedVersion(_Out):
    notice_id: str
    version: int


class UnitConfirmed(_Out):
    confirmed_through: int
    delivered: list[RoutedVersion] = Field(description="The deliveries this confirmed")


# issue 15: a receipt and a message carry relay legs, declared further down
Receipt.model_rebuild()
MessageOut.model_rebuild()
MessageList.model_rebuild()
