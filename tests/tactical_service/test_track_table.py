"""The track table's columns say what its states say, whatever was applied, merged
or pruned before (issue 19: snapshots are taken from the columns, not the states).

A prune moves the table's last row into each row it frees, so the tests drive
interleavings of reports, merges from another process and prunes, and compare
every snapshot with one built the plain way from the states the table holds.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import event, given, settings
from hypothesis import strategies as st

from deconflict.tactical.tracks import EARTH_RADIUS_M, TrackLimits, TrackState, TrackTable
from deconflict.utc import format_epoch

T0 = 1_900_000_000.0
LIMITS = TrackLimits(max_tracks_per_party=50, stale_after_s=20.0)
PARTIES = ("blue", "red", "a-party-with-a-long-name")


def report(tid: str, t: float, lat: float, lon: float, *, category: str) -> dict[str, object]:
    return {
        "track_id": tid,
        "time": format_epoch(t),
        "lat": lat,
        "lon": lon,
        "alt_m": 500.0,
        "gs_mps": 50.0,
        "trk_deg": 45.0,
        "vs_mps": 1.0,
        "category": category,
    }


def expected_position(s: TrackState, now: float) -> tuple[float, float, float]:
    """Dead reckoning of one state, written out per track (the reference)."""
    dt = min(max(now - s.t, -LIMITS.max_future_s), LIMITS.stale_after_s)
    rad = math.radians(s.trk_deg)
    lat = min(
        90.0, max(-90.0, s.lat + math.degrees(s.gs_mps * math.cos(rad) * dt / EARTH_RADIUS_M))
    )
    coslat = max(math.cos(math.radians(s.lat)), 1e-6)
    east = s.gs_mps * math.sin(rad) * dt
    lon = (s.lon + math.degrees(east / (EARTH_RADIUS_M * coslat)) + 180.0) % 360.0 - 180.0
    alt = min(LIMITS.max_alt_m, max(LIMITS.min_alt_m, s.alt_m + s.vs_mps * dt))
    return lat, lon, alt


def check(table: TrackTable, held: dict[tuple[str, str], TrackState], now: float) -> None:
    asked = [*list(held)[::2], ("nobody", "gone")]
    snap = table.snapshot(now, rows_of=asked)
    assert len(snap) == len(table) == len(held)
    assert dict(zip(snap.keys, snap.states, strict=True)) == held
    assert sorted(snap.rows.tolist()) == sorted(snap.keys.index(k) for k in asked if k in held)
    for i, (key, s) in enumerate(zip(snap.keys, snap.states, strict=True)):
        assert (snap.party[i], s.party, s.track_id) == (key[0], *key)
        assert snap.category[i] == s.category
        assert table.get(*key) is s
        lat, lon, alt = expected_position(s, now)
        assert math.isclose(snap.lat[i], lat, abs_tol=1e-9)
        assert math.isclose(snap.lon[i], lon, abs_tol=1e-9)
        assert math.isclose(snap.alt_m[i], alt, abs_tol=1e-6)
        assert (snap.gs_mps[i], snap.trk_deg[i], snap.vs_mps[i]) == (
            s.gs_mps,
            s.trk_deg % 360.0,
            s.vs_mps,
        )
    for party in PARTIES:
        mine = sorted(s.track_id for s in table.tracks_of(party))
        assert mine == sorted(k[1] for k in held if k[0] == party)


step = st.tuples(
    st.sampled_from(["report", "merge", "prune"]),
    st.sampled_from(PARTIES),
    st.integers(0, 12),  # track number
    st.floats(0.0, 15.0),  # seconds the clock moves on
    st.sampled_from(["manned", "uas"]),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(step, min_size=1, max_size=60))
def test_snapshots_match_the_states_through_reports_merges_and_prunes(
    steps: list[tuple[str, str, int, float, str]],
) -> None:
    table = TrackTable(LIMITS)
    held: dict[tuple[str, str], TrackState] = {}  # the model: what the table should hold
    now = T0
    for n, (op, party, k, advance, category) in enumerate(steps):
        now = round(now + advance, 3)  # as a report's RFC 3339 time carries it
        key = (party, f"t{k}")
        lat, lon = 10.0 + 0.01 * n, 20.0 + 0.01 * n
        if op == "report":
            doc = report(key[1], now, lat, lon, category=category)
            out, changes = table.ingest_batch(party, [doc], now, 9)
            if out[0].status == "applied":
                state = table.get(*key)
                assert state is not None and (state.t, state.lat, state.lon) == (now, lat, lon)
                assert changes == {key[1]: (held.get(key), state)}
                held[key] = state
            else:  # a jump, or a second position for the same time: refused
                assert out[0].status == "rejected"
                assert changes == {}
        elif op == "merge":
            state = TrackState(*key, now, lat, lon, 100.0, 5.0, 300.0, 0.0, category, "reported")
            taken = table.merge([state], now)
            assert taken == ([state] if key not in held or held[key].t < now else [])
            if taken:
                held[key] = state
        else:
            gone = table.prune(now)
            stale = {k for k, s in held.items() if s.t < now - LIMITS.stale_after_s}
            assert set(gone) == stale
            held = {k: s for k, s in held.items() if k not in stale}
        check(table, held, now)


def test_a_prune_that_frees_rows_below_the_last_keeps_every_track_at_its_own_state() -> None:
    table = TrackTable(TrackLimits(max_tracks_per_party=5000, stale_after_s=20.0))
    old = [report(f"old{k}", T0, 1.0 + k * 1e-3, 2.0, category="uas") for k in range(1500)]
    table.ingest("blue", old, T0, 5000)
    fresh = [report(f"new{k}", T0 + 15, 3.0 + k * 1e-3, 4.0, category="manned") for k in range(700)]
    table.ingest("red", fresh, T0 + 15, 5000)
    # interleave: every other old track reports again and stays
    again = [
        report(f"old{k}", T0 + 15, 1.0 + k * 1e-3, 2.0, category="uas") for k in range(0, 1500, 2)
    ]
    table.ingest("blue", again, T0 + 15, 5000)
    gone = table.prune(T0 + 30)
    assert sorted(gone) == sorted(("blue", f"old{k}") for k in range(1, 1500, 2))
    snap = table.snapshot(T0 + 30)
    assert len(snap) == 750 + 700
    by_key = dict(zip(snap.keys, range(len(snap)), strict=True))
    for k in range(0, 1500, 2):
        i = by_key[("blue", f"old{k}")]
        assert snap.states[i].track_id == f"old{k}"
        assert np.isclose(snap.lat[i], expected_position(snap.states[i], T0 + 30)[0])
        assert snap.party[i] == "blue" and snap.category[i] == "uas"
    assert table.get("blue", "old1") is None
    assert table.get("red", "new699") is snap.states[by_key[("red", "new699")]]
    # a track pruned can start again, and a party's count came down with the prune
    out = table.ingest("blue", [report("old1", T0 + 31, 1.0, 2.0, category="uas")], T0 + 31, 10)
    assert out[0].status == "applied"


# -- the report parser's fast path ---------------------------------------------

NOW = T0 + 1000.0
_any_value = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**60), 2**60),
    st.just(10**400),  # valid JSON, no float: once a 500 here
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-200.0, 200.0),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=2),
)
_valid = {
    "track_id": st.sampled_from(["A1", "blue-7.x:y", "Z" * 64]),
    "time": st.floats(-59.0, 9.0).map(lambda d: format_epoch(NOW + d)),
    "lat": st.floats(-90.0, 90.0),
    "lon": st.floats(-180.0, 180.0),
    "alt_m": st.one_of(st.floats(-500.0, 20000.0), st.integers(-500, 20000)),
    "gs_mps": st.floats(0.0, 400.0),
    "trk_deg": st.floats(0.0, 360.0),
    "vs_mps": st.floats(-50.0, 50.0),
    "category": st.sampled_from(["manned", "uas"]),
    "party": st.just("blue"),
    "callsign": st.sampled_from(["RCH123", "X" * 16]),
}
# Near the edges and past them: what each test of a field must turn away.
_edge = {
    "track_id": st.sampled_from(["", "a/b", "-x", "x" * 65, "ä"]),
    "time": st.one_of(
        st.sampled_from([-61.0, -60.0, 10.0, 11.0, 1e9]).map(lambda d: format_epoch(NOW + d)),
        st.sampled_from(["2030-01-01T12:00:00", "not a time", "2030-01-01T12:00:00z"]),
    ),
    "lat": st.sampled_from([-90.0001, 90.0001, 1e300]),
    "lon": st.sampled_from([-180.0001, 180.0001]),
    "alt_m": st.sampled_from([-1e4, 1e6, 2**53 + 1]),
    "gs_mps": st.sampled_from([-0.1, 1e5]),
    "trk_deg": st.sampled_from([-0.1, 360.1]),
    "vs_mps": st.sampled_from([-1e4, 1e4]),
    "category": st.sampled_from(["MANNED", ""]),
    "party": st.sampled_from(["red", ""]),
    "callsign": st.sampled_from(["X" * 17, ""]),
    "extra": st.just(1),
}
_optional = ("gs_mps", "trk_deg", "vs_mps", "category", "party", "callsign")


@st.composite
def documents(draw: st.DrawFn) -> dict[str, object]:
    """A valid report with none, one or two fields spoilt (or left out)."""
    keep = [n for n in _valid if n not in _optional or draw(st.booleans())]
    doc: dict[str, object] = {n: draw(_valid[n]) for n in keep}
    for name in draw(st.lists(st.sampled_from(sorted(_edge)), max_size=2, unique=True)):
        how = draw(st.sampled_from(["edge", "any", "absent"]))
        if how == "absent":
            doc.pop(name, None)
        else:
            doc[name] = draw(_edge[name] if how == "edge" else _any_value)
    return doc


@settings(max_examples=2000, deadline=None)
@given(documents())
def test_the_fast_path_judges_every_report_as_the_full_one_does(doc: dict[str, object]) -> None:
    from deconflict.tactical.tracks import _full_report, parse_report

    fast = parse_report(doc, "blue", NOW, TrackLimits())
    full = _full_report(doc, "blue", NOW, TrackLimits())
    assert fast == full
    event("accepted" if full[0] is not None else "refused")
