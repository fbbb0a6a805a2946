"""Validation of the documents parties send: notices and hotline messages.

Every problem is reported with its JSON path at once, so one round trip fixes
them all; nothing is stored when any is found.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from deconflict.config import Settings
from deconflict.geo import GeoValidationError, Limits, Volume4D, parse_rfc3339, parse_volumes
from deconflict.ledger.statements import NOTICE_FIELDS
from deconflict.service.disclosure import EXACT, Disclosure, coarse_volumes, parse_disclosure
from deconflict.service.errors import FieldProblem, Invalid
from deconflict.service.parsers import ParsedVolumes
from deconflict.strategic import KINDS

__all__ = [
    "KINDS",
    "PRIORITIES",
    "MessageDoc",
    "NoticeDoc",
    "parse_message",
    "parse_notice",
]

PRIORITIES = ("routine", "urgent", "flash")
REF_TYPES = ("notice", "conflict", "alert", "message")
# What an issuer asserts (and signs), plus the version an amendment replaces.
_NOTICE_FIELDS = {*NOTICE_FIELDS, "version"}
_MESSAGE_FIELDS = {"to", "subject", "body", "priority", "ref"}


@dataclass(frozen=True)
class NoticeDoc:
    kind: str
    title: str
    remarks: str
    priority: int
    addressees: tuple[str, ...]
    volumes: tuple[Volume4D, ...]
    ack_deadline: datetime | None
    version: int | None  # the version being replaced (amendments only)
    disclosure: Disclosure
    coarse: tuple[Volume4D, ...] | None  # the volumes grown to the grain (None: exact)


@dataclass(frozen=True)
class MessageDoc:
    to: tuple[str, ...]
    subject: str
    body: str
    priority: str
    ref_type: str | None
    ref_id: str | None


def _text(
    doc: dict[str, Any], name: str, limit: int, errs: list[FieldProblem], *, required: bool = False
) -> str:
    value = doc.get(name)
    if value is None:
        if required:
            errs.append((name, "is required"))
        return ""
    if not isinstance(value, str):
        errs.append((name, "must be a string"))
        return ""
    if len(value) > limit:
        errs.append((name, f"is {len(value)} characters long; the limit is {limit}"))
    return value


def _parties(
    value: Any,
    name: str,
    *,
    known: Collection[str],
    sender: str,
    limit: int,
    errs: list[FieldProblem],
    allow_all: bool,
) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        errs.append((name, "must be a non-empty array of party ids"))
        return ()
    if len(value) > limit:
        errs.append((name, f"{len(value)} parties; the limit is {limit}"))
        return ()
    out: list[str] = []
    for i, p in enumerate(value):
        path = f"{name}[{i}]"
        if not isinstance(p, str):
            errs.append((path, "must be a party id (string)"))
        elif p == "*":
            if not allow_all or len(value) != 1:
                errs.append((path, '"*" (every party) must be the only entry'))
            out.append(p)
        elif p == sender:
            errs.append((path, "is the sender itself"))
        elif p not in known:
            errs.append((path, f"unknown party {p!r}"))
        elif p in out:
            errs.append((path, f"{p!r} is listed twice"))
        else:
            out.append(p)
    return tuple(out)


def parse_notice(
    doc: Any,
    *,
    settings: Settings,
    known_parties: Collection[str],
    issuer: str,
    amendment: bool,
    parsed: ParsedVolumes | None = None,
) -> NoticeDoc:
    """Validate a notice; ``parsed`` is its ``volumes`` already validated elsewhere (a
    worker process), used only if it was made from this very ``doc["volumes"]``."""
    errs: list[FieldProblem] = []
    if not isinstance(doc, dict):
        raise Invalid([("", "must be a JSON object")])
    for name in sorted(set(doc) - _NOTICE_FIELDS):
        errs.append((name, "unknown field"))
    kind = doc.get("kind")
    if kind not in KINDS:
        errs.append(("kind", f"must be one of {', '.join(KINDS)}"))
    title = _text(doc, "title", settings.max_text_chars, errs, required=True)
    remarks = _text(doc, "remarks", settings.max_message_chars, errs)
    priority = doc.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int) or not -1000 <= priority <= 1000:
        errs.append(("priority", "must be an integer between -1000 and 1000"))
        priority = 0
    addressees = _parties(
        doc.get("addressees"),
        "addressees",
        known=known_parties,
        sender=issuer,
        limit=settings.max_addressees,
        errs=errs,
        allow_all=True,
    )
    ack_deadline = None
    raw_deadline = doc.get("ack_deadline")
    if raw_deadline is not None:
        if not isinstance(raw_deadline, str):
            errs.append(("ack_deadline", "must be an RFC 3339 timestamp"))
        else:
            try:
                ack_deadline = parse_rfc3339(raw_deadline)
            except ValueError as exc:
                errs.append(("ack_deadline", str(exc)))
    version = doc.get("version")
    if amendment:
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            errs.append(("version", "is required: the version you are replacing (an integer >= 1)"))
            version = None
    elif version is not None:
        errs.append(("version", "is assigned by the hub; omit it when notifying"))
    limits = Limits(max_vertices=settings.max_vertices, max_volumes=settings.max_volumes_per_notice)
    volumes: tuple[Volume4D, ...] = ()
    raw = doc.get("volumes")
    if parsed is None or parsed.raw is not raw:
        try:
            parsed = ParsedVolumes(raw, parse_volumes(raw, path="volumes", limits=limits))
        except GeoValidationError as exc:
            parsed = ParsedVolumes(raw, error=exc)
    if parsed.error is not None:
        errs.extend((e.path, e.message) for e in parsed.error.errors)
    volumes = parsed.volumes
    disclosure = parse_disclosure(doc.get("disclosure"), str(kind), errs)
    coarse = None
    if not errs and disclosure.level != EXACT and parsed.grain == disclosure.grain:
        coarse = parsed.coarse  # grown by a volume parser, to this very grain (or None)
    if not errs and coarse is None:
        try:
            coarse = coarse_volumes(volumes, disclosure)
        except ValueError as exc:
            errs.append(("disclosure.grain.h3_resolution", f"{exc}: choose a coarser grain"))
    if errs:
        raise Invalid(errs)
    return NoticeDoc(
        kind=str(kind),
        title=title,
        remarks=remarks,
        priority=int(priority),
        addressees=addressees,
        volumes=volumes,
        ack_deadline=ack_deadline,
        version=version,
        disclosure=disclosure,
        coarse=coarse,
    )


def parse_message(
    doc: Any, *, settings: Settings, known_parties: Collection[str], sender: str
) -> MessageDoc:
    errs: list[FieldProblem] = []
    if not isinstance(doc, dict):
        raise Invalid([("", "must be a JSON object")])
    for name in sorted(set(doc) - _MESSAGE_FIELDS):
        errs.append((name, "unknown field"))
    to = _parties(
        doc.get("to"),
        "to",
        known=known_parties,
        sender=sender,
        limit=settings.max_addressees,
        errs=errs,
        allow_all=False,
    )
    subject = _text(doc, "subject", settings.max_text_chars, errs)
    body = _text(doc, "body", settings.max_message_chars, errs, required=True)
    if "body" in doc and isinstance(doc["body"], str) and not doc["body"].strip():
        errs.append(("body", "is empty"))
    priority = doc.get("priority", "routine")
    if priority not in PRIORITIES:
        errs.append(("priority", f"must be one of {', '.join(PRIORITIES)}"))
    ref_type = ref_id = None
    ref = doc.get("ref")
    if ref is not None:
        if not isinstance(ref, dict) or set(ref) != {"type", "id"}:
            errs.append(("ref", 'must be {"type": ..., "id": ...}'))
        else:
            if ref["type"] not in REF_TYPES:
                errs.append(("ref.type", f"must be one of {', '.join(REF_TYPES)}"))
            if not isinstance(ref["id"], str) or not 0 < len(ref["id"]) <= 64:
                errs.append(("ref.id", "must be an id string"))
            ref_type, ref_id = ref["type"], ref["id"]
    if errs:
        raise Invalid(errs)
    return MessageDoc(
        to=to,
        subject=subject,
        body=body,
        priority=str(priority),
        ref_type=ref_type,
        ref_id=ref_id,
    )
