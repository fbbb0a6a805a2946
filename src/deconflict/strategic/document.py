"""Notices files for the offline check: ``{"notices": [{id, issuer, kind, volumes, ...}]}``."""

from __future__ import annotations

import re
from typing import Any

from deconflict.geo import ErrorCollector, Limits, parse_volumes
from deconflict.geo.errors import join_path
from deconflict.strategic.model import KINDS, NoticeShape

__all__ = ["FILE_FIELDS", "PARTY_ID", "parse_notice", "parse_notices_file"]

PARTY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
# The hub's notice fields, plus the file's own `id`, `issuer` and `version`: a misspelt
# field is refused here as the hub refuses it (`kindd` would otherwise become "other").
FILE_FIELDS = frozenset(
    {
        "id",
        "issuer",
        "version",
        "kind",
        "title",
        "remarks",
        "priority",
        "addressees",
        "volumes",
        "ack_deadline",
        "signature",
    }
)


def parse_notice(
    doc: object, path: str, errors: ErrorCollector, limits: Limits | None = None
) -> NoticeShape | None:
    if not isinstance(doc, dict):
        errors.add(path, "a notice must be an object with id, issuer and volumes")
        return None
    before = len(errors.errors)
    for name in sorted(set(doc) - FILE_FIELDS, key=str):
        errors.add(join_path(path, str(name)), "unknown field")
    notice_id = doc.get("id")
    if not isinstance(notice_id, str | int) or isinstance(notice_id, bool) or notice_id == "":
        errors.add(join_path(path, "id"), "required: a non-empty string")
    issuer = doc.get("issuer")
    if issuer is None:
        errors.add(join_path(path, "issuer"), "required: the issuing party's id")
    elif not isinstance(issuer, str) or not PARTY_ID.match(issuer):
        errors.add(
            join_path(path, "issuer"),
            f"invalid party id {issuer!r}: lower-case letters, digits and '-', at most 64",
        )
    kind = doc.get("kind", "other")
    if kind not in KINDS:
        errors.add(join_path(path, "kind"), f"unknown kind {kind!r}: one of {', '.join(KINDS)}")
    priority = doc.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool):
        errors.add(join_path(path, "priority"), "must be an integer")
    version = doc.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        errors.add(join_path(path, "version"), "must be an integer >= 1")
    volumes = parse_volumes(
        doc.get("volumes"), path=join_path(path, "volumes"), limits=limits, errors=errors
    )
    if len(errors.errors) > before:
        return None
    return NoticeShape(
        id=str(notice_id),
        issuer=str(issuer),
        kind=str(kind),
        volumes=volumes,
        version=int(version),
        priority=int(priority),
    )


def parse_notices_file(doc: Any, limits: Limits | None = None) -> list[NoticeShape]:
    """Validate a whole file; raises GeoValidationError listing every problem."""
    errors = ErrorCollector()
    shapes: list[NoticeShape] = []
    if not isinstance(doc, dict) or not isinstance(doc.get("notices"), list):
        errors.add("notices", 'the file must be an object {"notices": [...]}')
        errors.raise_if_any()
    seen: dict[str, int] = {}
    for i, item in enumerate(doc["notices"]):
        shape = parse_notice(item, join_path("notices", i), errors, limits)
        if shape is None:
            continue
        if shape.id in seen:
            errors.add(
                join_path(join_path("notices", i), "id"),
                f"duplicate id {shape.id!r} (also notices[{seen[shape.id]}])",
            )
            continue
        seen[shape.id] = i
        shapes.append(shape)
    errors.raise_if_any()
    return shapes
