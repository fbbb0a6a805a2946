"""Which of the party's own positions leave its network, and as what track report.

Nothing leaves unless the party chose it: a position report (``a-f-*``) is sent
to the hub only if its uid, its callsign, its TAK group (team) or a prefix of
its type is listed; a point placed by hand (``how`` ``h-*``) only if its uid is.
Everything else of the party's picture (other affiliations, chat, drawings,
sensor points) never leaves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from deconflict.interop.tak.cot import UNKNOWN, CotError, CotEvent, cot_time

__all__ = ["ShareRules", "category_of", "track_id_of", "track_report"]

_TRACK_ID_BAD = re.compile(r"[^A-Za-z0-9._:-]")


@dataclass(frozen=True)
class ShareRules:
    uids: frozenset[str] = field(default_factory=frozenset)
    callsigns: frozenset[str] = field(default_factory=frozenset)
    groups: frozenset[str] = field(default_factory=frozenset)
    types: tuple[str, ...] = ()  # prefixes, e.g. "a-f-A" (friendly air)

    @property
    def empty(self) -> bool:
        return not (self.uids or self.callsigns or self.groups or self.types)

    def shares(self, ev: CotEvent) -> bool:
        if not ev.type.startswith("a-f-"):
            return False
        if ev.uid in self.uids:
            return True
        if ev.how.startswith("h"):
            # Placed by hand (a marker on someone's map), not a position the asset
            # reported: it would be a phantom track. Only an explicit uid sends one.
            return False
        if ev.callsign is not None and ev.callsign in self.callsigns:
            return True
        if ev.group is not None and ev.group in self.groups:
            return True
        return any(ev.type == t or ev.type.startswith(t + "-") for t in self.types)

    def describe(self) -> str:
        parts = [
            f"{name} {','.join(sorted(values))}"
            for name, values in (
                ("uids", self.uids),
                ("callsigns", self.callsigns),
                ("groups", self.groups),
                ("types", set(self.types)),
            )
            if values
        ]
        return "; ".join(parts) or "nothing (no --share-* rule)"


def category_of(type_: str) -> str:
    """``uas`` for an unmanned aircraft (MIL-STD-2525 air, military fixed wing, ``-Q``)."""
    parts = type_.split("-")
    if len(parts) >= 3 and parts[2] == "A" and "Q" in parts[3:]:
        return "uas"
    return "manned"


def track_id_of(uid: str) -> str:
    """A hub track id from a CoT uid (the hub allows ``[A-Za-z0-9][A-Za-z0-9._:-]{0,63}``)."""
    tid = _TRACK_ID_BAD.sub("_", uid)[:64]
    if not tid[:1].isalnum():
        tid = ("T" + tid)[:64]
    return tid


def track_report(ev: CotEvent) -> dict[str, Any]:
    """The hub's track report for a position event; raises `CotError` if it has no height."""
    if ev.hae == UNKNOWN:
        raise CotError("point@hae: unknown (9999999); the hub screens in three dimensions")
    report: dict[str, Any] = {
        "track_id": track_id_of(ev.uid),
        "time": cot_time(ev.time),
        "lat": ev.lat,
        "lon": ev.lon,
        "alt_m": ev.hae,
        "category": category_of(ev.type),
    }
    track = ev.find("track")
    if track is not None:
        for attr, name, lo, hi in (
            ("speed", "gs_mps", 0.0, 1000.0),
            ("course", "trk_deg", 0.0, 360.0),
        ):
            raw = track.get(attr)
            if raw is None:
                continue
            try:
                value = float(raw)
            except ValueError:
                raise CotError(f"track@{attr}: not a number: {raw[:40]!r}") from None
            if not lo <= value <= hi:
                raise CotError(f"track@{attr}: {value:g} is outside [{lo:g}, {hi:g}]")
            report[name] = value % 360.0 if name == "trk_deg" else value
        if "gs_mps" in report and "trk_deg" not in report:
            del report["gs_mps"]  # a speed without a course says nothing of the path
    return report
