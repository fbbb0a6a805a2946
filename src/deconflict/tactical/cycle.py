"""One screening cycle: from a track snapshot to the findings the alert book digests.

Separation: tracks are screened with `deconflict.tactical.screen` once per
separation profile in use (manned minima for every pair with a manned track,
drone minima for drone pairs, and each configured party-pair profile for the
tracks of that pair). Each run is made first with the minima and lookahead
widened by the clearing margin (the "held" set, which keeps alerts alive) and
then, on the few tracks it found, with the real minima (which raises alerts).

Incremental cycles (issue 19): given a `SeparationMemory`, the widened run of
each profile is an `IncrementalScreen` kept from cycle to cycle (tracks numbered
stably by the memory), which returns what the full screen would, screening only
the tracks that strayed from their path at the last full pass.

Intrusion: every track against other parties' active notice volumes and
protected sites, now and along its predicted path (`tactical.intrusion`,
coarse stage in the strategic index). Nonconformance (opt-in per party): a
track that is inside none of its own party's active notice volumes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from deconflict.strategic import StrategicIndex
from deconflict.tactical import IncrementalScreen, ScreenResult, SeparationProfile, screen
from deconflict.tactical.alerts import AlertKey, Finding
from deconflict.tactical.intrusion import screen_intrusions
from deconflict.tactical.settings import TacticalSettings, pair_key
from deconflict.tactical.tracks import Snapshot
from deconflict.utc import format_epoch

__all__ = ["CycleFindings", "SeparationMemory", "find_all", "find_quick", "take"]

IntArray = npt.NDArray[np.int64]


@dataclass
class CycleFindings:
    strict: list[Finding] = field(default_factory=list)
    held: set[AlertKey] = field(default_factory=set)


class SeparationMemory:
    """What incremental cycles keep between cycles: one `IncrementalScreen` per run
    (a profile over its set of tracks) and a stable number for every track."""

    def __init__(self, full_interval_s: float, tolerance: float) -> None:
        self.full_interval_s = full_interval_s
        self.tolerance = tolerance
        self.screens: dict[tuple[str, SeparationProfile], IncrementalScreen] = {}
        self._numbers: dict[tuple[str, str], int] = {}
        self._next = 0
        self.stats = {"full": 0, "incremental": 0, "changed": 0, "held": 0}

    def numbers(self, snap: Snapshot) -> IntArray:
        """Each snapshot track's number: the same as long as the track stays in the picture."""
        numbers = self._numbers
        if len(numbers) > 2 * len(snap) + 1024:  # forget tracks long gone
            numbers = self._numbers = {k: numbers[k] for k in snap.keys if k in numbers}
        out = np.empty(len(snap), dtype=np.int64)
        for i, key in enumerate(snap.keys):
            n = numbers.get(key)
            if n is None:
                n = numbers[key] = self._next
                self._next += 1
            out[i] = n
        return out

    def screen(
        self, name: str, snap: Snapshot, idx: IntArray, numbers: IntArray, p: SeparationProfile
    ) -> ScreenResult:
        """`_screen(snap, idx, p)`, by the run's incremental screen."""
        inc = self.screens.get((name, p))
        if inc is None:
            inc = self.screens[(name, p)] = IncrementalScreen(
                h_sep_m=p.h_sep_m,
                v_sep_m=p.v_sep_m,
                lookahead_s=p.lookahead_s,
                full_interval_s=self.full_interval_s,
                tolerance=self.tolerance,
            )
        result, stats = inc.step(
            snap.t,
            numbers[idx],
            snap.lat[idx],
            snap.lon[idx],
            snap.alt_m[idx],
            snap.gs_mps[idx],
            snap.trk_deg[idx],
            snap.vs_mps[idx],
            party=snap.party[idx],
        )
        self.stats["full" if stats.full else "incremental"] += 1
        self.stats["changed"] += stats.changed
        self.stats["held"] += stats.held
        return result

    def state_bytes(self) -> int:
        return sum(s.state_bytes() for s in self.screens.values())


def _screen(
    snap: Snapshot, idx: IntArray, profile: SeparationProfile, only: IntArray | None = None
) -> ScreenResult:
    """``screen`` over the tracks ``idx`` of a snapshot (result indices are into ``idx``)."""
    return screen(
        snap.lat[idx],
        snap.lon[idx],
        snap.alt_m[idx],
        snap.gs_mps[idx],
        snap.trk_deg[idx],
        snap.vs_mps[idx],
        **profile.as_kwargs(),
        party=snap.party[idx],
        only=only,
    )


def _track_doc(snap: Snapshot, i: int) -> dict[str, Any]:
    s = snap.states[i]
    return {
        "track_id": s.track_id,
        "time": format_epoch(snap.t),
        "lat": round(float(snap.lat[i]), 7),
        "lon": round(float(snap.lon[i]), 7),
        "alt_m": round(float(snap.alt_m[i]), 1),
        "gs_mps": round(float(snap.gs_mps[i]), 2),
        "trk_deg": round(float(snap.trk_deg[i]), 2),
        "vs_mps": round(float(snap.vs_mps[i]), 2),
        "velocity": s.velocity,
        "category": s.category,
        "reported_at": format_epoch(s.t),
    }


def _widen(p: SeparationProfile, margin: float) -> SeparationProfile:
    f = 1.0 + margin
    return SeparationProfile(p.h_sep_m * f, p.v_sep_m * f, p.lookahead_s * f)


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _run(
    snap: Snapshot,
    idx: IntArray,
    profile: SeparationProfile,
    margin: float,
    keep: Callable[[int, int], bool],
    out: CycleFindings,
    incremental: Callable[[IntArray, SeparationProfile], ScreenResult] | None = None,
) -> None:
    if len(idx) < 2:
        return
    wide = _widen(profile, margin)
    r = _screen(snap, idx, wide) if incremental is None else incremental(idx, wide)
    near: set[int] = set()
    for i, j in r.pairs.tolist():
        gi, gj = int(idx[i]), int(idx[j])
        if keep(gi, gj):
            out.held.add(_sep_key(snap, gi, gj))
            near.update((gi, gj))
    if not near:
        return
    sub = np.asarray(sorted(near), dtype=np.int64)
    r = _screen(snap, sub, profile)
    for k, (i, j) in enumerate(r.pairs.tolist()):
        gi, gj = int(sub[i]), int(sub[j])
        if keep(gi, gj):
            out.strict.append(_separation(snap, r, k, gi, gj, profile))


def _run_quick(
    snap: Snapshot,
    idx: IntArray,
    profile: SeparationProfile,
    changed: IntArray,
    keep: Callable[[int, int], bool],
    out: CycleFindings,
) -> None:
    """Pairs with a changed track, under the real minima only (raising, never clearing)."""
    local = np.flatnonzero(np.isin(idx, changed))
    if len(idx) < 2 or len(local) == 0:
        return
    r = _screen(snap, idx, profile, only=local)
    for k, (i, j) in enumerate(r.pairs.tolist()):
        gi, gj = int(idx[i]), int(idx[j])
        if keep(gi, gj):
            out.strict.append(_separation(snap, r, k, gi, gj, profile))


def _separation(
    snap: Snapshot, r: ScreenResult, k: int, gi: int, gj: int, profile: SeparationProfile
) -> Finding:
    bearing, dalt = float(r.bearing_deg[k]), float(r.dalt_m[k])
    if snap.keys[gi] > snap.keys[gj]:  # "a" is the smaller (party, track) key
        gi, gj = gj, gi
        bearing, dalt = (bearing + 180.0) % 360.0, 0.0 - dalt
    t_los = float(r.t_los_s[k])
    dcpa = float(r.dcpa_m[k])
    severity = "loss" if t_los <= 0.0 else "predicted"
    distance, tcpa = float(r.dist_m[k]), float(r.tcpa_s[k])

    def detail() -> dict[str, Any]:  # built only if the alert book needs it
        return {
            "a": _side(snap, gi),
            "b": _side(snap, gj),
            "bearing_deg": bearing,
            "distance_m": distance,
            "dalt_m": dalt,
            "tcpa_s": tcpa,
            "dcpa_m": dcpa,
            "t_los_s": t_los,
            "minima": {
                "h_sep_m": profile.h_sep_m,
                "v_sep_m": profile.v_sep_m,
                "lookahead_s": profile.lookahead_s,
            },
        }

    return Finding(
        key=_sep_key(snap, gi, gj),
        kind="separation",
        parties=(snap.keys[gi][0], snap.keys[gj][0]),
        severity=severity,
        detail=detail,
        signature=(
            round(t_los / 10.0),
            round(dcpa / (0.1 * profile.h_sep_m)),
        ),
    )


def _side(snap: Snapshot, i: int) -> dict[str, Any]:
    return {
        "party": snap.keys[i][0],
        "category": snap.states[i].category,
        "track": _track_doc(snap, i),
    }


def _sep_key(snap: Snapshot, i: int, j: int) -> AlertKey:
    a, b = sorted((snap.keys[i], snap.keys[j]))
    return ("separation", a[0], a[1], b[0], b[1])


def find_separations(
    snap: Snapshot,
    cfg: TacticalSettings,
    out: CycleFindings,
    changed: IntArray | None = None,
    memory: SeparationMemory | None = None,
) -> None:
    """Separation findings of one cycle (strict and held).

    With ``changed`` (snapshot indices), the quick screen: only pairs with a
    changed track, and only strict findings (nothing is held or cleared by it).
    With ``memory`` (a cycle's), the widened runs are incremental (same findings).
    """
    n = len(snap)
    if n < 2:
        return
    numbers = memory.numbers(snap) if memory is not None and changed is None else None
    overridden = {
        k for k in cfg.pair_profiles if all(p in set(snap.party.tolist()) for p in k.split("|"))
    }
    is_manned = snap.category == "manned"

    def default_pair(i: int, j: int) -> bool:
        return pair_key(snap.keys[i][0], snap.keys[j][0]) not in overridden

    def run(
        name: str, idx: IntArray, profile: SeparationProfile, keep: Callable[[int, int], bool]
    ) -> None:
        if changed is not None:
            _run_quick(snap, idx, profile, changed, keep, out)
            return
        incremental = None
        if memory is not None and numbers is not None:
            mem, nums = memory, numbers

            def incremental(i: IntArray, p: SeparationProfile) -> ScreenResult:
                return mem.screen(name, snap, i, nums, p)

        _run(snap, idx, profile, cfg.clear_margin, keep, out, incremental)

    if is_manned.any():
        everyone = np.arange(n, dtype=np.int64)
        run(
            "manned",
            everyone,
            cfg.profiles["manned"],
            lambda i, j: bool(is_manned[i] or is_manned[j]) and default_pair(i, j),
        )
    drones = np.flatnonzero(~is_manned).astype(np.int64)
    run("uas", drones, cfg.profiles["uas"], default_pair)
    for key in sorted(overridden):
        a, b = key.split("|")
        members = np.flatnonzero((snap.party == a) | (snap.party == b)).astype(np.int64)
        run(key, members, cfg.pair_profiles[key], lambda i, j: True)


def find_intrusions(
    snap: Snapshot,
    cfg: TacticalSettings,
    index: StrategicIndex,
    addressed: Callable[[str, str], bool],
    out: CycleFindings,
) -> None:
    if len(snap) == 0 or len(index) == 0:
        return
    lookahead = np.array([cfg.profiles[c].lookahead_s for c in snap.category.tolist()])
    h_sep = np.array([cfg.profiles[c].h_sep_m for c in snap.category.tolist()])
    v_sep = np.array([cfg.profiles[c].v_sep_m for c in snap.category.tolist()])
    m = cfg.clear_margin
    common: dict[str, Any] = {
        "lat": snap.lat,
        "lon": snap.lon,
        "alt_m": snap.alt_m,
        "gs_mps": snap.gs_mps,
        "trk_deg": snap.trk_deg,
        "vs_mps": snap.vs_mps,
        "party": snap.party,
        "now": snap.t,
    }
    if cfg.intrusion:
        wide = screen_intrusions(
            index,
            **common,
            lookahead_s=lookahead * (1 + m),
            lateral_margin_m=float(h_sep.max()) * m,
            vertical_margin_m=float(v_sep.max()) * m,
        )
        for hit in wide:
            out.held.add(_intr_key(snap, hit.track, hit.notice.id))
        near = sorted({hit.track for hit in wide})
        if near:
            sub = np.asarray(near, dtype=np.int64)
            sub_common = _subset(common, sub)
            for hit in screen_intrusions(index, **sub_common, lookahead_s=lookahead[sub]):
                gi = int(sub[hit.track])
                party, track_id = snap.keys[gi]
                n = hit.notice
                out.strict.append(
                    Finding(
                        key=_intr_key(snap, gi, n.id),
                        kind="intrusion",
                        parties=(party, n.issuer),
                        severity="inside" if hit.inside_now else "predicted",
                        detail={
                            "track": _side(snap, gi),
                            "notice": {
                                "id": n.id,
                                "version": n.version,
                                "issuer": n.issuer,
                                "kind": n.kind,
                                "volume": hit.volume,
                                "addressed": addressed(n.id, party),
                            },
                            "inside_now": hit.inside_now,
                            "t_entry_s": hit.t_entry_s,
                            "lookahead_s": float(lookahead[gi]),
                        },
                        signature=(round(hit.t_entry_s / 10.0),),
                    )
                )
    opted = [p for p in cfg.nonconformance_parties if p in set(snap.party.tolist())]
    if opted:
        mine = np.flatnonzero(np.isin(snap.party, opted)).astype(np.int64)
        sub_common = _subset(common, mine)
        inside = {
            int(mine[h.track])
            for h in screen_intrusions(
                index, **sub_common, lookahead_s=np.zeros(len(mine)), own=True
            )
        }
        for gi in mine.tolist():
            if gi in inside:
                continue
            party, track_id = snap.keys[gi]
            key: AlertKey = ("nonconformance", party, track_id)
            out.held.add(key)
            out.strict.append(
                Finding(
                    key=key,
                    kind="nonconformance",
                    parties=(party,),
                    severity="outside",
                    detail={
                        "track": _side(snap, gi),
                        "reason": "outside every active notice volume of its own party",
                    },
                )
            )


def _subset(common: dict[str, Any], idx: IntArray) -> dict[str, Any]:
    return {k: (v[idx] if isinstance(v, np.ndarray) else v) for k, v in common.items()}


def _intr_key(snap: Snapshot, i: int, notice_id: str) -> AlertKey:
    party, track_id = snap.keys[i]
    return ("intrusion", party, track_id, notice_id)


def find_all(
    snap: Snapshot,
    cfg: TacticalSettings,
    index: StrategicIndex | None,
    addressed: Callable[[str, str], bool],
) -> CycleFindings:
    out = CycleFindings()
    find_separations(snap, cfg, out)
    if index is not None:
        find_intrusions(snap, cfg, index, addressed, out)
    return out


def take(snap: Snapshot, idx: IntArray) -> Snapshot:
    """The tracks ``idx`` of a snapshot, as a snapshot of their own."""
    rows = idx.tolist()
    return Snapshot(
        t=snap.t,
        keys=[snap.keys[i] for i in rows],
        states=[snap.states[i] for i in rows],
        party=snap.party[idx],
        category=snap.category[idx],
        lat=snap.lat[idx],
        lon=snap.lon[idx],
        alt_m=snap.alt_m[idx],
        gs_mps=snap.gs_mps[idx],
        trk_deg=snap.trk_deg[idx],
        vs_mps=snap.vs_mps[idx],
    )


def find_quick(
    snap: Snapshot,
    changed: IntArray,
    cfg: TacticalSettings,
    index: StrategicIndex | None,
    addressed: Callable[[str, str], bool],
) -> CycleFindings:
    """The quick screen of a few changed tracks against the whole picture.

    Separation: the pairs with a changed member, under the real minima.
    Intrusion (and nonconformance, when opted in): the changed tracks alone,
    since each is judged on its own. Only ``strict`` is meaningful: the quick
    screen raises and updates, it never holds or clears (the cycle's job).
    """
    out = CycleFindings()
    if len(changed) == 0:
        return out
    find_separations(snap, cfg, out, changed)
    if index is not None and (cfg.intrusion or cfg.nonconformance_parties):
        find_intrusions(take(snap, changed), cfg, index, addressed, out)
    out.held.clear()
    return out
