"""What each operation accepts: the request bodies, as the hub's own parsers check them.

These models only describe; they never validate a request. The parsers of the service
(`service/documents.py`, `geo/volume.py`, `service/acks.py`...) stay the authority and
give the field-by-field 422. Each model says what those parsers accept (required
fields, enums, ranges with the default limits of `config.Settings`), so a body
generated from the schema has a fair chance of being accepted, and a client generated
from it builds bodies the hub takes. What a schema cannot say (a ring closes, a
footprint fits in 1,000 km, an addressee is registered) is in the descriptions.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, RootModel

from deconflict.geo.altitude import FOOT_M
from deconflict.geo.coarse import GRAIN_LIMITS
from deconflict.geo.volume import MAX_ALTITUDE_M

FL_M = 100 * FOOT_M  # a flight level is 100 ft

__all__ = [
    "AckIn",
    "AlertAckIn",
    "AltitudeIn",
    "AmendIn",
    "Category",
    "CheckIn",
    "CosignatureIn",
    "DisclosureIn",
    "EventsConfirmIn",
    "FlightLevelIn",
    "GrainIn",
    "Kind",
    "Level",
    "LineStringIn",
    "MessageIn",
    "MessageRelayStepIn",
    "NoticeIn",
    "PaperVerifyIn",
    "PartyIn",
    "PartyKeyIn",
    "PointIn",
    "PolygonIn",
    "Priority",
    "RefIn",
    "RefType",
    "RelayMeans",
    "RelayStep",
    "RelayStepIn",
    "TrackBatchIn",
    "TrackReportIn",
    "TracksIn",
    "UnitAckIn",
    "UnitAreaIn",
    "UnitConfirmIn",
    "UnitIn",
    "UnitPatchIn",
    "VolumeIn",
]

# Spelt out (a generated client needs the names); tests/api_document checks each against
# the service's own tuple (KINDS, LEVELS, PRIORITIES, REF_TYPES, CATEGORIES).
Kind = Literal[
    "air_activity", "ground_movement", "fires", "uas_activity", "protected_site", "other"
]
Level = Literal["exact", "coarse", "existence"]
Priority = Literal["routine", "urgent", "flash"]
RefType = Literal["notice", "conflict", "alert", "message"]
Category = Literal["manned", "uas"]
RelayMeans = Literal[
    "phone", "fax", "diplomatic_note", "in_person", "email", "radio", "courier", "other"
]
RelayStep = Literal["forwarded", "acknowledged", "refused", "no_answer"]
CURSOR_MAX = 2**63 - 1  # event ids are SQLite integers

PARTY_ID = r"^[a-z0-9][a-z0-9-]{0,63}$"
PartyId = Annotated[str, Field(pattern=PARTY_ID, description="A registered party's id")]
Signature = Annotated[
    str | None,
    Field(
        max_length=200,
        description="Your base64url Ed25519 signature of the statement (required once you "
        "registered a key; see the README's signing section)",
    ),
]
Nonce = Annotated[
    str | None,
    Field(min_length=8, max_length=128, description="A fresh value signed with the statement"),
]


class _In(BaseModel):
    # Every parser refuses an unknown field by name: the schema says so.
    model_config = ConfigDict(extra="forbid")


Lon = Annotated[float, Field(ge=-180, le=180)]
Lat = Annotated[float, Field(ge=-90, le=90)]
Position = Annotated[
    tuple[Lon, Lat], Field(description="[longitude, latitude] (RFC 7946 order), degrees")
]


class PolygonIn(_In):
    type: Literal["Polygon"]
    coordinates: list[Annotated[list[Position], Field(min_length=4)]] = Field(
        min_length=1,
        description="Rings, exterior first then holes; each ring closed (its last position "
        "repeats its first), with at least 3 distinct vertices, not touching a pole",
    )


class PointIn(_In):
    type: Literal["Point"]
    coordinates: Position


class LineStringIn(_In):
    type: Literal["LineString"]
    coordinates: list[Position] = Field(
        min_length=2, description="At least 2 distinct positions (a corridor's centre line)"
    )


class AltitudeIn(_In):
    value: float = Field(
        ge=-MAX_ALTITUDE_M,
        le=MAX_ALTITUDE_M,
        allow_inf_nan=False,
        description="Metres or feet; at most 10,000 km from the reference",
    )
    units: Literal["M", "FT"]
    reference: Literal["W84", "AMSL"] = Field(
        description="W84: above the WGS-84 ellipsoid; AMSL: above mean sea level"
    )


class FlightLevelIn(_In):
    value: float = Field(
        ge=-MAX_ALTITUDE_M / FL_M,
        le=MAX_ALTITUDE_M / FL_M,
        allow_inf_nan=False,
        description="Hundreds of feet (250 is FL250)",
    )
    units: Literal["FL"]
    reference: Literal["STD"] | None = Field(
        default=None, description="A flight level is a pressure altitude: omit or STD"
    )


Altitude = Annotated[AltitudeIn | FlightLevelIn, Field(description="A height and its reference")]


class VolumeIn(_In):
    """One 4D volume: a footprint, an altitude band and a time window (closed intervals)."""

    geometry: Annotated[PolygonIn | PointIn | LineStringIn, Field(discriminator="type")]
    radius_m: float | None = Field(
        default=None,
        ge=0,
        le=500_000,
        allow_inf_nan=False,
        description="Required > 0 for a Point (a circle) or a LineString (a corridor's "
        "half-width); omit or 0 for a Polygon. The footprint must fit in 1,000 km.",
    )
    altitude_lower: Altitude
    altitude_upper: Altitude = Field(description="Not below altitude_lower")
    time_start: AwareDatetime = Field(description="RFC 3339 with an explicit zone")
    time_end: AwareDatetime = Field(
        description="Not before time_start; the window is at most 366 days"
    )


def _grain_field(name: str) -> Any:
    lo, hi, default = GRAIN_LIMITS[name]
    return Field(default=default, ge=lo, le=hi)


class GrainIn(_In):
    h3_resolution: int = _grain_field("h3_resolution")
    layer_ft: int = _grain_field("layer_ft")
    slot_min: int = _grain_field("slot_min")


class DisclosureIn(_In):
    level: Level | None = None
    grain: GrainIn | None = None


class _NoticeFields(_In):
    kind: Kind
    title: str = Field(max_length=2000)
    remarks: str | None = Field(default=None, max_length=10_000)
    priority: int = Field(default=0, ge=-1000, le=1000, description="Higher wins")
    addressees: (
        Annotated[
            list[PartyId],
            Field(min_length=1, max_length=200, json_schema_extra={"uniqueItems": True}),
        ]
        | Annotated[list[Literal["*"]], Field(min_length=1, max_length=1)]
    ) = Field(
        description='Registered party ids other than yours, each once, or ["*"] (every party)'
    )
    volumes: list[VolumeIn] = Field(min_length=1, max_length=100)
    ack_deadline: AwareDatetime | None = Field(
        default=None, description="When acknowledgements become overdue (RFC 3339)"
    )
    disclosure: Level | DisclosureIn | None = Field(
        default=None,
        description="What a party the notice is not addressed to may learn of it: exact, "
        "coarse (the default but for protected sites) or existence, with its grain",
    )
    signature: Signature = None


class NoticeIn(_NoticeFields):
    """A notice: what a party notifies (DESIGN.md section 2)."""

    nonce: Nonce = None


class CheckIn(NoticeIn):
    """A notice to dry-run: the conflicts it would have; nothing is stored."""


class AmendIn(_NoticeFields):
    """A new version of a notice: the whole notice, and the version it replaces."""

    version: int = Field(ge=1, description="The current version (else 409)")


class AckIn(_In):
    version: int = Field(ge=1, description="The version you acknowledge (the current one)")
    comment: str | None = Field(default=None, max_length=2000)
    signature: Signature = None


class RefIn(_In):
    type: RefType
    id: str = Field(min_length=1, max_length=64)


class MessageIn(_In):
    to: list[PartyId] = Field(
        min_length=1,
        max_length=200,
        description="Registered parties other than you, each once",
        json_schema_extra={"uniqueItems": True},
    )
    subject: str | None = Field(default=None, max_length=2000)
    body: str = Field(min_length=1, max_length=10_000, pattern=r"\S", description="Not blank")
    priority: Priority = "routine"
    ref: RefIn | None = None


class PartyIn(_In):
    id: PartyId
    name: str = Field(min_length=1, max_length=200, pattern=r"\S")
    reachable_via: PartyId | None = Field(
        default=None,
        description="A party that never connects: the registered party (itself not "
        "relayed, not the new one) that relays its notices (issue 15); it gets no token",
    )


class PartyKeyIn(_In):
    public_key: str = Field(
        pattern=r"^[A-Za-z0-9_-]{43}=?$",
        description="base64url of a raw 32-byte Ed25519 public key",
    )


class CosignatureIn(_In):
    checkpoint: str = Field(
        description="A checkpoint this hub signed (C2SP signed note), with your "
        "tlog-cosignature line added"
    )


class TrackReportIn(_In):
    track_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
    time: AwareDatetime = Field(description="RFC 3339; within the hub's window around now")
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    alt_m: float = Field(allow_inf_nan=False, description="Within the hub's altitude limits")
    gs_mps: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    trk_deg: float | None = Field(default=None, ge=0, le=360, allow_inf_nan=False)
    vs_mps: float | None = Field(default=None, allow_inf_nan=False)
    category: Category | None = None
    callsign: str | None = Field(default=None, max_length=16)
    party: PartyId | None = Field(default=None, description="If given, your own id")


class TrackBatchIn(_In):
    reports: list[TrackReportIn]


class TracksIn(RootModel[TrackBatchIn | list[TrackReportIn]]):
    """`{"reports": [...]}` or a bare array of reports; each is accepted or refused alone."""


class AlertAckIn(_In):
    comment: str | None = Field(default=None, max_length=2000)


# -- relays and paper (issue 15) ------------------------------------------------------
def _omitted(**kwargs: Any) -> Any:
    """An optional member that may be left out but not sent as null (the parser refuses
    null): no `null` in its type, no `default` in its schema."""

    def drop_default(schema: dict[str, Any]) -> None:
        schema.pop("default", None)

    return Field(default=None, json_schema_extra=drop_default, **kwargs)


Counterpart = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]


class RelayStepIn(_In):
    """One step a relay took (or heard) for a relayed addressee of a notice version."""

    version: int = Field(ge=1, description="The notice version the step is about")
    step: RelayStep
    recipient: str | None = Field(
        default=None,
        max_length=64,
        description="The relayed party (required if you relay this version to several)",
    )
    at: AwareDatetime | None = Field(
        default=None,
        description="When (RFC 3339; default now): not in the future, not before you "
        "received the version, nor before the last forwarding",
    )
    means: RelayMeans | None = Field(default=None, description='Required for "forwarded"')
    to: Counterpart | None = Field(
        default=None, description='To whom you forwarded it (required for "forwarded")'
    )
    by: Counterpart | None = Field(
        default=None, description='Who acknowledged it (required for "acknowledged")'
    )
    comment: str | None = Field(default=None, max_length=10_000)
    signature: Signature = None


class MessageRelayStepIn(_In):
    """One step a relay took (or heard) for a relayed recipient of a hotline message."""

    step: RelayStep
    recipient: str | None = Field(
        default=None,
        max_length=64,
        description="The relayed party (required if you relay the message to several)",
    )
    at: AwareDatetime | None = Field(
        default=None,
        description="When (RFC 3339; default now): not in the future, not before you "
        "received the message, nor before the last forwarding",
    )
    means: RelayMeans | None = Field(default=None, description='Required for "forwarded"')
    to: Counterpart | None = Field(
        default=None, description='To whom you forwarded it (required for "forwarded")'
    )
    by: Counterpart | None = Field(
        default=None, description='Who acknowledged it (required for "acknowledged")'
    )
    comment: str | None = Field(default=None, max_length=10_000)
    signature: Signature = None


class PaperVerifyIn(_In):
    code: str = Field(
        description="The printed verification code (ABCD-EFGH-JKLM-NPQR-STUV: 20 letters "
        "and digits 2-7; spaces, dashes and case do not matter)"
    )
    text: str | None = Field(
        default=None,
        # the parser takes 1,000,000 characters, but escaped they overrun the 4 MiB body
        # limit: the document promises what always fits (a printed notice is far shorter)
        max_length=300_000,
        description="The printed text, to compare too",
    )


class EventsConfirmIn(_In):
    up_to: int = Field(
        ge=0,
        le=CURSOR_MAX,
        description="The last event id your client has (not past the last sent to you)",
    )


# -- units (issue 15) -------------------------------------------------------------------
UNIT_ID = r"^[a-z0-9][a-z0-9-]{0,63}/[a-z0-9][a-z0-9-]{0,63}$"


class UnitAreaIn(_In):
    """A unit's area of responsibility: a footprint, validated as a volume's is."""

    geometry: Annotated[PolygonIn | PointIn | LineStringIn, Field(discriminator="type")]
    radius_m: float | None = Field(
        default=None,
        ge=0,
        le=500_000,
        allow_inf_nan=False,
        description="Required > 0 for a Point or a LineString; omit or 0 for a Polygon",
    )


UnitName = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]
UnitKinds = Annotated[list[Kind], Field(min_length=1)]


class UnitIn(_In):
    """A new unit of yours: its id in your namespace, its area, the kinds it cares about."""

    id: str = Field(
        pattern=UNIT_ID, max_length=64, description="<your party id>/<name>, 64 characters at most"
    )
    name: UnitName = _omitted(description="Default: its id")
    area: UnitAreaIn
    kinds: UnitKinds = _omitted(description="Default: every kind")
    share_with_issuers: bool = False


class UnitPatchIn(_In):
    """What to change of a unit (at least one member)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    name: UnitName = _omitted()
    area: UnitAreaIn = _omitted()
    kinds: UnitKinds = _omitted()
    share_with_issuers: bool = _omitted()


class UnitAckIn(_In):
    version: int = Field(ge=1, description="The version routed to the unit")
    comment: str | None = Field(default=None, max_length=10_000)


class UnitConfirmIn(_In):
    last_event_id: int = Field(
        ge=0, le=CURSOR_MAX, description="The last event id the unit received (not past it)"
    )
