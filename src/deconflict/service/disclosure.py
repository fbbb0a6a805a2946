"""Disclosure levels: how much of a notice a party it was not addressed to may learn.

- ``exact``: the notice itself decides and describes its conflicts with everyone (the
  default for a protected site, which wants to be avoided to the metre).
- ``coarse`` (every other kind's default): towards a party that is not an addressee,
  conflicts are decided and described against the notice grown to its grain
  (`geo.coarse`): whole H3 cells, altitude layers and time slots.
- ``existence``: decided like ``coarse``, but such a party is told only that a conflict
  exists, with whom, the other notice's kind and the coarse window.

The issuer and the addressees always see, and are judged against, the exact volumes.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

from deconflict.geo import Volume4D
from deconflict.geo.coarse import GRAIN_LIMITS, Grain, coarse_volume
from deconflict.service.errors import FieldProblem

__all__ = [
    "COARSE",
    "EXACT",
    "EXISTENCE",
    "LEVELS",
    "Disclosure",
    "coarse_volumes",
    "default_disclosure",
    "grain_asked",
    "parse_disclosure",
    "stored_disclosure",
]

EXACT, COARSE, EXISTENCE = "exact", "coarse", "existence"
LEVELS = (EXACT, COARSE, EXISTENCE)


@dataclass(frozen=True)
class Disclosure:
    level: str
    grain: Grain = field(default_factory=Grain)

    def to_json(self) -> dict[str, Any]:
        return {"level": self.level, "grain": self.grain.to_json()}


def default_disclosure(kind: str) -> Disclosure:
    return Disclosure(EXACT if kind == "protected_site" else COARSE)


def parse_disclosure(value: Any, kind: str, errs: list[FieldProblem]) -> Disclosure:
    """`"coarse"`, or `{"level": "coarse", "grain": {"h3_resolution": 5, ...}}`; absent:
    the kind's default. Problems are named by path (`disclosure.grain.layer_ft`)."""
    if value is None:
        return default_disclosure(kind)
    if isinstance(value, str):
        value = {"level": value}
    if not isinstance(value, dict):
        errs.append(("disclosure", f"must be one of {', '.join(LEVELS)} or an object"))
        return default_disclosure(kind)
    for name in sorted(set(value) - {"level", "grain"}):
        errs.append((f"disclosure.{name}", "unknown field"))
    level = value.get("level", default_disclosure(kind).level)
    if level not in LEVELS:
        errs.append(("disclosure.level", f"unknown level {level!r}: use {', '.join(LEVELS)}"))
        level = default_disclosure(kind).level
    grain_doc = value.get("grain", {})
    if not isinstance(grain_doc, dict):
        errs.append(("disclosure.grain", "must be an object"))
        return Disclosure(level)
    values: dict[str, int] = {}
    for name in sorted(set(grain_doc) - set(GRAIN_LIMITS)):
        errs.append((f"disclosure.grain.{name}", "unknown field"))
    for name, (lo, hi, default) in GRAIN_LIMITS.items():
        raw = grain_doc.get(name, default)
        if isinstance(raw, bool) or not isinstance(raw, int) or not lo <= raw <= hi:
            errs.append((f"disclosure.grain.{name}", f"must be an integer from {lo} to {hi}"))
            raw = default
        values[name] = raw
    return Disclosure(level, Grain(**values))


@functools.lru_cache(maxsize=1024)  # few distinct texts; read for every conflict viewed
def stored_disclosure(text: str | None, kind: str) -> Disclosure:
    """The disclosure of a stored version; versions from before levels existed get the
    kind's default (which hides more than they did, never less). Immutable, so shared."""
    if not text:
        return default_disclosure(kind)
    doc = json.loads(text)
    return Disclosure(doc["level"], Grain(**doc["grain"]))


def grain_asked(doc: Any) -> Grain | None:
    """The grain a submitted notice will be shown at, if it is shown coarse and its
    disclosure is valid (else None): what the volume parsers may grow it to ahead of
    `parse_notice`, which decides again and uses their work only for that very grain."""
    if not isinstance(doc, dict) or not isinstance(doc.get("kind"), str):
        return None
    errs: list[FieldProblem] = []
    d = parse_disclosure(doc.get("disclosure"), doc["kind"], errs)
    return None if errs or d.level == EXACT else d.grain


def coarse_volumes(volumes: tuple[Volume4D, ...], d: Disclosure) -> tuple[Volume4D, ...] | None:
    """The volumes a non-addressee is judged against; None when that is the exact ones."""
    if d.level == EXACT:
        return None
    return tuple(coarse_volume(v, d.grain) for v in volumes)
