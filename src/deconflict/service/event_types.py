"""Every type of event a party's stream carries: one definition each, name and payload.

The service emits them (`Tx.emit(party, NOTICE_RECEIVED, view)`), the stream reads
their names back (`HANDED_OVER_NOTICES`...), and the README's list is checked against
`EVENT_TYPES` by a test. Payloads that are views of stored objects (a notice, an
acknowledgement, a conflict, a message, an alert as the party may see it) are typed as
such views; the others have their fields spelled out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypedDict, TypeVar

__all__ = [
    "ACK_DELIVERED",
    "ACK_OVERDUE",
    "ACK_RECEIVED",
    "ALERT_ACKNOWLEDGED",
    "ALERT_CLEARED",
    "ALERT_RAISED",
    "ALERT_UNACKNOWLEDGED",
    "ALERT_UPDATED",
    "CONFLICT_OPENED",
    "CONFLICT_RESOLVED",
    "CONFLICT_UPDATED",
    "EVENT_TYPES",
    "MESSAGE_DELIVERED",
    "MESSAGE_READ",
    "MESSAGE_RECEIVED",
    "NOTICE_CANCELLED",
    "NOTICE_EXPIRED",
    "NOTICE_PROBED",
    "NOTICE_RECEIVED",
    "NOTICE_ROUTED",
    "NOTICE_UNROUTED",
    "NOTICE_UPDATED",
    "NOTICE_WITHDRAWN",
    "RELAY_OVERDUE",
    "RELAY_OWED",
    "RELAY_STEP",
    "UNITS_NOT_REACHED",
    "UNIT_ACKNOWLEDGED",
    "UNIT_DELIVERED",
    "UNIT_DELIVERY_MISSED",
    "AckDelivered",
    "EventType",
    "MessageDelivered",
    "MessageRead",
    "NoticeCancelled",
    "NoticeExpired",
    "NoticeProbed",
    "NoticeUnrouted",
    "NoticeWithdrawn",
    "UnitDelivered",
    "UnitDeliveryMissed",
    "UnitsNotReached",
    "View",
]

P = TypeVar("P")
View = dict[str, Any]  # a stored object as the receiving party may see it (`views`)


@dataclass(frozen=True)
class EventType(Generic[P]):
    """An event's ``type`` on the stream; ``P`` is the type of its ``data``."""

    name: str
    about: str


class NoticeWithdrawn(TypedDict):
    id: str
    issuer: str
    version: int


class NoticeCancelled(TypedDict):
    id: str
    issuer: str
    version: int
    cancelled_version: int
    kind: str
    title: str
    state: str
    ack_deadline: str | None


class NoticeExpired(TypedDict):
    id: str
    issuer: str
    version: int
    kind: str
    title: str
    state: str


class NoticeProbed(TypedDict):
    """A party probed one of your notices (issue 11): what it was shown, and when."""

    notice: str
    version: int
    by: str
    at: str
    via: str  # check (a dry run), cancel or amend (a notice withdrawn soon after conflicting)
    over_budget: bool  # past its daily budget: answered at `existence` level
    overlaps: list[dict[str, Any]]


class AckDelivered(TypedDict):
    notice_id: str
    version: int
    addressee: str
    delivered_at: str


class MessageDelivered(TypedDict):
    message_id: str
    party: str
    delivered_at: str


class MessageRead(TypedDict):
    message_id: str
    party: str
    read_at: str


NOTICE_RECEIVED = EventType[View]("notice_received", "a notice (version) addressed to you")
NOTICE_UPDATED = EventType[View]("notice_updated", "a new version of a notice you received")
NOTICE_WITHDRAWN = EventType[NoticeWithdrawn](
    "notice_withdrawn", "a new version no longer addresses you"
)
NOTICE_CANCELLED = EventType[NoticeCancelled](
    "notice_cancelled", "a notice you received was cancelled (a version to acknowledge)"
)
NOTICE_EXPIRED = EventType[NoticeExpired]("notice_expired", "every volume of a notice has ended")
NOTICE_PROBED = EventType[NoticeProbed](
    "notice_probed", "a party probed your notice (a dry run, or a notice withdrawn at once)"
)
CONFLICT_OPENED = EventType[View]("conflict_opened", "one of your notices conflicts")
CONFLICT_UPDATED = EventType[View]("conflict_updated", "a conflict changed with a new version")
CONFLICT_RESOLVED = EventType[View]("conflict_resolved", "a conflict no longer stands")
ACK_DELIVERED = EventType[AckDelivered](
    "ack_delivered", "an addressee's client confirmed it received your notice"
)
ACK_RECEIVED = EventType[View]("ack_received", "an addressee acknowledged your notice")
ACK_OVERDUE = EventType[View]("ack_overdue", "an acknowledgement is past its deadline")
MESSAGE_RECEIVED = EventType[View]("message_received", "a hotline message to you")
MESSAGE_DELIVERED = EventType[MessageDelivered](
    "message_delivered", "your message reached a recipient"
)
MESSAGE_READ = EventType[MessageRead]("message_read", "a recipient read your message")
ALERT_RAISED = EventType[View]("alert_raised", "a tactical alert that involves you")
ALERT_UPDATED = EventType[View]("alert_updated", "an alert's geometry or severity changed")
ALERT_CLEARED = EventType[View]("alert_cleared", "an alert no longer stands")
ALERT_ACKNOWLEDGED = EventType[View]("alert_acknowledged", "a party acknowledged an alert")
ALERT_UNACKNOWLEDGED = EventType[View](
    "alert_unacknowledged", "an alert went unacknowledged too long (escalation)"
)
# issue 15: relayed parties
RELAY_OWED = EventType[View](
    "relay_owed", "a notice version you relay to a party that never connects: forward it"
)
RELAY_STEP = EventType[View]("relay_step", "a relay recorded a step of a relayed notice")
RELAY_OVERDUE = EventType[View](
    "relay_overdue", "a relayed notice was not forwarded by its forwarding deadline"
)

# -- units (issue 15) ------------------------------------------------------------------
# A unit's stream carries `notice_routed` and `notice_unrouted` only; its party's stream
# the per-unit receipts and escalations; the issuer's stream a count, never unit names
# (unless the unit's party shares them).


class NoticeUnrouted(TypedDict):
    id: str
    issuer: str
    version: int
    reason: str  # outside your area or kinds now, cancelled for your party, your area changed


class UnitDelivered(TypedDict):
    notice_id: str
    version: int
    unit: str
    delivered_at: str
    via: str  # confirm (the unit's client confirmed it), ack


class UnitDeliveryMissed(TypedDict):
    notice_id: str
    version: int
    unit: str
    starts_at: str
    state: str


class UnitsNotReached(TypedDict):
    notice_id: str
    version: int
    addressee: str
    units_responsible: int
    units_delivered: int
    summary: str  # "delivered to 2 of 3 units responsible for the area"
    units: list[str]  # only the units whose party chose to share their names


NOTICE_ROUTED = EventType[View]("notice_routed", "(to a unit) a notice routed to your area")
NOTICE_UNROUTED = EventType[NoticeUnrouted](
    "notice_unrouted", "(to a unit) a notice no longer routed to you"
)
UNIT_DELIVERED = EventType[UnitDelivered](
    "unit_delivered", "one of your units confirmed it received a notice"
)
UNIT_ACKNOWLEDGED = EventType[View]("unit_acknowledged", "one of your units acknowledged a notice")
UNIT_DELIVERY_MISSED = EventType[UnitDeliveryMissed](
    "unit_delivery_missed", "an activity began before a unit responsible for its area received it"
)
UNITS_NOT_REACHED = EventType[UnitsNotReached](
    "units_not_reached", "your activity began before every unit responsible had it (a count)"
)

EVENT_TYPES: tuple[EventType[Any], ...] = (
    NOTICE_RECEIVED,
    NOTICE_UPDATED,
    NOTICE_WITHDRAWN,
    NOTICE_CANCELLED,
    NOTICE_EXPIRED,
    NOTICE_PROBED,
    CONFLICT_OPENED,
    CONFLICT_UPDATED,
    CONFLICT_RESOLVED,
    ACK_DELIVERED,
    ACK_RECEIVED,
    ACK_OVERDUE,
    MESSAGE_RECEIVED,
    MESSAGE_DELIVERED,
    MESSAGE_READ,
    ALERT_RAISED,
    ALERT_UPDATED,
    ALERT_CLEARED,
    ALERT_ACKNOWLEDGED,
    ALERT_UNACKNOWLEDGED,
    RELAY_OWED,
    RELAY_STEP,
    RELAY_OVERDUE,
    NOTICE_ROUTED,
    NOTICE_UNROUTED,
    UNIT_DELIVERED,
    UNIT_ACKNOWLEDGED,
    UNIT_DELIVERY_MISSED,
    UNITS_NOT_REACHED,
)
