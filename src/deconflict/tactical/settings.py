"""Tactical settings: track limits, screening rate, separation profiles, alert policy.

Part of the one configuration object: `deconflict.config.Settings.tactical`, read
from the JSON object in the environment variable ``DECONFLICT_TACTICAL`` (with the
field names below) by `Settings.from_env`, or given as a mapping or a
`TacticalSettings` to `Settings`.

Separation profiles: ``manned`` (5 NM / 1,000 ft / 300 s) and ``uas`` (50 m /
15 m / 30 s) by default. A pair of tracks takes the profile of its more
demanding member (a drone near an airliner is screened with the manned
minima). ``pair_profiles`` overrides the profile for a pair of parties, e.g.
``{"coalition|russia": {"h_sep_m": 18520, "v_sep_m": 600, "lookahead_s": 600}}``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from deconflict.tactical import DRONE, MANNED, SeparationProfile
from deconflict.tactical.tracks import CATEGORIES, TrackLimits

__all__ = ["TacticalSettings", "TacticalSettingsError", "pair_key"]


class TacticalSettingsError(ValueError):
    """A tactical setting has a value the hub cannot run with."""


def pair_key(a: str, b: str) -> str:
    return "|".join(sorted((a, b)))


def _profile(doc: Any, where: str) -> SeparationProfile:
    if isinstance(doc, SeparationProfile):
        return doc
    if not isinstance(doc, Mapping):
        raise TacticalSettingsError(f"{where}: a profile is {{h_sep_m, v_sep_m, lookahead_s}}")
    try:
        p = SeparationProfile(
            float(doc["h_sep_m"]), float(doc["v_sep_m"]), float(doc["lookahead_s"])
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise TacticalSettingsError(f"{where}: {exc}") from exc
    if not (p.h_sep_m > 0 and p.v_sep_m > 0 and p.lookahead_s > 0):
        raise TacticalSettingsError(f"{where}: minima and lookahead must be > 0")
    return p


@dataclass(frozen=True)
class TacticalSettings:
    screen_interval_s: float = 1.0  # screening cycles per second = 1 / this
    # Quick screen: tracks whose reports changed their prediction are screened
    # against the whole picture at most this often (coalesced), between cycles,
    # so that a new conflict is raised without waiting for the next cycle.
    # 0 turns it off. It raises and updates alerts; only the cycle clears them.
    quick_interval_s: float = 0.05
    max_batch: int = 2000  # reports per POST (or WebSocket message); the rest are rejected
    limits: TrackLimits = field(default_factory=TrackLimits)
    profiles: Mapping[str, SeparationProfile] = field(
        default_factory=lambda: {"manned": MANNED, "uas": DRONE}
    )
    pair_profiles: Mapping[str, SeparationProfile] = field(default_factory=dict)
    # Hysteresis: clear after this many consecutive cycles clear of the minima
    # and lookahead widened by clear_margin (a fraction).
    clear_cycles: int = 3
    clear_margin: float = 0.2
    update_interval_s: float = 5.0
    escalate_after_s: float = 60.0  # alert_unacknowledged after this long without an ack
    share_pairs: frozenset[str] = frozenset()  # "a|b": these parties see each other's tracks
    nonconformance_parties: frozenset[str] = frozenset()  # opted in
    intrusion: bool = True
    # Incremental cycles (issue 19): between full passes at most full_interval_s
    # apart, a cycle screens outright only the tracks that strayed from their path
    # at the last full pass by more than incremental_tolerance of each minimum,
    # and re-tests the pairs that pass held; the answers are a full screen's (see
    # tactical.incremental). 0 makes every cycle a full screen.
    full_interval_s: float = 10.0
    incremental_tolerance: float = 0.1

    def __post_init__(self) -> None:
        if self.screen_interval_s <= 0 or self.update_interval_s < 0:
            raise TacticalSettingsError("screen_interval_s must be > 0 and update_interval_s >= 0")
        if not self.quick_interval_s >= 0:
            raise TacticalSettingsError("quick_interval_s must be >= 0 (0: no quick screen)")
        if self.max_batch < 1 or self.clear_cycles < 1 or self.clear_margin < 0:
            raise TacticalSettingsError(
                "max_batch and clear_cycles must be >= 1, clear_margin >= 0"
            )
        if self.escalate_after_s <= 0:
            raise TacticalSettingsError("escalate_after_s must be > 0")
        if not self.full_interval_s >= 0 or not 0 < self.incremental_tolerance <= 10:
            raise TacticalSettingsError(
                "full_interval_s must be >= 0 (0: every cycle a full screen), "
                "incremental_tolerance in (0, 10]"
            )
        if set(CATEGORIES) - set(self.profiles):
            raise TacticalSettingsError(f"profiles must define {', '.join(CATEGORIES)}")

    @classmethod
    def from_mapping(cls, doc: Mapping[str, Any]) -> TacticalSettings:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(doc) - names
        if unknown:
            raise TacticalSettingsError(f"unknown tactical settings: {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        for name, value in doc.items():
            if name == "limits":
                values[name] = (
                    value if isinstance(value, TrackLimits) else TrackLimits(**dict(value))
                )
            elif name == "profiles":
                merged = {"manned": MANNED, "uas": DRONE}
                merged.update({k: _profile(v, f"profiles.{k}") for k, v in value.items()})
                values[name] = merged
            elif name == "pair_profiles":
                values[name] = {
                    pair_key(*str(k).split("|", 1)): _profile(v, f"pair_profiles.{k}")
                    for k, v in value.items()
                }
            elif name == "share_pairs":
                values[name] = frozenset(
                    pair_key(*p) if not isinstance(p, str) else pair_key(*p.split("|", 1))
                    for p in value
                )
            elif name == "nonconformance_parties":
                values[name] = frozenset(value)
            else:
                values[name] = value
        return cls(**values)

    def profile_for(self, a: str, b: str, cat_a: str, cat_b: str) -> SeparationProfile:
        override = self.pair_profiles.get(pair_key(a, b))
        if override is not None:
            return override
        return self.profiles["manned" if "manned" in (cat_a, cat_b) else cat_a]

    def shares(self, a: str, b: str) -> bool:
        return pair_key(a, b) in self.share_pairs
