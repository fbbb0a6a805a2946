"""deconflict.tactical.screen: hand-computed encounters, bad input, and properties.

The properties compare the vectorised screen with a brute-force reference that
walks every pair in plain Python, written independently from the library from
the model's definition: ground points on WGS-84, the pair's horizontal plane
perpendicular to the mean of the two geodetic verticals, straight-line motion,
closed intervals.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.tactical import DRONE, MANNED, ScreenResult, SeparationProfile, screen
from deconflict.tactical.profiles import ScreenKwargs

FloatArray = npt.NDArray[np.float64]

A = 6378137.0
F = 1 / 298.257223563
E2 = F * (2 - F)
NM = 1852.0
H_MANNED = 5 * NM
V_MANNED = 304.8


def scr(tracks: list[list[Any]], **kw: Any) -> ScreenResult:
    """Screen rows of (lat, lon, alt, gs, trk, vs) with the MANNED profile unless overridden."""
    cols = np.array(tracks, dtype=np.float64).reshape(-1, 6).T
    args: dict[str, Any] = {**MANNED.as_kwargs(), **kw}
    return screen(*cols, **args)


def pair_set(result: ScreenResult) -> set[tuple[int, int]]:
    return {(int(i), int(j)) for i, j in result.pairs}


def lon_east_on_equator(metres: float) -> float:
    """Longitude whose ground point is ``metres`` (chord) east of (0, 0)."""
    return math.degrees(2 * math.asin(metres / (2 * A)))


def lat_north_on_meridian(metres: float) -> float:
    """Latitude about ``metres`` north of the equator (meridional radius at 0)."""
    return math.degrees(metres / (A * (1 - E2)))


# -- hand-computed encounters ------------------------------------------------


def test_head_on() -> None:
    # 20 km apart on the equator, closing at 2 x 200 m/s, same level.
    r = scr([[0, 0, 10_000, 200, 90, 0], [0, lon_east_on_equator(20_000), 10_000, 200, 270, 0]])
    assert pair_set(r) == {(0, 1)}
    assert r.t_los_s[0] == pytest.approx((20_000 - H_MANNED) / 400, rel=1e-4)
    assert r.t_exit_s[0] == pytest.approx((20_000 + H_MANNED) / 400, rel=1e-4)
    assert r.tcpa_s[0] == pytest.approx(50, rel=1e-4)
    assert r.dcpa_m[0] == pytest.approx(0, abs=1e-3)
    assert r.dist_m[0] == pytest.approx(20_000, rel=1e-6)
    assert r.bearing_deg[0] == pytest.approx(90, abs=1e-6)
    assert r.dalt_m[0] == 0


def test_crossing_at_right_angles() -> None:
    # One from 20 km south heading north, one from 20 km west heading east:
    # both reach (0, 0) at t = 100 s; their distance is sqrt(2) |20 km - 200 t|.
    south = -lat_north_on_meridian(20_000)
    west = -lon_east_on_equator(20_000)
    r = scr([[south, 0, 3_000, 200, 0, 0], [0, west, 3_000, 200, 90, 0]])
    assert pair_set(r) == {(0, 1)}
    half = H_MANNED / (200 * math.sqrt(2))
    assert r.t_los_s[0] == pytest.approx(100 - half, rel=1e-3)
    assert r.t_exit_s[0] == pytest.approx(100 + half, rel=1e-3)
    assert r.tcpa_s[0] == pytest.approx(100, rel=1e-3)
    assert r.dcpa_m[0] < 30
    # seen from the southern track, the other is to the north-west
    assert r.bearing_deg[0] == pytest.approx(315, abs=0.1)


def _parallel_on_equator(half_lon: float, trk: float) -> list[list[float]]:
    return [[0, -half_lon, 5_000, 150, trk, 0], [0, half_lon, 5_000, 150, trk, 0]]


def _equator_chord(half_lon: float) -> float:
    # The same arithmetic as the library's ECEF conversion at latitude 0, so the
    # distance is the library's to the last bit (the points are symmetric).
    y = A * np.sin(np.radians(np.array([half_lon])))
    return float(y[0] - (-y[0]))


def test_parallel_at_exact_minimum_is_a_conflict() -> None:
    half_lon = lon_east_on_equator(H_MANNED) / 2
    h = _equator_chord(half_lon)
    # Heading north on the equator the two velocity vectors are identical in ECEF.
    r = scr(_parallel_on_equator(half_lon, 0), h_sep_m=h)
    assert pair_set(r) == {(0, 1)}
    assert r.t_los_s[0] == 0
    assert r.t_exit_s[0] == math.inf
    assert r.dist_m[0] == h
    assert r.tcpa_s[0] == 0
    just_inside = scr(_parallel_on_equator(half_lon, 0), h_sep_m=float(np.nextafter(h, 0)))
    assert len(just_inside) == 0
    # Heading east the velocities differ by the tangent planes' tilt only.
    assert pair_set(scr(_parallel_on_equator(half_lon, 90), h_sep_m=h)) == {(0, 1)}


def test_vertical_minimum_is_closed_too() -> None:
    rows: list[list[float]] = [[10, 20, 0.0, 100, 45, 0], [10, 20, 304.8, 100, 45, 0]]
    assert pair_set(scr(rows, v_sep_m=304.8)) == {(0, 1)}
    assert len(scr(rows, v_sep_m=float(np.nextafter(304.8, 0)))) == 0


def test_identical_velocities_inside_and_outside() -> None:
    # Same longitude, so east is the same ECEF vector for both: no relative motion.
    lat_step = lat_north_on_meridian(5_000)
    inside: list[list[float]] = [[0, 30, 8_000, 230, 90, 2.5], [lat_step, 30, 8_100, 230, 90, 2.5]]
    r = scr(inside)
    assert pair_set(r) == {(0, 1)}
    assert r.t_los_s[0] == 0 and r.t_exit_s[0] == math.inf and r.tcpa_s[0] == 0
    assert r.dcpa_m[0] == pytest.approx(r.dist_m[0])
    far: list[list[float]] = [[0, 30, 8_000, 230, 90, 2.5], [4 * lat_step, 30, 8_000, 230, 90, 2.5]]
    assert len(scr(far, lookahead_s=1e6)) == 0
    # same place, different levels, same velocity: vertical decides alone
    stacked: list[list[float]] = [[45, 7, 8_000, 230, 123, 0], [45, 7, 8_400, 230, 123, 0]]
    assert len(scr(stacked, lookahead_s=1e6)) == 0
    stacked[1][2] = 8_200
    assert pair_set(scr(stacked)) == {(0, 1)}


def test_nearly_identical_velocities_raise_no_warning() -> None:
    gs = 230.0
    rows: list[list[float]] = [
        [0, 30, 8_000, gs, 90, 0],
        [0.01, 30, 8_000, float(np.nextafter(gs, 300)), 90, 1e-300],
    ]
    assert pair_set(scr(rows)) == {(0, 1)}


def test_stationary_pairs() -> None:
    near: list[list[float]] = [[50, 8, 100, 0, 0, 0], [50.01, 8, 110, 0, 270, 0]]
    r = scr(near, **{**DRONE.as_kwargs(), "h_sep_m": 2_000})
    assert pair_set(r) == {(0, 1)} and r.t_exit_s[0] == math.inf
    assert len(scr(near, **DRONE.as_kwargs())) == 0
    # a stationary track and one flying at it from 1 km at 20 m/s
    lat_km = lat_north_on_meridian(1_000)
    r = scr([[0, 0, 50, 0, 0, 0], [lat_km, 0, 50, 20, 180, 0]], **DRONE.as_kwargs())
    assert len(r) == 0  # (1000 - 50) / 20 = 47.5 s, beyond 30 s
    r = scr(
        [[0, 0, 50, 0, 0, 0], [lat_km, 0, 50, 20, 180, 0]], h_sep_m=50, v_sep_m=15, lookahead_s=60
    )
    assert r.t_los_s[0] == pytest.approx(47.5, rel=1e-3)


def test_very_slow_convergence_still_counts() -> None:
    # 1 mm/s closing from 50.5 m: a 50 m minimum is reached after 500 s.
    lat_off = lat_north_on_meridian(50.5)
    rows: list[list[float]] = [[0, 0, 50, 0, 0, 0], [lat_off, 0, 50, 0.001, 180, 0]]
    r = scr(rows, h_sep_m=50, v_sep_m=15, lookahead_s=600)
    assert pair_set(r) == {(0, 1)}
    assert r.t_los_s[0] == pytest.approx(500, rel=1e-3)
    assert len(scr(rows, h_sep_m=50, v_sep_m=15, lookahead_s=499)) == 0


def test_already_lost_separation_diverging() -> None:
    r = scr([[0, 0, 1_000, 200, 270, 0], [0, lon_east_on_equator(3_000), 1_100, 200, 90, 0]])
    assert pair_set(r) == {(0, 1)}
    assert r.t_los_s[0] == 0
    assert r.t_exit_s[0] == pytest.approx((H_MANNED - 3_000) / 400, rel=1e-4)
    assert r.tcpa_s[0] == 0 and r.dcpa_m[0] == pytest.approx(3_000, rel=1e-6)
    assert r.dalt_m[0] == pytest.approx(100)


def test_vertical_only_convergence() -> None:
    # Same ground point and velocity, 1,000 m apart vertically, closing at 10 m/s.
    r = scr([[35, 36, 1_000, 120, 10, 5], [35, 36, 2_000, 120, 10, -5]])
    assert pair_set(r) == {(0, 1)}
    assert r.t_los_s[0] == pytest.approx((1_000 - V_MANNED) / 10)
    assert r.t_exit_s[0] == pytest.approx((1_000 + V_MANNED) / 10)
    assert r.dcpa_m[0] == 0 and r.tcpa_s[0] == 0


def test_conflict_beyond_lookahead_is_not_reported() -> None:
    rows: list[list[float]] = [
        [0, 0, 10_000, 200, 90, 0],
        [0, lon_east_on_equator(20_000), 10_000, 200, 270, 0],
    ]
    t_los = float(scr(rows).t_los_s[0])
    assert len(scr(rows, lookahead_s=t_los - 1e-3)) == 0
    assert len(scr(rows, lookahead_s=t_los)) == 1
    # a vertical loss alone, later than the horizontal one ends, is no conflict
    rows[1][2] = 12_000
    rows[1][5] = -10
    assert len(scr(rows, lookahead_s=1e4)) == 0


def test_lookahead_zero_reports_present_losses_only() -> None:
    rows: list[list[float]] = [
        [0, 0, 1_000, 200, 90, 0],
        [0, lon_east_on_equator(9_000), 1_000, 200, 270, 0],
    ]
    assert pair_set(scr(rows, lookahead_s=0)) == {(0, 1)}
    rows[1][1] = lon_east_on_equator(9_500)
    assert len(scr(rows, lookahead_s=0)) == 0


def test_antimeridian_pair_matches_the_same_pair_at_greenwich() -> None:
    d = lon_east_on_equator(15_000) / 2
    east, west = 180 - d, -180 + d
    across = scr([[10, east, 9_000, 220, 90, 0], [10, west, 9_000, 220, 270, 0]])
    here = scr([[10, -d, 9_000, 220, 90, 0], [10, d, 9_000, 220, 270, 0]])
    assert pair_set(across) == pair_set(here) == {(0, 1)}
    assert across.t_los_s[0] == pytest.approx(here.t_los_s[0], rel=1e-9)
    assert across.dist_m[0] == pytest.approx(here.dist_m[0], rel=1e-9)
    assert across.dist_m[0] < 15_000  # not 360 degrees apart
    # the short way, slightly north of east (a parallel is not a great circle)
    assert across.bearing_deg[0] == pytest.approx(here.bearing_deg[0], abs=1e-6)
    assert 89.9 < across.bearing_deg[0] < 90


def test_pair_crossing_the_north_pole() -> None:
    # At 89.5N on opposite meridians, both heading north: head-on over the pole.
    phi = math.radians(89.5)
    n = A / math.sqrt(1 - E2 * math.sin(phi) ** 2)
    gap = 2 * n * math.cos(phi)  # about 111.7 km
    closing = 2 * 250 * math.sin(phi)
    r = scr([[89.5, 0, 11_000, 250, 0, 0], [89.5, 180, 11_000, 250, 0, 0]])
    assert pair_set(r) == {(0, 1)}
    assert r.dist_m[0] == pytest.approx(gap, rel=1e-9)
    assert r.t_los_s[0] == pytest.approx((gap - H_MANNED) / closing, rel=1e-9)
    assert r.tcpa_s[0] == pytest.approx(gap / closing, rel=1e-9)
    assert r.bearing_deg[0] == pytest.approx(0, abs=1e-6)
    # Flying away from each other instead: no conflict, though |dlon| = 180.
    assert len(scr([[89.5, 0, 11_000, 250, 180, 0], [89.5, 180, 11_000, 250, 180, 0]])) == 0
    # Same geometry rotated about the axis: same answer.
    rot = scr([[89.5, 137, 11_000, 250, 0, 0], [89.5, -43, 11_000, 250, 0, 0]])
    assert rot.t_los_s[0] == pytest.approx(r.t_los_s[0], rel=1e-9)


def test_party_filter() -> None:
    rows: list[list[float]] = [
        [0, 0, 1_000, 0, 0, 0],
        [0, 0.01, 1_000, 0, 0, 0],
        [0, 0.02, 1_000, 0, 0, 0],
    ]
    assert pair_set(scr(rows)) == {(0, 1), (0, 2), (1, 2)}
    assert pair_set(scr(rows, party=["red", "red", "blue"])) == {(0, 2), (1, 2)}
    assert pair_set(scr(rows, party=np.array([7, 8, 7]))) == {(0, 1), (1, 2)}
    assert len(scr(rows, party=["x", "x", "x"])) == 0


def test_only_keeps_the_pairs_touching_the_subset() -> None:
    rows: list[list[float]] = [
        [0, 0, 1_000, 0, 0, 0],
        [0, 0.01, 1_000, 0, 0, 0],
        [0, 0.02, 1_000, 0, 0, 0],
        [0, 0.03, 1_000, 0, 0, 0],
    ]
    assert pair_set(scr(rows, only=[2])) == {(0, 2), (1, 2), (2, 3)}
    assert pair_set(scr(rows, only=np.array([3, 0, 3]))) == {(0, 1), (0, 2), (0, 3), (1, 3), (2, 3)}
    assert pair_set(scr(rows, only=[1], party=["a", "a", "b", "b"])) == {(1, 2), (1, 3)}
    assert len(scr(rows, only=[])) == 0
    assert len(scr(rows[:1], only=[0])) == 0
    # A lookahead long enough for the all-pairs fallback gives the same answer.
    far = scr(rows, only=[2], lookahead_s=1e9)
    assert pair_set(far) == {(0, 2), (1, 2), (2, 3)}


def test_result_shapes_for_empty_and_single_inputs() -> None:
    for rows in ([], [[0, 0, 0, 0, 0, 0]]):
        r = scr(rows)
        assert r.pairs.shape == (0, 2) and r.pairs.dtype == np.int64
        assert len(r) == 0 and r.t_los_s.shape == (0,)


def test_result_is_frozen_and_profiles_are_exact() -> None:
    r = scr([[0, 0, 0, 0, 0, 0]])
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.pairs = np.zeros((0, 2), dtype=np.int64)  # type: ignore[misc]
    assert SeparationProfile(9260.0, 304.8, 300.0) == MANNED
    assert SeparationProfile(50.0, 15.0, 30.0) == DRONE


@pytest.mark.parametrize(
    ("change", "name"),
    [
        ({"lon": [0.0]}, "lon"),
        ({"alt_m": [0.0, math.nan]}, "alt_m"),
        ({"gs_mps": [0.0, math.inf]}, "gs_mps"),
        ({"gs_mps": [0.0, -1.0]}, "gs_mps"),
        ({"trk_deg": ["north", "south"]}, "trk_deg"),
        ({"vs_mps": [[0.0, 0.0]]}, "vs_mps"),
        ({"lat": [0.0, 91.0]}, "lat"),
        ({"lon": [0.0, 400.0]}, "lon"),
        ({"h_sep_m": -1.0}, "h_sep_m"),
        ({"v_sep_m": math.nan}, "v_sep_m"),
        ({"lookahead_s": math.inf}, "lookahead_s"),
        ({"lookahead_s": "soon"}, "lookahead_s"),
        ({"h_sep_m": True}, "h_sep_m"),
        ({"party": ["a"]}, "party"),
        ({"party": ["a", None]}, "party"),
        ({"only": [2]}, "only"),
        ({"only": [-1]}, "only"),
        ({"only": [0.0]}, "only"),
        ({"only": [True, False]}, "only"),
        ({"only": [[0]]}, "only"),
    ],
)
def test_bad_input_names_the_argument(change: dict[str, Any], name: str) -> None:
    args: dict[str, Any] = {
        "lat": [0.0, 0.0],
        "lon": [0.0, 0.01],
        "alt_m": [0.0, 0.0],
        "gs_mps": [0.0, 0.0],
        "trk_deg": [0.0, 0.0],
        "vs_mps": [0.0, 0.0],
        **MANNED.as_kwargs(),
        **change,
    }
    pos = [args.pop(k) for k in ("lat", "lon", "alt_m", "gs_mps", "trk_deg", "vs_mps")]
    with pytest.raises(ValueError, match=name):
        screen(*pos, **args)


# -- brute-force reference -----------------------------------------------------


Vec = tuple[float, float, float]


def _dot(a: Vec, b: Vec) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _sub(a: Vec, b: Vec) -> Vec:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def _unit(a: Vec) -> Vec:
    n = math.sqrt(_dot(a, a))
    return (a[0] / n, a[1] / n, a[2] / n)


def _cross(a: Vec, b: Vec) -> Vec:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def _ground_and_velocity(lat: float, lon: float, gs: float, trk: float) -> tuple[Vec, Vec, Vec]:
    p, lam, t = math.radians(lat), math.radians(lon), math.radians(trk)
    n = A / math.sqrt(1 - E2 * math.sin(p) ** 2)
    ground = (
        n * math.cos(p) * math.cos(lam),
        n * math.cos(p) * math.sin(lam),
        n * (1 - E2) * math.sin(p),
    )
    up = (math.cos(p) * math.cos(lam), math.cos(p) * math.sin(lam), math.sin(p))
    east = (-math.sin(lam), math.cos(lam), 0.0)
    north = _cross(up, east)
    ve, vn = gs * math.sin(t), gs * math.cos(t)
    vel = (ve * east[0] + vn * north[0], ve * east[1] + vn * north[1], ve * east[2] + vn * north[2])
    return ground, up, vel


def _horizontal(px: float, py: float, wx: float, wy: float, h: float) -> tuple[float, float] | None:
    """Times when |p + w t| <= h, or None: centre -p.w/|w|^2, half-width from |p x w|."""
    ww = wx * wx + wy * wy
    if ww == 0:
        return (-math.inf, math.inf) if math.hypot(px, py) <= h else None
    cross = px * wy - py * wx
    disc = h * h * ww - cross * cross
    if disc < 0:
        return None
    centre, half = -(px * wx + py * wy) / ww, math.sqrt(disc) / ww
    return centre - half, centre + half


def _vertical(dz: float, dvz: float, v: float) -> tuple[float, float] | None:
    """Times when |dz + dvz t| <= v, or None."""
    if dvz == 0:
        return (-math.inf, math.inf) if abs(dz) <= v else None
    a, b = (-v - dz) / dvz, (v - dz) / dvz
    return min(a, b), max(a, b)


def reference_pairs(
    cols: Sequence[FloatArray],
    h: float,
    v: float,
    t_max: float,
    party: Sequence[object] | None = None,
) -> set[tuple[int, int]]:
    lat, lon, alt, gs, trk, vs = (list(map(float, c)) for c in cols)
    states = [_ground_and_velocity(lat[k], lon[k], gs[k], trk[k]) for k in range(len(lat))]
    found: set[tuple[int, int]] = set()
    if h < 0 or v < 0:
        return found
    for i in range(len(lat)):
        for j in range(i + 1, len(lat)):
            if party is not None and party[i] == party[j]:
                continue
            (gi, ui, vi), (gj, uj, vj) = states[i], states[j]
            up = _unit((ui[0] + uj[0], ui[1] + uj[1], ui[2] + uj[2]))
            helper = (1.0, 0.0, 0.0) if abs(up[0]) < 0.9 else (0.0, 1.0, 0.0)
            e1 = _unit(_cross(up, helper))
            e2 = _cross(up, e1)
            d, w = _sub(gj, gi), _sub(vj, vi)
            px, py, wx, wy = _dot(d, e1), _dot(d, e2), _dot(w, e1), _dot(w, e2)
            horiz = _horizontal(px, py, wx, wy, h)
            vert = _vertical(alt[j] - alt[i], vs[j] - vs[i], v)
            if horiz is None or vert is None:
                continue
            if max(horiz[0], vert[0], 0.0) <= min(horiz[1], vert[1], t_max):
                found.add((i, j))
    return found


# -- scenes ------------------------------------------------------------------


@dataclasses.dataclass
class Scene:
    cols: list[FloatArray]
    h: float
    v: float
    t: float
    party: list[int]

    @property
    def n(self) -> int:
        return len(self.cols[0])


def _destination(lat0: float, lon0: float, bearing: FloatArray, dist: FloatArray) -> Any:
    """Points at (bearing, distance) from a centre on a sphere: valid across the poles."""
    r = 6_371_000.0
    p0, l0 = math.radians(lat0), math.radians(lon0)
    b, ang = np.radians(bearing), dist / r
    lat = np.arcsin(np.sin(p0) * np.cos(ang) + np.cos(p0) * np.sin(ang) * np.cos(b))
    lon = l0 + np.arctan2(
        np.sin(b) * np.sin(ang) * np.cos(p0), np.cos(ang) - np.sin(p0) * np.sin(lat)
    )
    lon_deg = (np.degrees(lon) + 180.0) % 360.0 - 180.0
    return np.clip(np.degrees(lat), -90.0, 90.0), lon_deg


@st.composite
def scenes(draw: st.DrawFn, max_n: int = 40) -> Scene:
    # Mostly crowded scenes; the degenerate sizes 0-2 have their own unit tests.
    n = max_n - draw(st.integers(0, max_n))
    lat0 = draw(st.sampled_from([0.0, 45.0, 89.5, -89.9, 90.0]) | st.floats(-90, 90))
    lon0 = draw(st.sampled_from([180.0, -180.0, 0.0]) | st.floats(-180, 180))
    h = draw(st.sampled_from([0.0, 50.0, H_MANNED]) | st.floats(10, 20_000))
    v = draw(st.sampled_from([0.0, 15.0, V_MANNED]) | st.floats(1, 600))
    t = draw(st.sampled_from([0.0, 30.0, 300.0]) | st.floats(0, 600))
    # Scene radius relative to how far a pair can close within the lookahead,
    # so that most scenes hold conflicts, near misses and far pairs alike.
    reach = h + 600.0 * t + 200.0
    spread = reach * draw(st.sampled_from([0.05, 0.3, 1.0, 3.0]))
    discrete = draw(st.floats(0, 1))  # share of tracks on a coarse lattice of values
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))

    def mix(fine: FloatArray, coarse: Sequence[float]) -> FloatArray:
        pick = rng.random(n) < discrete
        return np.where(pick, rng.choice(np.asarray(coarse, dtype=np.float64), n), fine)

    dist = spread * np.sqrt(rng.random(n))
    lat, lon = _destination(lat0, lon0, rng.uniform(0, 360, n), dist)
    dup = rng.random(n) < discrete * 0.2
    if n:
        src = rng.integers(0, n, n)
        lat, lon = np.where(dup, lat[src], lat), np.where(dup, lon[src], lon)
    alt = mix(rng.uniform(0, 3 * max(v, 100.0), n), [1_000.0, 1_000.0 + v, 1_000.0 - v, 2_000.0])
    gs = mix(rng.uniform(0, 300, n), [0.0, 100.0, 250.0])
    trk = mix(rng.uniform(0, 360, n), [0.0, 90.0, 180.0, 270.0])
    vs = mix(rng.uniform(-20, 20, n), [0.0, 0.0, 5.0, -5.0])
    party = [int(x) for x in rng.integers(0, 3, n)]
    return Scene([lat, lon, alt, gs, trk, vs], h, v, t, party)


EPS = 1e-6


def _strict(s: Scene) -> tuple[float, float, float]:
    # The absolute micrometre matters for zero minima, where a relative margin
    # is none: a pair meeting exactly head-on is then a coin toss in rounding.
    return (s.h * (1 - EPS) - 1e-6, s.v * (1 - EPS) - 1e-6, s.t * (1 - EPS))


def _loose(s: Scene) -> tuple[float, float, float]:
    return (s.h * (1 + EPS) + 1e-6, s.v * (1 + EPS) + 1e-6, s.t * (1 + EPS) + 1e-6)


def _check_result_shape(r: ScreenResult, n: int) -> None:
    p = r.pairs
    assert p.dtype == np.int64 and p.ndim == 2 and p.shape[1] == 2
    assert np.all(p[:, 0] < p[:, 1]) and np.all(p >= 0) and np.all(p < max(n, 1))
    keys = p[:, 0] * max(n, 1) + p[:, 1]
    assert np.all(np.diff(keys) > 0)  # unique, lexicographic
    for arr in (r.t_los_s, r.t_exit_s, r.tcpa_s, r.dcpa_m, r.dist_m, r.dalt_m, r.bearing_deg):
        assert arr.shape == (len(p),)
    assert np.all(r.t_los_s >= 0) and np.all(r.t_los_s <= r.t_exit_s)
    assert np.all(r.tcpa_s >= 0) and np.all(r.dcpa_m <= r.dist_m * (1 + 1e-9) + 1e-6)
    assert np.all((r.bearing_deg >= 0) & (r.bearing_deg < 360))


@settings(max_examples=300, deadline=None)
@given(scenes(), st.sampled_from([None, 1, 3, 17]), st.booleans())
def test_agrees_with_brute_force(scene: Scene, slices: int | None, by_party: bool) -> None:
    party = scene.party if by_party else None
    got = screen(
        *scene.cols,
        h_sep_m=scene.h,
        v_sep_m=scene.v,
        lookahead_s=scene.t,
        party=party,
        slices=slices,
    )
    _check_result_shape(got, scene.n)
    found = pair_set(got)
    must = reference_pairs(scene.cols, *_strict(scene), party=party)
    may = reference_pairs(scene.cols, *_loose(scene), party=party)
    assert must <= found, f"missed {sorted(must - found)}"
    assert found <= may, f"spurious {sorted(found - may)}"


@settings(max_examples=100, deadline=None)
@given(scenes(max_n=60), st.data())
def test_symmetric_under_permutation(scene: Scene, data: st.DataObject) -> None:
    perm = np.array(data.draw(st.permutations(range(scene.n))), dtype=np.int64)
    kw: ScreenKwargs = {"h_sep_m": scene.h, "v_sep_m": scene.v, "lookahead_s": scene.t}
    base = screen(*scene.cols, **kw, party=scene.party)
    shuffled = screen(*(c[perm] for c in scene.cols), **kw, party=np.array(scene.party)[perm])
    mapped = {tuple(sorted((int(perm[a]), int(perm[b])))) for a, b in shuffled.pairs}
    assert mapped == pair_set(base)
    by_pair = dict(zip(map(tuple, base.pairs.tolist()), base.t_los_s.tolist(), strict=True))
    for (a, b), t_los in zip(shuffled.pairs.tolist(), shuffled.t_los_s.tolist(), strict=True):
        assert t_los == by_pair[tuple(sorted((int(perm[a]), int(perm[b]))))]


@settings(max_examples=150, deadline=None)
@given(scenes(max_n=60), st.floats(-0.5, 0.5))
def test_invariant_under_moving_the_scene_across_the_antimeridian(
    scene: Scene, offset: float
) -> None:
    # Rotate every longitude so that the scene's first track sits next to 180.
    lat, lon, *rest = scene.cols
    shift = (180.0 + offset - float(lon[0])) if scene.n else 0.0
    moved = [lat, (lon + shift + 180.0) % 360.0 - 180.0, *rest]
    got = pair_set(screen(*scene.cols, h_sep_m=scene.h, v_sep_m=scene.v, lookahead_s=scene.t))
    h, v, t = _strict(scene)
    must = set()
    if h >= 0 and v >= 0:
        must = pair_set(screen(*moved, h_sep_m=h, v_sep_m=v, lookahead_s=t))
    h, v, t = _loose(scene)
    may = pair_set(screen(*moved, h_sep_m=h, v_sep_m=v, lookahead_s=t))
    assert must <= got <= may


_FIELDS = ("t_los_s", "t_exit_s", "tcpa_s", "dcpa_m", "dist_m", "dalt_m", "bearing_deg")


def _assert_restricted(got: ScreenResult, full: ScreenResult, only: Sequence[int]) -> None:
    """``got`` is exactly the rows of ``full`` with a member in ``only``."""
    touch = np.isin(full.pairs, np.asarray(only, dtype=np.int64)).any(axis=1)
    assert np.array_equal(got.pairs, full.pairs[touch])
    for name in _FIELDS:
        assert np.array_equal(getattr(got, name), getattr(full, name)[touch]), name


@settings(max_examples=200, deadline=None)
@given(scenes(max_n=60), st.data(), st.sampled_from([None, 1, 3, 17]), st.booleans())
def test_only_equals_the_full_answer_restricted_to_the_subset(
    scene: Scene, data: st.DataObject, slices: int | None, by_party: bool
) -> None:
    n = scene.n
    only: list[int] = data.draw(
        st.lists(st.integers(0, n - 1), max_size=n + 3) if n else st.just([])
    )
    kw: dict[str, Any] = {
        "h_sep_m": scene.h,
        "v_sep_m": scene.v,
        "lookahead_s": scene.t,
        "party": scene.party if by_party else None,
    }
    full = screen(*scene.cols, **kw)
    got = screen(*scene.cols, **kw, only=np.array(only, dtype=np.int64), slices=slices)
    _check_result_shape(got, n)
    _assert_restricted(got, full, only)


@pytest.mark.parametrize("centre", [(60.0, 180.0), (89.8, 0.0)], ids=["antimeridian", "pole"])
def test_only_in_a_dense_scene_prunes_and_agrees(centre: tuple[float, float]) -> None:
    rng = np.random.default_rng(11)
    n = 2_000
    lat, lon = _destination(*centre, rng.uniform(0, 360, n), 150_000 * np.sqrt(rng.random(n)))
    lon = np.where((lon < 0) & (rng.random(n) < 0.5), lon + 360.0, lon)
    cols = [
        lat,
        lon,
        rng.uniform(8_000, 11_000, n),
        rng.uniform(120, 250, n),
        rng.uniform(0, 360, n),
        np.where(rng.random(n) < 0.2, rng.uniform(-15, 15, n), 0.0),
    ]
    party = rng.integers(0, 4, n)
    full = screen(*cols, **MANNED.as_kwargs(), party=party)
    assert len(full) > 100
    for size in (1, 5, 50, 700):
        only = rng.choice(n, size, replace=False)
        for slices in (None, 1, 4):
            got = screen(*cols, **MANNED.as_kwargs(), party=party, only=only, slices=slices)
            _assert_restricted(got, full, only.tolist())
        # The broad phase looked at the subset's neighbourhoods, not at every pair.
        alone = screen(*cols, **MANNED.as_kwargs(), party=party, only=only)
        if size <= 50:
            assert alone.n_candidates < full.n_candidates / 4


@pytest.mark.parametrize("centre", [(60.0, 180.0), (89.8, 0.0)], ids=["antimeridian", "pole"])
def test_dense_scene_matches_brute_force_and_every_slicing(centre: tuple[float, float]) -> None:
    # Enough tracks for the k-d tree to prune for real: 400 aircraft within
    # 60 km, straddling the antimeridian or the North Pole.
    rng = np.random.default_rng(7)
    n = 400
    lat, lon = _destination(*centre, rng.uniform(0, 360, n), 60_000 * np.sqrt(rng.random(n)))
    # longitudes given both ways round where that is allowed
    lon = np.where((lon < 0) & (rng.random(n) < 0.5), lon + 360.0, lon)
    cols = [
        lat,
        lon,
        rng.uniform(8_000, 11_000, n),
        rng.uniform(120, 250, n),
        rng.uniform(0, 360, n),
        np.where(rng.random(n) < 0.2, rng.uniform(-15, 15, n), 0.0),
    ]
    scene = Scene(cols, H_MANNED, V_MANNED, 300.0, [])
    must = reference_pairs(cols, *_strict(scene))
    may = reference_pairs(cols, *_loose(scene))
    assert len(must) > 50
    for slices in (None, 1, 2, 5, 32):
        found = pair_set(screen(*cols, **MANNED.as_kwargs(), slices=slices))
        assert must <= found <= may, slices


@pytest.mark.parametrize("slices", [None, 1, 2, 3, 8])
def test_broad_phase_keeps_the_worst_case_pair(slices: int | None) -> None:
    # Head-on at the highest speed present, separation lost just before the end
    # of the lookahead: at the last slice's mid-time this pair is as far apart as
    # any conflicting pair can be, at the edge of the broad phase's search radius.
    horizon = 300.0
    gap = H_MANNED + 500.0 * horizon
    for _ in range(3):
        # each velocity is tangent at its own track, so the chord closes at
        # 500 cos(half the angle the chord subtends)
        closing = 500.0 * math.cos(math.asin(gap / (2 * A)))
        gap = H_MANNED + closing * (horizon - 1e-6)
    # ... and the same vertically: closing at 2 x 15 m/s, reaching the minimum then.
    top = 9_000 + V_MANNED + 30.0 * (horizon - 1e-6)
    rows: list[list[float]] = [
        [0, 0, 9_000, 250, 90, 15],
        [0, lon_east_on_equator(gap), top, 250, 270, -15],
    ]
    r = screen(
        *np.array(rows).T, h_sep_m=H_MANNED, v_sep_m=V_MANNED, lookahead_s=horizon, slices=slices
    )
    assert pair_set(r) == {(0, 1)}
    assert r.t_los_s[0] == pytest.approx(horizon, abs=1e-3)
