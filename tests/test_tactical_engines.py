"""The grid engine (compiled kernels over every core) against the single-core k-d tree engine.

They must give the same answer: the same pairs in the same order and, for each,
the same floating-point values, bit for bit up to the sign of a zero (both
engines' ``min``/``max`` may pick either zero). Only ``n_candidates``, a
diagnostic, differs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.tactical import DRONE, MANNED, ScreenResult, screen
from deconflict.tactical.frames import track_states
from deconflict.tactical.grid import narrow
from tests.test_tactical_screen import Scene, _destination, scenes

FloatArray = npt.NDArray[np.float64]
FIELDS = ("pairs", "t_los_s", "t_exit_s", "tcpa_s", "dcpa_m", "dist_m", "dalt_m", "bearing_deg")


def assert_same(grid: ScreenResult, ref: ScreenResult) -> None:
    for name in FIELDS:
        got, want = getattr(grid, name), getattr(ref, name)
        assert got.dtype == want.dtype and got.shape == want.shape, name
        # array_equal: NaN never occurs; -0.0 == 0.0 is the one latitude allowed
        assert np.array_equal(got, want), (name, np.flatnonzero(got != want)[:5])


def both(cols: Any, **kw: Any) -> tuple[ScreenResult, ScreenResult]:
    return screen(*cols, **kw, engine="grid"), screen(*cols, **kw, engine="kdtree")


@settings(max_examples=300, deadline=None)
@given(scenes(max_n=60), st.sampled_from([None, 1, 3, 17]), st.booleans(), st.data())
def test_engines_agree_on_random_scenes(
    scene: Scene, slices: int | None, by_party: bool, data: st.DataObject
) -> None:
    kw: dict[str, Any] = {
        "h_sep_m": scene.h,
        "v_sep_m": scene.v,
        "lookahead_s": scene.t,
        "slices": slices,
        "party": scene.party if by_party else None,
    }
    assert_same(*both(scene.cols, **kw))
    if scene.n:
        only = data.draw(st.lists(st.integers(0, scene.n - 1), max_size=8))
        assert_same(*both(scene.cols, **kw, only=np.asarray(only, dtype=np.int64)))


def _crowd(centre: tuple[float, float], n: int, radius_m: float, seed: int) -> list[FloatArray]:
    rng = np.random.default_rng(seed)
    lat, lon = _destination(*centre, rng.uniform(0, 360, n), radius_m * np.sqrt(rng.random(n)))
    lon = np.where((lon < 0) & (rng.random(n) < 0.5), lon + 360.0, lon)
    return [
        lat,
        lon,
        rng.uniform(8_000, 11_000, n),
        rng.uniform(120, 250, n),
        rng.uniform(0, 360, n),
        np.where(rng.random(n) < 0.2, rng.uniform(-15, 15, n), 0.0),
    ]


@pytest.mark.parametrize(
    "centre",
    [(50.0, 7.0), (60.0, 180.0), (89.8, 0.0), (-0.1, -179.9)],
    ids=["europe", "antimeridian", "pole", "equator-antimeridian"],
)
def test_engines_agree_on_dense_airliner_scenes(centre: tuple[float, float]) -> None:
    cols = _crowd(centre, 4_000, 400_000, 3)
    party = np.random.default_rng(4).integers(0, 5, 4_000)
    grid, ref = both(cols, **MANNED.as_kwargs(), party=party)
    assert len(ref) > 500
    assert_same(grid, ref)
    only = np.random.default_rng(5).choice(4_000, 300, replace=False)
    assert_same(*both(cols, **MANNED.as_kwargs(), party=party, only=only))


def test_engines_agree_on_a_city_of_drones_with_hovering_pairs() -> None:
    rng = np.random.default_rng(9)
    n = 30_000
    lat, lon = _destination(48.85, 2.35, rng.uniform(0, 360, n), 15_000 * np.sqrt(rng.random(n)))
    gs = np.where(rng.random(n) < 0.1, 0.0, rng.uniform(5, 20, n))
    cols = [lat, lon, rng.uniform(10, 120, n), gs, rng.uniform(0, 360, n), np.zeros(n)]
    # identical tracks (relative speed exactly zero) and tracks exactly at a minimum
    cols = [np.concatenate([c, c[:50]]) for c in cols]
    grid, ref = both(cols, **DRONE.as_kwargs())
    assert len(ref) > 1_000
    assert_same(grid, ref)


def test_a_whole_globe_of_traffic_agrees() -> None:
    # Tracks everywhere: the grid's axes are arbitrary, its cells coarsened to
    # the cap; still the same answer.
    rng = np.random.default_rng(12)
    n = 20_000
    cols = [
        np.degrees(np.arcsin(rng.uniform(-1, 1, n))),
        rng.uniform(-180, 180, n),
        rng.uniform(0, 12_000, n),
        rng.uniform(0, 300, n),
        rng.uniform(0, 360, n),
        rng.uniform(-10, 10, n),
    ]
    assert_same(*both(cols, **MANNED.as_kwargs()))


def test_narrow_over_given_pairs_is_the_screens_test() -> None:
    cols = _crowd((50.0, 7.0), 2_000, 200_000, 8)
    ref = screen(*cols, **MANNED.as_kwargs(), engine="kdtree")
    tr = track_states(
        cols[0], cols[1], alt_m=cols[2], gs_mps=cols[3], trk_deg=cols[4], vs_mps=cols[5]
    )
    i, j = np.triu_indices(2_000, k=1)
    gi, gj, start, end = narrow(
        tr,
        i.astype(np.int64),
        j.astype(np.int64),
        h_sep=MANNED.h_sep_m,
        v_sep=MANNED.v_sep_m,
        horizon=MANNED.lookahead_s,
    )
    assert np.array_equal(np.column_stack([gi, gj]), ref.pairs)
    assert np.array_equal(start, ref.t_los_s) and np.array_equal(end, ref.t_exit_s)


def test_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="engine"):
        screen([0.0], [0.0], [0.0], [0.0], [0.0], [0.0], **MANNED.as_kwargs(), engine="gpu")


@pytest.mark.parametrize("workers", [2, 3, 8])
def test_track_states_in_parts_are_bit_identical(workers: int) -> None:
    """States computed in parts on several threads equal one pass, bit for bit."""
    rng = np.random.default_rng(19)
    n = 100_003  # parts of unequal, odd lengths
    lat = rng.uniform(-90.0, 90.0, n)
    lat[:4] = [-90.0, 90.0, 0.0, -0.0]
    lon = rng.uniform(-180.0, 180.0, n)
    alt = rng.uniform(-100.0, 12_000.0, n)
    gs = rng.uniform(0.0, 300.0, n)
    trk = rng.uniform(0.0, 360.0, n)
    vs = rng.uniform(-20.0, 20.0, n)
    one = track_states(lat, lon, alt_m=alt, gs_mps=gs, trk_deg=trk, vs_mps=vs)
    parts = track_states(lat, lon, alt_m=alt, gs_mps=gs, trk_deg=trk, vs_mps=vs, workers=workers)
    for name in ("x", "y", "z", "ux", "uy", "uz", "vx", "vy", "vz", "alt", "vs", "gs"):
        a, b = getattr(one, name), getattr(parts, name)
        assert a.dtype == b.dtype == np.float64 and a.shape == b.shape == (n,), name
        assert np.array_equal(a.view(np.int64), b.view(np.int64)), name


@pytest.mark.parametrize("ratio", [1e-9, 0.01, 0.3, 2.0])
def test_grid_pairs_with_guessed_room_match_the_counted_pass(ratio: float) -> None:
    """Rows given too little room (searched again) or too much find the counted pass's pairs."""
    from deconflict.tactical import kernels
    from deconflict.tactical.grid import _axes, _grid, track_tuple

    rng = np.random.default_rng(7)
    n = 3_000  # dense: ~1 km square, so most rows overflow a small room
    lat = 48.85 + rng.uniform(0.0, 0.01, n)
    lon = 2.35 + rng.uniform(0.0, 0.014, n)
    tr = track_states(
        lat,
        lon,
        alt_m=rng.uniform(10.0, 120.0, n),
        gs_mps=rng.uniform(0.0, 20.0, n),
        trk_deg=rng.uniform(0.0, 360.0, n),
        vs_mps=rng.uniform(-3.0, 3.0, n),
    )
    arrays = track_tuple(tr)
    x, y, z, _, _, _, vx, vy, vz, alt, vs = arrays
    e1, e2 = _axes(tr)
    radius = 120.0
    pts, gx, gy = kernels.slice_points(
        x, y, z, vx, vy, vz, alt, vs, 7.5, 2.0, e1, e2, np.empty((n, 4), dtype=np.float64)
    )
    grid = _grid(gx, gy, radius, n)
    _, starts, order = kernels.bin_points(
        gx, gy, *grid, np.empty(grid[3] * grid[4] + 1, dtype=np.int64)
    )
    args = (
        starts,
        order,
        grid[3],
        grid[4],
        pts,
        radius * radius,
        np.zeros(0, dtype=np.int64),
        np.arange(n, dtype=np.int64),
        arrays,
        DRONE.h_sep_m,
        DRONE.v_sep_m,
        DRONE.lookahead_s,
        DRONE.v_sep_m * (1.0 + 1e-9) + 1e-9,
    )
    counted = kernels.grid_pairs(*args, 0.0)
    guessed = kernels.grid_pairs(*args, ratio)
    assert counted[4] > 64 * grid[3]  # more candidates than the smallest room holds
    assert counted[0].shape[0] > 100
    for a, b in zip(counted, guessed, strict=True):
        assert np.array_equal(np.asarray(a), np.asarray(b))
