"""Incremental screening cycles against a full screen of the same arrays, cycle by cycle.

The guarantee the service relies on: no conflict a full screen finds is missed
for longer than one full-pass interval. What is checked here is stronger:
every cycle, full pass or not, returns exactly the rows and values a full
screen of that cycle's arrays returns, while the scene evolves as traffic does
(tracks flying on along great circles, manoeuvring, jittering around their
paths, appearing, disappearing, changing hands), and no two full passes are
further apart than the interval.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.tactical import DRONE, MANNED, screen
from deconflict.tactical.incremental import IncrementalScreen
from tests.test_tactical_engines import assert_same
from tests.test_tactical_screen import Scene, _destination, lon_east_on_equator, scenes

FloatArray = npt.NDArray[np.float64]


class Traffic:
    """A scene that moves: each cycle tracks fly on, and some change what they do."""

    def __init__(self, cols: list[FloatArray], party: list[int], rng: np.random.Generator):
        self.cols = [np.asarray(c, dtype=np.float64).copy() for c in cols]
        self.ids = np.arange(len(cols[0]), dtype=np.int64)
        self.party = np.asarray(party, dtype=np.int64).reshape(-1)
        self.rng = rng
        self.next_id = len(cols[0])

    def advance(self, dt: float, manoeuvre: float, jitter_m: float, churn: float) -> None:
        lat, lon, alt, gs, trk, vs = self.cols
        n = lat.shape[0]
        if n:
            lat, lon = _destination_many(lat, lon, trk, gs * dt)
            alt = np.clip(alt + vs * dt, -1000.0, 40_000.0)
            # position noise, as a report would have
            jl, jo = _destination_many(
                lat, lon, self.rng.uniform(0, 360, n), jitter_m * self.rng.random(n)
            )
            noisy = self.rng.random(n) < 0.5
            lat, lon = np.where(noisy, jl, lat), np.where(noisy, jo, lon)
            turn = self.rng.random(n) < manoeuvre
            trk = np.where(turn, self.rng.uniform(0, 360, n), trk)
            gs = np.where(turn & (self.rng.random(n) < 0.5), self.rng.uniform(0, 300, n), gs)
            vs = np.where(turn & (self.rng.random(n) < 0.3), self.rng.uniform(-20, 20, n), vs)
            handover = self.rng.random(n) < churn / 4
            self.party = np.where(handover, self.rng.integers(0, 3, n), self.party)
        cols = [lat, lon, alt, gs, trk, vs]
        # some tracks end, some start (near others, so that they conflict)
        stay = self.rng.random(n) >= churn
        cols = [c[stay] for c in cols]
        self.ids, self.party = self.ids[stay], self.party[stay]
        born = int(self.rng.binomial(max(n, 4), churn)) if churn else 0
        if born and cols[0].shape[0]:
            src = self.rng.integers(0, cols[0].shape[0], born)
            nl, no = _destination_many(
                cols[0][src],
                cols[1][src],
                self.rng.uniform(0, 360, born),
                3_000.0 * self.rng.random(born),
            )
            new = [
                nl,
                no,
                cols[2][src] + self.rng.uniform(-200, 200, born),
                cols[3][src],
                self.rng.uniform(0, 360, born),
                cols[5][src],
            ]
            cols = [np.concatenate([c, x]) for c, x in zip(cols, new, strict=True)]
            self.ids = np.concatenate([self.ids, self.next_id + np.arange(born)])
            self.party = np.concatenate([self.party, self.rng.integers(0, 3, born)])
            self.next_id += born
        # report order is arbitrary from one cycle to the next
        perm = self.rng.permutation(cols[0].shape[0])
        self.cols = [c[perm] for c in cols]
        self.ids, self.party = self.ids[perm], self.party[perm]


def _destination_many(lat: Any, lon: Any, bearing: Any, dist: Any) -> tuple[FloatArray, FloatArray]:
    r = 6_371_000.0
    p0, l0 = np.radians(lat), np.radians(lon)
    b, ang = np.radians(bearing), np.asarray(dist) / r
    p1 = np.arcsin(np.clip(np.sin(p0) * np.cos(ang) + np.cos(p0) * np.sin(ang) * np.cos(b), -1, 1))
    l1 = l0 + np.arctan2(
        np.sin(b) * np.sin(ang) * np.cos(p0), np.cos(ang) - np.sin(p0) * np.sin(p1)
    )
    return np.clip(np.degrees(p1), -90, 90), (np.degrees(l1) + 180.0) % 360.0 - 180.0


def run_cycles(
    traffic: Traffic,
    inc: IncrementalScreen,
    *,
    cycles: int,
    dt: float,
    by_party: bool,
    **motion: float,
) -> list[bool]:
    fulls = []
    for c in range(cycles):
        if c:
            traffic.advance(dt, **motion)
        party = traffic.party if by_party else None
        got, stats = inc.step(c * dt, traffic.ids, *traffic.cols, party=party)
        want = screen(
            *traffic.cols,
            h_sep_m=inc.h_sep,
            v_sep_m=inc.v_sep,
            lookahead_s=inc.horizon,
            party=party,
        )
        assert_same(got, want)
        assert stats.tracks == traffic.cols[0].shape[0]
        fulls.append(stats.full)
    return fulls


@settings(max_examples=120, deadline=None)
@given(
    scenes(max_n=50),
    st.sampled_from([2.0, 5.0, 10.0]),
    st.sampled_from([0.0, 0.02, 0.2]),
    st.sampled_from([0.0, 5.0, 200.0]),
    st.sampled_from([0.0, 0.05]),
    st.sampled_from([0.05, 0.1, 0.3]),
    st.booleans(),
    st.integers(0, 2**32 - 1),
)
def test_every_cycle_equals_a_full_screen(
    scene: Scene,
    interval: float,
    manoeuvre: float,
    jitter_m: float,
    churn: float,
    tolerance: float,
    by_party: bool,
    seed: int,
) -> None:
    inc = IncrementalScreen(
        h_sep_m=scene.h,
        v_sep_m=scene.v,
        lookahead_s=scene.t,
        full_interval_s=interval,
        tolerance=tolerance,
    )
    traffic = Traffic(scene.cols, scene.party, np.random.default_rng(seed))
    fulls = run_cycles(
        traffic,
        inc,
        cycles=14,
        dt=1.0,
        by_party=by_party,
        manoeuvre=manoeuvre,
        jitter_m=jitter_m,
        churn=churn,
    )
    _assert_full_passes_within(fulls, dt=1.0, interval=interval)


def _assert_full_passes_within(fulls: list[bool], *, dt: float, interval: float) -> None:
    assert fulls[0]
    last = 0
    for c, full in enumerate(fulls):
        if full:
            last = c
        assert (c - last) * dt <= interval


@pytest.mark.parametrize("profile", [MANNED, DRONE], ids=["manned", "drones"])
def test_a_busy_picture_is_screened_incrementally_and_exactly(profile: Any) -> None:
    # Airliners over Europe or drones over a city, 1 Hz reports, 1 % manoeuvring
    # per second: most cycles screen a few hundred tracks against the rest.
    rng = np.random.default_rng(21)
    n = 6_000
    spread = 600_000.0 if profile is MANNED else 8_000.0
    lat, lon = _destination(50.0, 8.0, rng.uniform(0, 360, n), spread * np.sqrt(rng.random(n)))
    fast = 250.0 if profile is MANNED else 20.0
    cols = [
        lat,
        lon,
        rng.uniform(0, 12_000, n) if profile is MANNED else rng.uniform(10, 120, n),
        rng.uniform(0.5 * fast, fast, n),
        rng.uniform(0, 360, n),
        np.where(rng.random(n) < 0.2, rng.uniform(-5, 5, n), 0.0),
    ]
    inc = IncrementalScreen(**profile.as_kwargs(), full_interval_s=10.0)
    traffic = Traffic(cols, list(rng.integers(0, 4, n)), rng)
    changed = []
    for c in range(12):
        if c:
            traffic.advance(1.0, manoeuvre=0.01, jitter_m=0.01 * profile.h_sep_m, churn=0.002)
        got, stats = inc.step(float(c), traffic.ids, *traffic.cols, party=traffic.party)
        want = screen(*traffic.cols, **profile.as_kwargs(), party=traffic.party)
        assert_same(got, want)
        if not stats.full:
            changed.append(stats.changed)
    assert len(want) > 20
    assert changed and max(changed) < n / 4  # the point of it


def test_a_manoeuvre_into_conflict_is_found_in_the_same_cycle() -> None:
    # An aircraft flying north 40 km west of a hovering one (no conflict) turns
    # towards it between full passes.
    lon_b = lon_east_on_equator(40_000)
    inc = IncrementalScreen(**MANNED.as_kwargs(), full_interval_s=30.0)
    ids = np.array([7, 9])
    cols: list[list[float]] = [[0, 0], [0, lon_b], [9_000, 9_000], [200, 0], [0, 0], [0, 0]]
    r, stats = inc.step(0.0, ids, *cols)
    assert stats.full and len(r) == 0
    cols[4] = [90.0, 0.0]  # aircraft 7 turns east, towards 9
    r, stats = inc.step(1.0, ids, *cols)
    assert not stats.full and stats.changed == 1 and len(r) == 1


def test_a_conflict_entering_the_lookahead_is_found_without_a_full_pass() -> None:
    # Head-on, loss of separation 5 s beyond the lookahead at the full pass: the
    # held pair brings it in as soon as it is within the lookahead.
    h, look, gs = MANNED.h_sep_m, MANNED.lookahead_s, 200.0
    gap0 = h + 2 * gs * (look + 5.0)
    inc = IncrementalScreen(**MANNED.as_kwargs(), full_interval_s=20.0)
    seen = []
    for c in range(10):
        gap = gap0 - 2 * gs * c
        cols = [[0, 0], [0, lon_east_on_equator(gap)], [9_000, 9_000], [gs, gs], [90, 270], [0, 0]]
        r, stats = inc.step(float(c), np.array([1, 2]), *cols)
        assert stats.full == (c == 0)
        assert len(r) == len(screen(*cols, **MANNED.as_kwargs()))
        seen.append(len(r))
    assert seen[:5] == [0, 0, 0, 0, 0] and seen[7:] == [1, 1, 1]


def test_a_full_pass_at_least_every_interval_and_on_going_back_in_time() -> None:
    inc = IncrementalScreen(**DRONE.as_kwargs(), full_interval_s=3.0)
    cols = [[48.0], [2.0], [50.0], [10.0], [0.0], [0.0]]
    fulls = [inc.step(t, [1], *cols)[1].full for t in (0.0, 1.0, 2.0, 3.0, 3.5, 4.0, 7.1, 6.0)]
    assert fulls == [True, False, False, False, True, False, True, True]
    assert inc.last_full_pass == 6.0


@pytest.mark.parametrize(
    ("ids", "message"),
    [([1, 1], "unique"), ([1.5, 2.0], "integers"), ([1], "integers")],
)
def test_bad_ids_are_refused(ids: list[float], message: str) -> None:
    inc = IncrementalScreen(**DRONE.as_kwargs())
    cols = [[48.0, 48.0], [2.0, 2.0001], [50.0, 50.0], [1.0, 1.0], [0.0, 0.0], [0.0, 0.0]]
    with pytest.raises(ValueError, match=message):
        inc.step(0.0, ids, *cols)
    if message == "unique":  # also on an incremental cycle
        inc.step(0.0, [1, 2], *cols)
        with pytest.raises(ValueError, match=message):
            inc.step(1.0, ids, *cols)


def test_bad_arrays_are_refused_on_incremental_cycles_too() -> None:
    inc = IncrementalScreen(**DRONE.as_kwargs())
    inc.step(0.0, [1], [48.0], [2.0], [50.0], [1.0], [0.0], [0.0])
    with pytest.raises(ValueError, match="lat"):
        inc.step(1.0, [1], [91.0], [2.0], [50.0], [1.0], [0.0], [0.0])
    with pytest.raises(ValueError, match="lon has length"):
        inc.step(1.0, [1], [48.0], [2.0, 3.0], [50.0], [1.0], [0.0], [0.0])
    with pytest.raises(ValueError, match="t must be finite"):
        inc.step(math.nan, [1], [48.0], [2.0], [50.0], [1.0], [0.0], [0.0])
