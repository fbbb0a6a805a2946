"""Live track state: validation of reports, ordering, velocity estimation, staleness.

Pure library: the service owns one `TrackTable`, feeds it the reports it
receives and takes a `Snapshot` (numpy arrays, dead-reckoned to the screening
time) every cycle. Tracks live in memory only: they are high-rate and are
worth nothing a few seconds after they stop coming.

Every report is judged on its own; a bad report never spoils the good ones of
the same batch. The outcome of each report is one of:

* ``applied``: it is now the track's latest state;
* ``duplicate``: the same time and position as a report already applied (ignored);
* ``out_of_order``: older than the track's latest report (ignored; tracks only
  move forward);
* rejected with a reason (bad value, impossible position or speed, time too far
  in the future or the past, a track claimed for another party, ...).
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from deconflict.utc import format_epoch

__all__ = [
    "CATEGORIES",
    "Outcome",
    "Snapshot",
    "TrackLimits",
    "TrackReport",
    "TrackState",
    "TrackTable",
    "parse_report",
    "state_of",
    "state_row",
]

FloatArray = npt.NDArray[np.float64]
CATEGORIES = ("manned", "uas")
_CATEGORY_CODE = {c: k for k, c in enumerate(CATEGORIES)}
_CATEGORY_NAMES = np.array(CATEGORIES)
_NCOLS = 7  # t, lat, lon, alt_m, gs_mps, trk_deg, vs_mps: a TrackTable's columns
_INITIAL_ROWS = 1024
TRACK_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
EARTH_RADIUS_M = 6_371_008.8
_FIELDS = {
    "track_id",
    "time",
    "lat",
    "lon",
    "alt_m",
    "gs_mps",
    "trk_deg",
    "vs_mps",
    "category",
    "party",
    "callsign",
}
# Reports closer in time than this are the same instant (duplicates or conflicting copies).
_SAME_TIME_S = 1e-3
_SAME_POSITION_M = 1.0


@dataclass(frozen=True)
class TrackLimits:
    """What a report may say; anything outside is rejected with a reason."""

    max_speed_mps: float = 1200.0  # ground speed (and speed implied by successive positions)
    max_vs_mps: float = 250.0
    min_alt_m: float = -1000.0
    max_alt_m: float = 40_000.0
    max_future_s: float = 10.0  # clock skew tolerated ahead of the hub's clock
    max_age_s: float = 60.0  # older reports are history, not a live picture
    stale_after_s: float = 30.0  # a track not heard from for this long is dropped
    # Live tracks one party may have at once (issue 11): self-reported tracks are probes
    # of the notices and tracks they meet, so a party cannot field thousands of them.
    max_tracks_per_party: int = 1000
    default_category: str = "manned"


@dataclass(frozen=True, slots=True)
class TrackReport:
    track_id: str
    t: float  # POSIX seconds
    lat: float
    lon: float
    alt_m: float
    gs_mps: float | None
    trk_deg: float | None
    vs_mps: float | None
    category: str
    callsign: str | None = None


@dataclass(slots=True)
class TrackState:
    party: str
    track_id: str
    t: float
    lat: float
    lon: float
    alt_m: float
    gs_mps: float
    trk_deg: float
    vs_mps: float
    category: str
    velocity: str  # "reported", "estimated" or "unknown"
    callsign: str | None = None
    received: float = 0.0  # hub time (POSIX s) the latest report arrived

    def public(self) -> dict[str, Any]:
        return {
            "track_id": self.track_id,
            "time": format_epoch(self.t),  # as every other time the hub answers
            "lat": round(self.lat, 7),
            "lon": round(self.lon, 7),
            "alt_m": round(self.alt_m, 1),
            "gs_mps": round(self.gs_mps, 2),
            "trk_deg": round(self.trk_deg, 2),
            "vs_mps": round(self.vs_mps, 2),
            "category": self.category,
            "velocity": self.velocity,
        }


def state_row(s: TrackState) -> list[Any]:
    """A state as a JSON-ready list (what one process passes on to another)."""
    return [
        s.party,
        s.track_id,
        s.t,
        s.lat,
        s.lon,
        s.alt_m,
        s.gs_mps,
        s.trk_deg,
        s.vs_mps,
        s.category,
        s.velocity,
        s.callsign,
        s.received,
    ]


def state_of(row: Any) -> TrackState:
    """The inverse of `state_row`; ValueError for anything else (a damaged row)."""
    if not isinstance(row, list) or len(row) != 13:
        raise ValueError("a track state is a list of 13 values")
    party, tid, category, velocity, callsign = row[0], row[1], row[9], row[10], row[11]
    numbers = [row[i] for i in (2, 3, 4, 5, 6, 7, 8, 12)]
    if not (isinstance(party, str) and isinstance(tid, str) and TRACK_ID_RE.match(tid)):
        raise ValueError("a track state needs a party and a track id")
    if category not in CATEGORIES or velocity not in ("reported", "estimated", "unknown"):
        raise ValueError("unknown category or velocity kind")
    if callsign is not None and not isinstance(callsign, str):
        raise ValueError("a callsign is a string")
    if not all(_finite(v) for v in numbers):
        raise ValueError("a track state's numbers must be finite")
    t, lat, lon, alt, gs, trk, vs, received = (float(v) for v in numbers)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError("a track state's position is off the globe")
    return TrackState(
        party, tid, t, lat, lon, alt, gs, trk, vs, category, velocity, callsign, received
    )


@dataclass
class Outcome:
    index: int
    track_id: str | None
    status: str  # applied | duplicate | out_of_order | rejected
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


def _finite(value: object) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an integer of hundreds of digits: valid JSON, no number here
        return False


def _number(value: object) -> float | None:
    """``value`` as a finite float when it is a plain JSON number, else None (the
    fast path's test; anything it turns away is judged by the full one)."""
    if type(value) is float:
        return value if math.isfinite(value) else None
    if type(value) is int and -(2**53) <= value <= 2**53:
        return float(value)
    return None


def _fast_report(
    doc: dict[str, Any], party: str, now: float, limits: TrackLimits
) -> TrackReport | None:
    """The report when it is valid in every field, else None (then `parse_report`
    names each fault). At 10,000 reports a second, the full path's bookkeeping of
    errors that a well-formed report never has was a fifth of the hub's interpreter
    (issue 19); this path does the same tests and nothing more."""
    get = doc.get
    if not doc.keys() <= _FIELDS:
        return None
    claimed = get("party")
    if claimed is not None and claimed != party:
        return None
    track_id = get("track_id")
    if type(track_id) is not str or not TRACK_ID_RE.match(track_id):
        return None
    t = _parse_time(get("time"))
    if t is None or not now - limits.max_age_s <= t <= now + limits.max_future_s:
        return None
    lat, lon, alt = _number(get("lat")), _number(get("lon")), _number(get("alt_m"))
    if lat is None or lon is None or alt is None:
        return None
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        return None
    if not limits.min_alt_m <= alt <= limits.max_alt_m:
        return None
    raw_gs, raw_trk, raw_vs = get("gs_mps"), get("trk_deg"), get("vs_mps")
    gs = None if raw_gs is None else _number(raw_gs)
    trk = None if raw_trk is None else _number(raw_trk)
    vs = None if raw_vs is None else _number(raw_vs)
    if (gs is None) != (raw_gs is None) or (trk is None) != (raw_trk is None):
        return None
    if (vs is None) != (raw_vs is None):
        return None
    if gs is not None and not 0.0 <= gs <= limits.max_speed_mps:
        return None
    if trk is not None and not 0.0 <= trk <= 360.0:
        return None
    if vs is not None and abs(vs) > limits.max_vs_mps:
        return None
    category = get("category", limits.default_category)
    if type(category) is not str or category not in CATEGORIES:
        return None
    callsign = get("callsign")
    if callsign is not None and (type(callsign) is not str or len(callsign) > 16):
        return None
    return TrackReport(
        track_id=track_id,
        t=t,
        lat=lat,
        lon=lon,
        alt_m=alt,
        gs_mps=gs,
        trk_deg=None if trk is None else trk % 360.0,
        vs_mps=vs,
        category=category,
        callsign=callsign,
    )


def _parse_time(value: object) -> float | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        return None
    return dt.timestamp()


def parse_report(
    doc: object, party: str, now: float, limits: TrackLimits
) -> tuple[TrackReport | None, list[tuple[str, str]]]:
    """A validated report, or the reasons it is refused (paths relative to the report)."""
    if type(doc) is dict:
        fast = _fast_report(doc, party, now, limits)
        if fast is not None:
            return fast, []
    return _full_report(doc, party, now, limits)


def _full_report(
    doc: object, party: str, now: float, limits: TrackLimits
) -> tuple[TrackReport | None, list[tuple[str, str]]]:
    """`parse_report` field by field, naming every fault."""
    errs: list[tuple[str, str]] = []
    if not isinstance(doc, dict):
        return None, [("", "must be a JSON object")]
    for name in sorted(set(doc) - _FIELDS, key=str):
        errs.append((str(name), "unknown field"))
    claimed = doc.get("party")
    if claimed is not None and claimed != party:
        errs.append(("party", f"track claimed for another party ({claimed!r}); report your own"))
    track_id = doc.get("track_id")
    if not isinstance(track_id, str) or not TRACK_ID_RE.match(track_id):
        errs.append(("track_id", "must match [A-Za-z0-9][A-Za-z0-9._:-]{0,63}"))
    elif "/" in track_id:  # pragma: no cover - excluded by the pattern
        errs.append(("track_id", "must not name a party"))
    t = _parse_time(doc.get("time"))
    if t is None:
        errs.append(("time", "must be an RFC 3339 time with a zone, e.g. 2030-01-01T12:00:00Z"))
    elif t > now + limits.max_future_s:
        errs.append(("time", f"{t - now:.1f} s in the future (limit {limits.max_future_s:g} s)"))
    elif t < now - limits.max_age_s:
        errs.append(("time", f"{now - t:.1f} s in the past (limit {limits.max_age_s:g} s)"))
    numbers: dict[str, float] = {}
    for name in ("lat", "lon", "alt_m"):
        value = doc.get(name)
        if not _finite(value):
            errs.append((name, "required, a finite number"))
        else:
            numbers[name] = float(value)  # type: ignore[arg-type]
    if "lat" in numbers and not -90.0 <= numbers["lat"] <= 90.0:
        errs.append(("lat", "impossible position: latitude outside [-90, 90]"))
    if "lon" in numbers and not -180.0 <= numbers["lon"] <= 180.0:
        errs.append(("lon", "impossible position: longitude outside [-180, 180]"))
    if "alt_m" in numbers and not limits.min_alt_m <= numbers["alt_m"] <= limits.max_alt_m:
        errs.append(
            (
                "alt_m",
                f"impossible altitude: outside [{limits.min_alt_m:g}, {limits.max_alt_m:g}] m",
            )
        )
    optional: dict[str, float | None] = {}
    for name in ("gs_mps", "trk_deg", "vs_mps"):
        value = doc.get(name)
        if value is None:
            optional[name] = None
        elif not _finite(value):
            errs.append((name, "must be a finite number (or absent)"))
        else:
            optional[name] = float(value)
    gs = optional.get("gs_mps")
    if gs is not None and not 0.0 <= gs <= limits.max_speed_mps:
        errs.append(("gs_mps", f"speed outside [0, {limits.max_speed_mps:g}] m/s"))
    trk = optional.get("trk_deg")
    if trk is not None and not 0.0 <= trk <= 360.0:
        errs.append(("trk_deg", "must be in [0, 360]"))
    vs = optional.get("vs_mps")
    if vs is not None and abs(vs) > limits.max_vs_mps:
        errs.append(("vs_mps", f"vertical speed beyond +/-{limits.max_vs_mps:g} m/s"))
    category = doc.get("category", limits.default_category)
    if category not in CATEGORIES:
        errs.append(("category", f"must be one of {', '.join(CATEGORIES)}"))
    callsign = doc.get("callsign")
    if callsign is not None and (not isinstance(callsign, str) or len(callsign) > 16):
        errs.append(("callsign", "must be a string of at most 16 characters"))
    if errs:
        return None, errs
    return (
        TrackReport(
            track_id=str(track_id),
            t=float(t),  # type: ignore[arg-type]
            lat=numbers["lat"],
            lon=numbers["lon"],
            alt_m=numbers["alt_m"],
            gs_mps=gs,
            trk_deg=None if trk is None else trk % 360.0,
            vs_mps=vs,
            category=str(category),
            callsign=callsign,
        ),
        [],
    )


def _inverse(lat1: float, lon1: float, lat2: float, lon2: float) -> tuple[float, float]:
    """Great-circle distance (m) and initial bearing (deg) from point 1 to point 2."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians((lon2 - lon1 + 540.0) % 360.0 - 180.0)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    dist = 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return dist, math.degrees(math.atan2(y, x)) % 360.0


@dataclass(frozen=True)
class Snapshot:
    """Every live track at one instant (dead-reckoned to ``t``), as arrays."""

    t: float
    keys: list[tuple[str, str]]  # (party, track_id)
    states: list[TrackState]
    party: npt.NDArray[np.str_]
    category: npt.NDArray[np.str_]
    lat: FloatArray
    lon: FloatArray
    alt_m: FloatArray
    gs_mps: FloatArray
    trk_deg: FloatArray
    vs_mps: FloatArray
    # rows of the tracks the caller asked for (`TrackTable.snapshot`'s ``rows_of``)
    rows: npt.NDArray[np.int64] = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.keys)


class TrackTable:
    """The latest state of every live track, keyed by (party, track_id). Thread-safe.

    Besides the states themselves the table keeps their numbers in columns (one row
    a track, rows kept dense by moving the last row into a pruned one), so that a
    snapshot, taken twenty times a second by the quick pass, is a few array copies
    rather than a walk over every state: at 10,000 tracks the walk took 6-20 ms of
    the interpreter each time (issue 19).
    """

    def __init__(self, limits: TrackLimits) -> None:
        self.limits = limits
        self._slot: dict[tuple[str, str], int] = {}
        self._keys: list[tuple[str, str]] = []
        self._states: list[TrackState] = []
        self._cols: FloatArray = np.empty((_INITIAL_ROWS, _NCOLS), dtype=np.float64)
        self._codes: npt.NDArray[np.int32] = np.empty((_INITIAL_ROWS, 2), dtype=np.int32)
        self._names: dict[str, int] = {}  # party -> its code in column 0 of _codes
        self._per_party: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.received = 0

    def __len__(self) -> int:
        return len(self._keys)

    def get(self, party: str, track_id: str) -> TrackState | None:
        with self._lock:  # a prune moves rows: slot and state are read together
            return self._get(party, track_id)

    def _get(self, party: str, track_id: str) -> TrackState | None:
        row = self._slot.get((party, track_id))
        return None if row is None else self._states[row]

    def _put(self, state: TrackState) -> None:
        """Store ``state`` as its track's latest (the caller holds the lock)."""
        key = (state.party, state.track_id)
        row = self._slot.get(key)
        if row is None:
            row = len(self._keys)
            if row == len(self._cols):
                self._cols = np.concatenate([self._cols, np.empty_like(self._cols)])
                self._codes = np.concatenate([self._codes, np.empty_like(self._codes)])
            self._slot[key] = row
            self._keys.append(key)
            self._states.append(state)
            self._per_party[state.party] += 1
        else:
            self._states[row] = state
        code = self._names.setdefault(state.party, len(self._names))
        self._cols[row] = (
            state.t,
            state.lat,
            state.lon,
            state.alt_m,
            state.gs_mps,
            state.trk_deg,
            state.vs_mps,
        )
        self._codes[row] = (code, _CATEGORY_CODE[state.category])

    def ingest(self, party: str, docs: list[Any], now: float, max_batch: int) -> list[Outcome]:
        """Validate and apply a batch; one outcome per document, in input order."""
        return self.ingest_batch(party, docs, now, max_batch)[0]

    def ingest_batch(
        self, party: str, docs: list[Any], now: float, max_batch: int
    ) -> tuple[list[Outcome], dict[str, tuple[TrackState | None, TrackState]]]:
        """`ingest`, and for each track the batch changed its state before the batch and
        after it, read under the same lock as the batch was applied (a reader of its
        own, track by track, queued behind every other batch: at 10,000 reports a
        second that convoy was most of the ingestion's time)."""
        outcomes: list[Outcome] = []
        good: list[tuple[int, TrackReport]] = []
        for index, doc in enumerate(docs):
            if index >= max_batch:
                outcomes.append(
                    Outcome(index, None, "rejected", [("", f"batch exceeds {max_batch} reports")])
                )
                continue
            report, errs = parse_report(doc, party, now, self.limits)
            if report is None:
                tid = doc.get("track_id") if isinstance(doc, dict) else None
                outcomes.append(
                    Outcome(index, tid if isinstance(tid, str) else None, "rejected", errs)
                )
                continue
            outcomes.append(Outcome(index, report.track_id, "pending"))
            good.append((index, report))
        # Within a batch, each track's reports are applied oldest first.
        good.sort(key=lambda item: (item[1].track_id, item[1].t, item[0]))
        before: dict[str, TrackState | None] = {}
        with self._lock:
            for index, report in good:
                if report.track_id not in before:
                    before[report.track_id] = self._get(party, report.track_id)
                outcome = outcomes[index]
                outcome.status, errs = self._apply(party, report, now)
                outcome.errors.extend(errs)
            self.received += len(good)
            changes = {
                tid: (before[tid], state)
                for tid in dict.fromkeys(o.track_id for o in outcomes if o.status == "applied")
                if tid is not None and (state := self._get(party, tid)) is not None
            }
        return outcomes, changes

    def _apply(self, party: str, r: TrackReport, now: float) -> tuple[str, list[tuple[str, str]]]:
        prev = self._get(party, r.track_id)
        if prev is None and self._per_party[party] >= self.limits.max_tracks_per_party:
            return "rejected", [
                (
                    "track_id",
                    f"{party} already has {self.limits.max_tracks_per_party} live tracks "
                    "(the limit); a new one starts when one goes stale",
                )
            ]
        velocity = "reported"
        gs, trk, vs = r.gs_mps, r.trk_deg, r.vs_mps
        if prev is not None:
            dt = r.t - prev.t
            dist, bearing = _inverse(prev.lat, prev.lon, r.lat, r.lon)
            if abs(dt) < _SAME_TIME_S:
                same = dist <= _SAME_POSITION_M and abs(r.alt_m - prev.alt_m) <= _SAME_POSITION_M
                if same:
                    return "duplicate", []
                return "rejected", [("time", "another position was already reported for this time")]
            if dt < 0:
                return "out_of_order", []
            implied = dist / dt
            if implied > self.limits.max_speed_mps and dist > 2 * _SAME_POSITION_M:
                return "rejected", [
                    (
                        "",
                        f"moved {dist:.0f} m in {dt:.2f} s since the previous report "
                        f"({implied:.0f} m/s, limit {self.limits.max_speed_mps:g} m/s)",
                    )
                ]
            if gs is None or trk is None or vs is None:
                velocity = "estimated" if dt <= self.limits.stale_after_s else "unknown"
                if velocity == "estimated":
                    if gs is None:
                        gs = implied
                    if trk is None:
                        trk = bearing if dist > 0 else prev.trk_deg
                    if vs is None:
                        vs = max(
                            -self.limits.max_vs_mps,
                            min(self.limits.max_vs_mps, (r.alt_m - prev.alt_m) / dt),
                        )
        if (gs is None or trk is None or vs is None) and velocity == "reported":
            velocity = "unknown"
        self._put(
            TrackState(
                party=party,
                track_id=r.track_id,
                t=r.t,
                lat=r.lat,
                lon=r.lon,
                alt_m=r.alt_m,
                gs_mps=gs if gs is not None else 0.0,
                trk_deg=trk if trk is not None else 0.0,
                vs_mps=vs if vs is not None else 0.0,
                category=r.category,
                velocity=velocity,
                callsign=r.callsign,
                received=now,
            )
        )
        return "applied", []

    def merge(self, states: list[TrackState], now: float) -> list[TrackState]:
        """Take the states another process accepted (issue 14): each replaces ours when it
        is newer, and is dropped when older or already stale. Returns those taken.

        The other process judged the report (plausibility, its party's limit) against
        the picture it had; a party whose reports go to two processes can end up a few
        tracks over its limit for as long as the two views differ (a fraction of a
        second), which is better than dropping a real aircraft.
        """
        cutoff = now - self.limits.stale_after_s
        taken: list[TrackState] = []
        with self._lock:
            for s in states:
                if s.t < cutoff:
                    continue
                prev = self._get(s.party, s.track_id)
                if prev is not None and prev.t >= s.t:
                    continue
                self._put(s)
                taken.append(s)
        return taken

    def prune(self, now: float) -> list[tuple[str, str]]:
        """Drop tracks not heard from for ``stale_after_s``; their keys."""
        cutoff = now - self.limits.stale_after_s
        with self._lock:
            stale = np.flatnonzero(self._cols[: len(self._keys), 0] < cutoff)
            gone = [self._keys[row] for row in stale.tolist()]
            # Highest rows first, so that a row moved down is never one still to drop.
            for row in stale[::-1].tolist():
                self._drop(row)
        return gone

    def _drop(self, row: int) -> None:
        """Remove the track in ``row``, moving the last row into it (lock held)."""
        key = self._keys[row]
        last = len(self._keys) - 1
        if row != last:
            moved = self._keys[last]
            self._keys[row] = moved
            self._states[row] = self._states[last]
            self._cols[row] = self._cols[last]
            self._codes[row] = self._codes[last]
            self._slot[moved] = row
        del self._slot[key]
        self._keys.pop()
        self._states.pop()
        self._per_party[key[0]] -= 1

    def tracks_of(self, party: str) -> list[TrackState]:
        with self._lock:
            return [s for s in self._states if s.party == party]

    def snapshot(self, now: float, rows_of: Iterable[tuple[str, str]] = ()) -> Snapshot:
        """Every track, dead-reckoned (straight line) from its report time to ``now``.

        ``rows_of``: tracks whose rows in the snapshot the caller wants, in
        `Snapshot.rows` (those the table no longer holds are left out).
        """
        with self._lock:
            n = len(self._keys)
            keys = self._keys[:]
            states = self._states[:]
            cols = self._cols[:n].copy()
            codes = self._codes[:n].copy()
            names = np.array(sorted(self._names, key=self._names.__getitem__) or [""])
            rows = sorted(r for r in map(self._slot.get, rows_of) if r is not None)
        t, lat, lon, alt, gs, trk, vs = (np.ascontiguousarray(c) for c in cols.T)
        dt = np.clip(now - t, -self.limits.max_future_s, self.limits.stale_after_s)
        rad = np.radians(trk)
        north = gs * np.cos(rad) * dt
        east = gs * np.sin(rad) * dt
        lat2 = np.clip(lat + np.degrees(north / EARTH_RADIUS_M), -90.0, 90.0)
        coslat = np.maximum(np.cos(np.radians(lat)), 1e-6)
        lon2 = (lon + np.degrees(east / (EARTH_RADIUS_M * coslat)) + 180.0) % 360.0 - 180.0
        alt2 = np.clip(alt + vs * dt, self.limits.min_alt_m, self.limits.max_alt_m)
        return Snapshot(
            t=now,
            keys=keys,
            states=states,
            party=names[codes[:, 0]],
            category=_CATEGORY_NAMES[codes[:, 1]],
            lat=lat2,
            lon=lon2,
            alt_m=alt2,
            gs_mps=gs,
            trk_deg=trk % 360.0,
            vs_mps=vs,
            rows=np.asarray(rows, dtype=np.int64),
        )
