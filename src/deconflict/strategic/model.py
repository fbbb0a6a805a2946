"""What the strategic engine compares and what it reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from deconflict.geo import VerticalMargins, Volume4D
from deconflict.geo.packed import Filed, Packed
from deconflict.utc import format_ts

__all__ = [
    "KINDS",
    "BufferPolicy",
    "Buffers",
    "Conflict",
    "NoticeRef",
    "NoticeShape",
    "PreparedShape",
    "VolumePairOverlap",
    "facing",
    "sees",
]

KINDS = ("air_activity", "ground_movement", "fires", "uas_activity", "protected_site", "other")


@dataclass(frozen=True)
class Buffers:
    """Separation that must remain between two volumes: lateral, vertical, temporal."""

    lateral_m: float = 0.0
    vertical_m: float = 0.0
    time_s: float = 0.0

    def __post_init__(self) -> None:
        for name in ("lateral_m", "vertical_m", "time_s"):
            value = getattr(self, name)
            if not value >= 0.0:  # also refuses NaN
                raise ValueError(f"{name} must be >= 0, got {value}")


@dataclass(frozen=True)
class BufferPolicy:
    """Deployment buffers, overridable per (unordered) pair of notice kinds.

    ``margins`` widens vertical comparisons across altitude references.
    """

    default: Buffers = field(default_factory=Buffers)
    by_kinds: Mapping[tuple[str, str], Buffers] = field(default_factory=dict)
    margins: VerticalMargins = field(default_factory=VerticalMargins)

    def for_kinds(self, a: str, b: str) -> Buffers:
        return self.by_kinds.get((a, b)) or self.by_kinds.get((b, a)) or self.default

    def widest_for(self, kind: str) -> Buffers:
        """The largest buffers ``kind`` can meet: what the coarse index must reach."""
        candidates = [self.default] + [v for (a, b), v in self.by_kinds.items() if kind in (a, b)]
        return Buffers(
            max(c.lateral_m for c in candidates),
            max(c.vertical_m for c in candidates),
            max(c.time_s for c in candidates),
        )


@dataclass(frozen=True, eq=False)
class NoticeShape:
    """The part of a notice the engine needs: who, what kind, and where/when."""

    id: str
    issuer: str
    kind: str
    volumes: tuple[Volume4D, ...]
    version: int = 1
    priority: int = 0
    # Who may see the exact volumes besides the issuer ("*": every party).
    readers: frozenset[str] = frozenset({"*"})
    # The volumes grown to the notice's grain (geo.coarse), one per volume: what a party
    # that is not a reader is judged by. None: the notice is `exact` towards everyone.
    coarse: tuple[Volume4D, ...] | None = None
    disclosure: str = "exact"

    def filed(self, resolution: int) -> list[Filed]:
        """What the index files each volume under: the coarse ones when there are (they
        contain the exact ones, so every conflict of either is among the candidates).
        Per volume its window (s), band (m) and bounding cap, and the cells covering it."""
        out: list[Filed] = []
        for vol in self.coarse or self.volumes:
            fp, w, a = vol.footprint, vol.window, vol.altitude
            lon, lat = fp.center
            bounds = (w.start_s, w.end_s, a.lower_m, a.upper_m, lon, lat, fp.cap_radius_m)
            out.append((bounds, fp.cells(0.0, resolution)))
        return out


class PreparedShape(NoticeShape):
    """A `NoticeShape` read back from its prepared form (geo.packed, issue 14): filed in
    the index under the numbers stored with it, its `Volume4D` objects built only when
    first read (a stored notice is read when it is a candidate of a query: few are).

    Built once: threads that read it at once may each build, but all of them then use
    the first one stored (`dict.setdefault` is atomic).
    """

    def __init__(
        self,
        *,
        id: str,
        issuer: str,
        kind: str,
        version: int,
        priority: int,
        readers: frozenset[str],
        disclosure: str,
        packed: Packed,
    ) -> None:
        set_ = object.__setattr__  # a frozen dataclass: its fields are set once, here
        set_(self, "id", id)
        set_(self, "issuer", issuer)
        set_(self, "kind", kind)
        set_(self, "version", version)
        set_(self, "priority", priority)
        set_(self, "readers", readers)
        set_(self, "disclosure", disclosure)
        set_(self, "_packed", packed)

    def _built(self) -> tuple[tuple[Volume4D, ...], tuple[Volume4D, ...] | None]:
        built = self.__dict__.get("_lazy_volumes")
        if built is None:
            packed: Packed = self.__dict__["_packed"]
            built = self.__dict__.setdefault("_lazy_volumes", packed.build())
        return built  # type: ignore[no-any-return]

    @property
    def volumes(self) -> tuple[Volume4D, ...]:
        return self._built()[0]

    @property
    def coarse(self) -> tuple[Volume4D, ...] | None:
        packed: Packed = self.__dict__["_packed"]
        return self._built()[1] if packed.coarse else None

    def filed(self, resolution: int) -> list[Filed]:
        packed: Packed = self.__dict__["_packed"]
        if resolution != packed.resolution:  # an index of another resolution: computed
            return super().filed(resolution)
        return packed.filed


def sees(party: str, shape: NoticeShape) -> bool:
    """Whether ``party`` is judged against the exact volumes of ``shape``."""
    return party == shape.issuer or "*" in shape.readers or party in shape.readers


def facing(shape: NoticeShape, party: str) -> tuple[Volume4D, ...]:
    """The volumes of ``shape`` that decide and describe its conflicts with ``party``."""
    if shape.coarse is None or sees(party, shape):
        return shape.volumes
    return shape.coarse


@dataclass(frozen=True)
class NoticeRef:
    id: str
    version: int
    issuer: str
    kind: str

    @classmethod
    def of(cls, shape: NoticeShape) -> NoticeRef:
        return cls(shape.id, shape.version, shape.issuer, shape.kind)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "issuer": self.issuer, "kind": self.kind}


@dataclass(frozen=True)
class VolumePairOverlap:
    """Where volume ``i`` of notice a and volume ``j`` of notice b come too close.

    Each dimension says either what is shared (window, band, region) or how far
    apart the two are while still inside the buffer (gaps, minimum distance).
    """

    i: int
    j: int
    time_window: tuple[datetime, datetime] | None
    time_gap_s: float
    altitude_band: tuple[float, float] | None
    vertical_gap_m: float
    region: dict[str, Any] | None
    min_distance_m: float
    nearest: tuple[tuple[float, float], tuple[float, float]] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "volumes": [self.i, self.j],
            "time_window": (
                {"start": format_ts(self.time_window[0]), "end": format_ts(self.time_window[1])}
                if self.time_window
                else None
            ),
            "time_gap_s": self.time_gap_s,
            "altitude_band": (
                {"lower_m": self.altitude_band[0], "upper_m": self.altitude_band[1]}
                if self.altitude_band
                else None
            ),
            "vertical_gap_m": self.vertical_gap_m,
            "region": self.region,
            "min_distance_m": round(self.min_distance_m, 1),
        }
        if self.nearest is not None:
            out["closest_points"] = [list(self.nearest[0]), list(self.nearest[1])]
        return out


@dataclass(frozen=True)
class Conflict:
    a: NoticeRef
    b: NoticeRef
    buffers: Buffers
    volume_pairs: tuple[VolumePairOverlap, ...]

    @property
    def min_distance_m(self) -> float:
        return min(p.min_distance_m for p in self.volume_pairs)

    def involves(self, notice_id: str) -> bool:
        return notice_id in (self.a.id, self.b.id)

    def to_json(self) -> dict[str, Any]:
        return {
            "notices": [self.a.id, self.b.id],
            "versions": [self.a.version, self.b.version],
            "issuers": [self.a.issuer, self.b.issuer],
            "kinds": [self.a.kind, self.b.kind],
            "volume_pairs": [[p.i, p.j] for p in self.volume_pairs],
            "buffers": {
                "lateral_m": self.buffers.lateral_m,
                "vertical_m": self.buffers.vertical_m,
                "time_s": self.buffers.time_s,
            },
            "min_distance_m": round(self.min_distance_m, 1),
            "overlaps": [p.to_json() for p in self.volume_pairs],
        }
