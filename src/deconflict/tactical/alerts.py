"""Alert lifecycle: raise, update and clear with hysteresis; what each party may see.

Pure library. Each screening cycle hands the `AlertBook` two things:

* ``strict``: the findings under the real minima (a separation or intrusion
  predicted within the lookahead). A finding not yet alerted raises an alert.
* ``held``: keys still in conflict under minima and lookahead widened by the
  clearing margin. An alert whose key is held is kept.

An alert is cleared only after ``clear_cycles`` consecutive cycles in which its
key was not held, i.e. the pair has been clear of the *widened* minima for that
long. A pair hovering at the threshold therefore produces one alert, not a
stream of raise/clear pairs. Updates are sent when the severity changes at once
(predicted -> loss of separation, predicted -> inside), otherwise at most every
``update_interval_s`` and only when the geometry changed appreciably.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Alert", "AlertBook", "Finding", "Transition", "party_view"]

AlertKey = tuple[str, ...]


Detail = dict[str, Any]


def _described(detail: Detail | Callable[[], Detail]) -> Detail:
    return detail() if callable(detail) else detail


@dataclass
class Finding:
    """One conflict found in one cycle (hub-internal: both sides' details).

    ``detail`` may be given as a function that builds it: most findings of a cycle
    confirm a standing alert and are never written, so their details (thousands a
    cycle at 10k airliners) are built only when someone reads them.
    """

    key: AlertKey
    kind: str  # separation | intrusion | nonconformance
    parties: tuple[str, ...]  # involved parties, 1 or 2, in key order
    severity: str
    detail: Detail | Callable[[], Detail]
    signature: tuple[float, ...] = ()  # coarse numbers; an update is due when they change

    def described(self) -> Detail:
        self.detail = _described(self.detail)
        return self.detail


@dataclass
class Alert:
    id: str
    key: AlertKey
    kind: str
    parties: tuple[str, ...]
    severity: str
    detail: Detail | Callable[[], Detail]  # as the finding gave it; see `described`
    raised_at: float
    updated_at: float
    signature: tuple[float, ...] = ()
    revision: int = 1
    misses: int = 0
    acks: dict[str, str] = field(default_factory=dict)  # party -> acknowledged at (RFC 3339)
    escalated: set[str] = field(default_factory=set)

    def described(self) -> Detail:
        """The detail of the latest finding of this alert (built now if it was deferred)."""
        self.detail = _described(self.detail)
        return self.detail


@dataclass
class Transition:
    action: str  # raised | updated | cleared
    alert: Alert
    reason: str | None = None


class AlertBook:
    """The active alerts, keyed by what they are about (pair, track and notice, ...)."""

    def __init__(
        self,
        *,
        clear_cycles: int,
        update_interval_s: float,
        new_id: Callable[[], str],
    ) -> None:
        if clear_cycles < 1:
            raise ValueError("clear_cycles must be >= 1")
        self.clear_cycles = clear_cycles
        self.update_interval_s = update_interval_s
        self.new_id = new_id
        self.active: dict[AlertKey, Alert] = {}
        self.by_id: dict[str, Alert] = {}

    def __len__(self) -> int:
        return len(self.active)

    def adopt(self, alert: Alert) -> None:
        """Take over an alert still active in the store (after a restart)."""
        self.active[alert.key] = alert
        self.by_id[alert.id] = alert

    def cycle(
        self,
        now: float,
        strict: Iterable[Finding],
        held: set[AlertKey],
        clear_reason: Callable[[Alert], str] | None = None,
    ) -> list[Transition]:
        out: list[Transition] = []
        seen: set[AlertKey] = set()
        for f in strict:
            seen.add(f.key)
            alert = self.active.get(f.key)
            if alert is None:
                alert = Alert(
                    id=self.new_id(),
                    key=f.key,
                    kind=f.kind,
                    parties=f.parties,
                    severity=f.severity,
                    detail=f.detail,
                    raised_at=now,
                    updated_at=now,
                    signature=f.signature,
                )
                self.adopt(alert)
                out.append(Transition("raised", alert))
                continue
            alert.misses = 0
            changed = f.severity != alert.severity
            due = (
                now - alert.updated_at >= self.update_interval_s and f.signature != alert.signature
            )
            alert.detail = f.detail
            if changed or due:
                alert.severity = f.severity
                alert.signature = f.signature
                alert.updated_at = now
                alert.revision += 1
                out.append(Transition("updated", alert))
        for key, alert in list(self.active.items()):
            if key in seen:
                continue
            if key in held:
                alert.misses = 0
                continue
            alert.misses += 1
            if alert.misses >= self.clear_cycles:
                del self.active[key]
                self.by_id.pop(alert.id, None)
                alert.updated_at = now
                alert.revision += 1
                reason = clear_reason(alert) if clear_reason is not None else "clear"
                out.append(Transition("cleared", alert, reason))
        return out

    def raise_only(self, now: float, strict: list[Finding]) -> list[Transition]:
        """The alert book's raise and update rules without its clearing.

        Every active alert is passed as held, so none can be cleared, and the
        clearing counts of alerts this pass did not see are put back as they
        were (a quick pass screens only some pairs: it must not restart them).
        """
        misses = {key: a.misses for key, a in self.active.items()}
        seen = {f.key for f in strict}
        out = self.cycle(now, strict, set(self.active) | seen)
        for key, count in misses.items():
            alert = self.active.get(key)
            if alert is not None and key not in seen:
                alert.misses = count
        return out


def _round(value: Any, digits: int) -> Any:
    if isinstance(value, float):
        return round(value, digits) if math.isfinite(value) else None
    return value


def _flip_bearing(bearing: float) -> float:
    return (bearing + 180.0) % 360.0


_NM = 1852.0
_FT = 0.3048
# vertical speed under which the other side is reported level (~100 ft/min)
_LEVEL_MPS = 0.5


def _advisory(bearing: float, distance: float, dalt: float, own: Any, other: Any) -> dict[str, Any]:
    """Where the other side is, as a collision-avoidance advisory gives it (issue 11).

    Clock position relative to one's own track, range to 0.1 NM, relative altitude to
    100 ft, climbing / descending / level: what a crew needs to look and to act, and
    no more, so that one's own position does not give the other track to the metre.
    """
    trk = own.get("trk_deg") if isinstance(own, dict) else None
    clock = None
    if isinstance(trk, int | float) and math.isfinite(bearing):
        clock = math.floor(((bearing - float(trk)) % 360.0) / 30.0 + 0.5) % 12 or 12
    vs = other.get("vs_mps") if isinstance(other, dict) else None
    vertical = "unknown"
    if isinstance(vs, int | float) and math.isfinite(vs):
        vertical = "climbing" if vs > _LEVEL_MPS else "descending" if vs < -_LEVEL_MPS else "level"
    return {
        "clock": clock,
        "range_nm": _round(distance / _NM, 1),
        "rel_alt_ft": _round(round(dalt / _FT / 100.0) * 100.0 + 0.0, 0),
        "vertical": vertical,
    }


def party_view(
    kind: str, parties: tuple[str, ...], detail: dict[str, Any], party: str, share: bool
) -> dict[str, Any]:
    """What ``party`` may learn of an alert's detail.

    Its own track in full. Of the other side, by default, only an advisory: clock
    position from its own track, range to 0.1 NM, relative altitude to 100 ft,
    climbing or descending, and the time to closest approach (to the second, its
    distance to 0.1 NM); the other track itself (id, position, velocity) only when
    the pair of parties is configured to share it.
    """
    if kind == "separation":
        mine, theirs = ("a", "b") if detail["a"]["party"] == party else ("b", "a")
        flip = mine == "b"
        bearing = detail["bearing_deg"]
        dalt = 0.0 - detail["dalt_m"] if flip else detail["dalt_m"] + 0.0
        other: dict[str, Any] = {
            "party": detail[theirs]["party"],
            "category": detail[theirs]["category"],
            **_advisory(
                _flip_bearing(bearing) if flip else bearing,
                detail["distance_m"],
                dalt,
                detail[mine]["track"],
                detail[theirs]["track"],
            ),
        }
        if share:
            other["track"] = detail[theirs]["track"]
        dcpa = detail["dcpa_m"]
        return {
            "own_track": detail[mine]["track"],
            "other": other,
            "tcpa_s": _round(detail["tcpa_s"], 0),
            "dcpa_nm": _round(float(dcpa) / _NM, 1) if isinstance(dcpa, int | float) else None,
            "t_los_s": _round(detail["t_los_s"], 0),
            "minima": detail["minima"],
        }
    if kind == "intrusion":
        track_party, issuer = detail["track"]["party"], detail["notice"]["issuer"]
        common = {
            "inside_now": detail["inside_now"],
            "t_entry_s": _round(detail["t_entry_s"], 1),
            "lookahead_s": detail["lookahead_s"],
        }
        if party == track_party:
            return {
                "own_track": detail["track"]["track"],
                "notice": {
                    "issuer": issuer,
                    "kind": detail["notice"]["kind"],
                    # The notice's id and geometry only if it was addressed to this party.
                    "id": detail["notice"]["id"] if detail["notice"]["addressed"] else None,
                },
                **common,
            }
        seen: dict[str, Any] = {
            "party": track_party,
            "category": detail["track"]["category"],
        }
        if share:
            seen["track"] = detail["track"]["track"]
        return {
            "notice": {
                "id": detail["notice"]["id"],
                "version": detail["notice"]["version"],
                "volume": detail["notice"]["volume"],
            },
            "other": seen,
            **common,
        }
    # nonconformance: only the track's own party is involved.
    return {"own_track": detail["track"]["track"], "reason": detail["reason"]}


def involved(parties: Iterable[str]) -> list[str]:
    return sorted(set(parties))
