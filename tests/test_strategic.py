"""The strategic engine: DESIGN.md's conflict rule, and an index that never misses."""

from __future__ import annotations

import dataclasses
import itertools
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deconflict.geo import GEOD, parse_volume
from deconflict.geo.cells import DEFAULT_RESOLUTION
from deconflict.geo.coarse import Grain, coarse_volume
from deconflict.geo.packed import open_packed, pack_volumes
from deconflict.geo.separation import separation
from deconflict.strategic import (
    BufferPolicy,
    Buffers,
    NoticeShape,
    PreparedShape,
    StrategicIndex,
    compare_notices,
    find_conflicts,
)
from tests.conftest import box, volume_doc

KINDS = ["air_activity", "fires", "protected_site", "uas_activity"]


def shape(
    notice_id: str, issuer: str, docs: list[dict[str, Any]], kind: str = "air_activity"
) -> NoticeShape:
    vols = tuple(v for v in (parse_volume(d) for d in docs) if v is not None)
    return NoticeShape(notice_id, issuer, kind, vols)


# -- scene generation ------------------------------------------------------


@st.composite
def volume_docs(draw: st.DrawFn, lon0: float, lat0: float) -> dict[str, Any]:
    az = draw(st.floats(0, 360))
    dist = draw(st.floats(0, 120_000))
    lon, lat, _ = GEOD.fwd(lon0, lat0, az, dist)
    lon, lat = float(lon), float(lat)
    size = draw(st.floats(500, 60_000))
    kind = draw(st.sampled_from(["circle", "polygon", "corridor"]))
    if kind == "circle":
        geometry: dict[str, Any] = {"type": "Point", "coordinates": [lon, lat]}
        radius: float | None = size / 2
    elif kind == "corridor":
        elon, elat, _ = GEOD.fwd(lon, lat, draw(st.floats(0, 360)), size)
        geometry = {"type": "LineString", "coordinates": [[lon, lat], [float(elon), float(elat)]]}
        radius = draw(st.floats(100, 5_000))
    else:
        corners = []
        for k in range(4):
            x, y, _ = GEOD.fwd(lon, lat, 45 + 90 * k + draw(st.floats(-20, 20)), size / 2)
            corners.append([float(x), float(y)])
        geometry = {"type": "Polygon", "coordinates": [[*corners, corners[0]]]}
        radius = None
    lower = draw(st.integers(0, 8)) * 500
    upper = lower + draw(st.integers(0, 6)) * 500
    start_h = draw(st.integers(0, 20))
    dur_h = draw(st.integers(0, 5))
    return volume_doc(
        geometry,
        radius_m=radius,
        lower=(lower, "M", "W84"),
        upper=(upper, "M", draw(st.sampled_from(["W84", "W84", "AMSL"]))),
        start=f"2015-10-01T{start_h:02d}:00:00Z",
        end=f"2015-10-0{1 + (start_h + dur_h) // 24}T{(start_h + dur_h) % 24:02d}:30:00Z",
    )


@st.composite
def scenes(draw: st.DrawFn, lon0: float | None = None) -> list[NoticeShape]:
    lon = draw(st.floats(-180, 180)) if lon0 is None else lon0
    lat = draw(st.floats(-70, 70))
    count = draw(st.integers(2, 9))
    out = []
    for n in range(count):
        docs = [draw(volume_docs(lon, lat)) for _ in range(draw(st.integers(1, 2)))]
        issuer = draw(st.sampled_from(["alpha", "bravo", "charlie"]))
        out.append(shape(f"n{n}", issuer, docs, draw(st.sampled_from(KINDS))))
    return out


buffers_st = st.builds(
    Buffers,
    lateral_m=st.sampled_from([0.0, 500.0, 5_000.0, 20_000.0]),
    vertical_m=st.sampled_from([0.0, 150.0, 300.0]),
    time_s=st.sampled_from([0.0, 900.0, 3_600.0]),
)


def pair_set(conflicts: list[Any]) -> set[frozenset[str]]:
    return {frozenset((c.a.id, c.b.id)) for c in conflicts}


def brute_force(notices: list[NoticeShape], policy: BufferPolicy) -> set[frozenset[str]]:
    found = set()
    for a, b in itertools.combinations(notices, 2):
        if a.issuer != b.issuer and compare_notices(a, b, policy, describe=False):
            found.add(frozenset((a.id, b.id)))
    return found


def borderline(a: NoticeShape, b: NoticeShape, lateral_m: float) -> bool:
    """True when some volume pair sits within the accuracy tolerance of the lateral buffer."""
    for va in a.volumes:
        for vb in b.volumes:
            sep = separation(va.footprint, vb.footprint)
            tol = max(1.0, 1e-3 * lateral_m) + 1.0
            if abs(sep.lower_bound_m - lateral_m) <= tol or abs(sep.distance_m - lateral_m) <= tol:
                return True
    return False


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(scene=scenes(), buffers=buffers_st)
def test_index_agrees_with_brute_force(scene: list[NoticeShape], buffers: Buffers) -> None:
    policy = BufferPolicy(default=buffers)
    expected = brute_force(scene, policy)
    assert pair_set(find_conflicts(scene, policy, describe=False)) == expected
    index = StrategicIndex(policy)
    for n in scene:
        index.upsert(n)
    for n in scene:
        got = {frozenset((n.id, c.b.id)) for c in index.query(n, describe=False)}
        assert got == {p for p in expected if n.id in p}


@SETTINGS
@given(scene=scenes(), buffers=buffers_st)
def test_symmetric(scene: list[NoticeShape], buffers: Buffers) -> None:
    policy = BufferPolicy(default=buffers)
    for a, b in itertools.combinations(scene, 2):
        ab = compare_notices(a, b, policy, describe=False) is not None
        ba = compare_notices(b, a, policy, describe=False) is not None
        assert ab == ba or borderline(a, b, buffers.lateral_m)


@SETTINGS
@given(scene=scenes(), small=buffers_st, extra=buffers_st)
def test_monotonic_in_each_buffer(scene: list[NoticeShape], small: Buffers, extra: Buffers) -> None:
    big = Buffers(
        small.lateral_m + extra.lateral_m,
        small.vertical_m + extra.vertical_m,
        small.time_s + extra.time_s,
    )
    for grown in (
        Buffers(big.lateral_m, small.vertical_m, small.time_s),
        Buffers(small.lateral_m, big.vertical_m, small.time_s),
        Buffers(small.lateral_m, small.vertical_m, big.time_s),
    ):
        before = pair_set(find_conflicts(scene, BufferPolicy(default=small), describe=False))
        after = pair_set(find_conflicts(scene, BufferPolicy(default=grown), describe=False))
        assert before <= after


def shifted(notice: NoticeShape, delta: float) -> NoticeShape:
    docs = []
    for vol in notice.volumes:
        doc = vol.to_json()
        geometry = doc["geometry"]

        def move(p: list[float]) -> list[float]:
            return [((p[0] + delta + 180.0) % 360.0) - 180.0, p[1]]

        if geometry["type"] == "Point":
            geometry["coordinates"] = move(geometry["coordinates"])
        elif geometry["type"] == "LineString":
            geometry["coordinates"] = [move(p) for p in geometry["coordinates"]]
        else:
            geometry["coordinates"] = [[move(p) for p in ring] for ring in geometry["coordinates"]]
        if doc["radius_m"] == 0:
            del doc["radius_m"]
        docs.append(doc)
    return shape(notice.id, notice.issuer, docs, notice.kind)


@SETTINGS
@given(scene=scenes(lon0=20.0), buffers=buffers_st, delta=st.floats(150.0, 170.0))
def test_invariant_across_the_antimeridian(
    scene: list[NoticeShape], buffers: Buffers, delta: float
) -> None:
    """The same scene moved so that it straddles +/-180 has the same conflicts."""
    policy = BufferPolicy(default=buffers)
    moved = [shifted(n, delta) for n in scene]
    here = pair_set(find_conflicts(scene, policy, describe=False))
    there = pair_set(find_conflicts(moved, policy, describe=False))
    by_id = {n.id: n for n in scene}
    for diff in here ^ there:
        a, b = (by_id[i] for i in diff)
        assert borderline(a, b, buffers.lateral_m)


# -- the rule, case by case -----------------------------------------------


def test_closed_intervals_touching_counts() -> None:
    a = shape("a", "alpha", [volume_doc(box(36.0, 35.0, 36.1, 35.1), upper=(1000, "M", "W84"))])
    # Shares an edge, starts when a ends, floor at a's ceiling.
    b = shape(
        "b",
        "bravo",
        [
            volume_doc(
                box(36.1, 35.0, 36.2, 35.1),
                lower=(1000, "M", "W84"),
                upper=(2000, "M", "W84"),
                start="2015-09-30T09:00:00Z",
                end="2015-09-30T10:00:00Z",
            )
        ],
    )
    conflicts = find_conflicts([a, b])
    assert len(conflicts) == 1
    pair = conflicts[0].volume_pairs[0]
    assert pair.time_gap_s == 0 and pair.vertical_gap_m == 0 and pair.min_distance_m == 0
    assert pair.altitude_band == (1000, 1000)


def test_each_dimension_alone_separates() -> None:
    base = volume_doc(box(36.0, 35.0, 36.1, 35.1))
    apart = {
        "time": volume_doc(
            box(36.0, 35.0, 36.1, 35.1), start="2015-09-30T09:00:01Z", end="2015-09-30T10:00:00Z"
        ),
        "height": volume_doc(
            box(36.0, 35.0, 36.1, 35.1), lower=(1000.5, "M", "W84"), upper=(2000, "M", "W84")
        ),
        "space": volume_doc(box(36.2, 35.0, 36.3, 35.1)),
    }
    a = shape("a", "alpha", [base])
    for name, doc in apart.items():
        b = shape("b", "bravo", [doc])
        assert find_conflicts([a, b]) == [], name
    # Each is caught by its own buffer.
    buffers = {
        "time": Buffers(time_s=1.0),
        "height": Buffers(vertical_m=0.5),
        "space": Buffers(lateral_m=9_200),
    }
    for name, doc in apart.items():
        b = shape("b", "bravo", [doc])
        assert len(find_conflicts([a, b], BufferPolicy(default=buffers[name]))) == 1, name


def test_cross_reference_margin_is_conservative() -> None:
    a = shape("a", "alpha", [volume_doc(box(36.0, 35.0, 36.1, 35.1), upper=(1000, "M", "W84"))])
    b = shape(
        "b",
        "bravo",
        [
            volume_doc(
                box(36.0, 35.0, 36.1, 35.1), lower=(1100, "M", "AMSL"), upper=(2000, "M", "AMSL")
            )
        ],
    )
    # 100 m apart nominally, but the geoid can move AMSL heights by ~100 m against W84.
    assert len(find_conflicts([a, b])) == 1
    c = shape(
        "c",
        "bravo",
        [
            volume_doc(
                box(36.0, 35.0, 36.1, 35.1), lower=(1100, "M", "W84"), upper=(2000, "M", "W84")
            )
        ],
    )
    assert find_conflicts([a, c]) == []


def test_same_issuer_only_on_request() -> None:
    a = shape("a", "alpha", [volume_doc(box(36.0, 35.0, 36.1, 35.1))])
    b = shape("b", "alpha", [volume_doc(box(36.05, 35.0, 36.15, 35.1))])
    assert find_conflicts([a, b]) == []
    assert len(find_conflicts([a, b], include_same_issuer=True)) == 1


def test_kind_pair_override_and_index_reach() -> None:
    site = shape(
        "site",
        "ngo",
        [volume_doc({"type": "Point", "coordinates": [36.0, 35.0]}, radius_m=200)],
        "protected_site",
    )
    lon, lat, _ = GEOD.fwd(36.0, 35.0, 90.0, 200 + 9_000)
    fires = shape(
        "fires",
        "army",
        [volume_doc({"type": "Point", "coordinates": [float(lon), float(lat)]}, radius_m=1)],
        "fires",
    )
    plain = BufferPolicy(default=Buffers(lateral_m=1_000))
    wide = BufferPolicy(
        default=Buffers(lateral_m=1_000),
        by_kinds={("fires", "protected_site"): Buffers(lateral_m=10_000)},
    )
    assert find_conflicts([site, fires], plain) == []
    conflicts = find_conflicts([site, fires], wide)
    assert len(conflicts) == 1
    assert conflicts[0].buffers.lateral_m == 10_000
    assert conflicts[0].min_distance_m == pytest.approx(8_999, abs=2)


def test_upsert_replaces_and_remove_forgets() -> None:
    index = StrategicIndex()
    a = shape("a", "alpha", [volume_doc(box(36.0, 35.0, 36.1, 35.1))])
    b1 = shape("b", "bravo", [volume_doc(box(36.05, 35.0, 36.15, 35.1))])
    b2 = NoticeShape(
        "b",
        "bravo",
        "air_activity",
        shape("x", "bravo", [volume_doc(box(40.0, 35.0, 40.1, 35.1))]).volumes,
        version=2,
    )
    index.upsert(a)
    index.upsert(b1)
    assert [c.b.id for c in index.query(a)] == ["b"]
    index.upsert(b2)
    assert len(index) == 2
    assert index.query(a) == []
    index.upsert(b1)
    index.remove("b")
    assert "b" not in index and index.query(a) == []
    index.remove("missing")  # no error


def test_conflict_describes_overlap() -> None:
    a = shape("a", "alpha", [volume_doc(box(36.0, 35.0, 36.1, 35.1), upper=(3000, "M", "W84"))])
    b = shape(
        "b",
        "bravo",
        [
            volume_doc(
                box(36.05, 35.05, 36.2, 35.2),
                lower=(2000, "M", "W84"),
                upper=(5000, "M", "W84"),
                start="2015-09-30T08:00:00Z",
                end="2015-09-30T12:00:00Z",
            )
        ],
    )
    (conflict,) = find_conflicts([a, b])
    doc = conflict.to_json()
    assert doc["notices"] == ["a", "b"] and doc["volume_pairs"] == [[0, 0]]
    overlap = doc["overlaps"][0]
    assert overlap["time_window"] == {
        "start": "2015-09-30T08:00:00.000000Z",
        "end": "2015-09-30T09:00:00.000000Z",
    }
    assert overlap["altitude_band"] == {"lower_m": 2000, "upper_m": 3000}
    ring = overlap["region"]["coordinates"][0]
    lons = sorted({round(p[0], 4) for p in ring})
    lats = sorted({round(p[1], 4) for p in ring})
    assert lons[0] == pytest.approx(36.05, abs=1e-3) and lons[-1] == pytest.approx(36.1, abs=1e-3)
    assert lats[0] == pytest.approx(35.05, abs=1e-3) and lats[-1] == pytest.approx(35.1, abs=2e-3)


def test_buffers_refuse_negative_and_nan() -> None:
    with pytest.raises(ValueError, match="lateral_m"):
        Buffers(lateral_m=-1)
    with pytest.raises(ValueError, match="time_s"):
        Buffers(time_s=float("nan"))


def test_long_windows_and_far_notices() -> None:
    """A months-long protected site is found from any day; far notices are not even candidates."""
    index = StrategicIndex(BufferPolicy(default=Buffers(lateral_m=2_000, time_s=600)))
    site = shape(
        "site",
        "ngo",
        [
            volume_doc(
                {"type": "Point", "coordinates": [36.675, 35.645]},
                radius_m=300,
                start="2015-09-25T00:00:00Z",
                end="2015-12-31T00:00:00Z",
            )
        ],
        "protected_site",
    )
    index.upsert(site)
    for k in range(200):  # clutter elsewhere, same time
        index.upsert(
            shape(
                f"far{k}",
                "bravo",
                [
                    volume_doc(
                        box(10 + k * 0.2, 50, 10.1 + k * 0.2, 50.1),
                        start="2015-11-20T00:00:00Z",
                        end="2015-11-20T06:00:00Z",
                    )
                ],
            )
        )
    strike = shape(
        "strike",
        "army",
        [
            volume_doc(
                {"type": "Point", "coordinates": [36.69, 35.645]},
                radius_m=100,
                start="2015-11-20T02:00:00Z",
                end="2015-11-20T02:30:00Z",
            )
        ],
        "fires",
    )
    assert [c.b.id for c in index.query(strike)] == ["site"]
    assert len(index.candidates(strike.volumes[0], "fires")) == 1


# -- shapes read back from their prepared form (issue 14) -------------------------------


def _prepared(n: NoticeShape, grain: Grain | None) -> tuple[NoticeShape, PreparedShape]:
    """`n` with coarse volumes (if `grain`) and readers, eager, and read back lazily."""
    coarse = None if grain is None else tuple(coarse_volume(v, grain) for v in n.volumes)
    readers = frozenset({"*"}) if grain is None else frozenset({"alpha"})
    level = "exact" if grain is None else "coarse"
    eager = dataclasses.replace(n, coarse=coarse, readers=readers, disclosure=level)
    text = json.dumps([v.to_json() for v in n.volumes])
    blob = pack_volumes(n.volumes, coarse, (text, level))
    lazy = PreparedShape(
        id=n.id,
        issuer=n.issuer,
        kind=n.kind,
        version=n.version,
        priority=n.priority,
        readers=readers,
        disclosure=level,
        packed=open_packed(blob, text, level),
    )
    return eager, lazy


@SETTINGS
@given(scene=scenes(), buffers=buffers_st, grained=st.lists(st.booleans(), min_size=9))
def test_shapes_built_lazily_from_their_prepared_form_give_the_same_answers(
    scene: list[NoticeShape], buffers: Buffers, grained: list[bool]
) -> None:
    """An index of shapes read back from their prepared forms (volumes built only when a
    query reaches them) answers every query as the index of the shapes they were made
    of: the same conflicts, described to the same numbers, and nothing missed."""
    policy = BufferPolicy(default=buffers)
    pairs = [_prepared(n, Grain() if g else None) for n, g in zip(scene, grained, strict=False)]
    eager, lazy = StrategicIndex(policy), StrategicIndex(policy)
    for e, p in pairs:
        eager.upsert(e)
        lazy.upsert(p)
    # filed under the stored numbers: nothing built yet
    assert not any("_lazy_volumes" in p.__dict__ for _, p in pairs)
    for e, p in pairs:
        expected = [c.to_json() for c in eager.query(e, include_same_issuer=True)]
        assert [c.to_json() for c in lazy.query(e, include_same_issuer=True)] == expected
        assert [c.to_json() for c in lazy.query(p, include_same_issuer=True)] == expected
    assert [c.to_json() for c in lazy.all_conflicts()] == [
        c.to_json() for c in eager.all_conflicts()
    ]


def test_a_prepared_shape_is_built_once_and_filed_as_computed_at_any_resolution() -> None:
    n = shape("n1", "alpha", [volume_doc(box(36.0, 35.0, 36.4, 35.3))])
    eager, lazy = _prepared(n, Grain())
    assert lazy.filed(DEFAULT_RESOLUTION) == eager.filed(DEFAULT_RESOLUTION)
    assert "_lazy_volumes" not in lazy.__dict__
    # an index of another resolution: computed from the volumes (built for it)
    assert lazy.filed(3) == eager.filed(3)
    built = lazy.volumes
    assert lazy.volumes is built and lazy.coarse is not None  # kept: built once
    assert [v.to_json() for v in built] == [v.to_json() for v in eager.volumes]
    assert [v.to_json() for v in lazy.coarse] == [v.to_json() for v in eager.coarse or ()]
    assert (lazy.id, lazy.readers, lazy.disclosure) == (eager.id, eager.readers, "coarse")
    _, exact_lazy = _prepared(n, None)
    assert exact_lazy.coarse is None and "_lazy_volumes" not in exact_lazy.__dict__
