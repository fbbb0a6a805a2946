"""The alert lifecycle on its own: hysteresis, updates, disclosure."""

from __future__ import annotations

import itertools

from deconflict.tactical.alerts import AlertBook, Finding, party_view

KEY = ("separation", "a", "t1", "b", "t2")


def _finding(severity: str = "predicted", signature: tuple[float, ...] = (1,)) -> Finding:
    return Finding(KEY, "separation", ("a", "b"), severity, {}, signature)


def _book(clear_cycles: int = 3) -> AlertBook:
    ids = (f"a-{n}" for n in itertools.count())
    return AlertBook(clear_cycles=clear_cycles, update_interval_s=5.0, new_id=lambda: next(ids))


def test_raise_hold_and_clear_after_consecutive_cycles() -> None:
    book = _book()
    assert [t.action for t in book.cycle(0, [_finding()], {KEY})] == ["raised"]
    # Out of the strict set but inside the widened one: held, whatever the count.
    for t in range(1, 10):
        assert book.cycle(t, [], {KEY}) == []
    # Flapping around the widened threshold restarts the count.
    assert book.cycle(10, [], set()) == []
    assert book.cycle(11, [], set()) == []
    assert book.cycle(12, [], {KEY}) == []
    assert book.cycle(13, [], set()) == []
    assert book.cycle(14, [], set()) == []
    cleared = book.cycle(15, [], set())
    assert [t.action for t in cleared] == ["cleared"] and len(book) == 0
    # A new conflict later is a new alert.
    assert book.cycle(16, [_finding()], {KEY})[0].alert.id == "a-1"


def test_updates_on_severity_at_once_otherwise_rate_limited() -> None:
    book = _book()
    book.cycle(0, [_finding()], {KEY})
    assert book.cycle(1, [_finding(signature=(2,))], {KEY}) == []  # too soon
    assert [t.action for t in book.cycle(2, [_finding("loss")], {KEY})] == ["updated"]
    assert book.cycle(3, [_finding("loss")], {KEY}) == []  # nothing changed
    assert book.cycle(8, [_finding("loss", (3,))], {KEY})[0].alert.revision == 3


def test_default_view_is_an_advisory_only() -> None:
    track_a = {"track_id": "t1", "lat": 1.0, "lon": 2.0, "trk_deg": 0.0, "vs_mps": 5.0}
    track_b = {"track_id": "t2", "lat": 1.1, "lon": 2.1, "trk_deg": 90.0, "vs_mps": 0.0}
    detail = {
        "a": {"party": "a", "category": "manned", "track": track_a},
        "b": {"party": "b", "category": "uas", "track": track_b},
        "bearing_deg": 45.0,
        "distance_m": 1000.0,
        "dalt_m": 30.0,
        "tcpa_s": 10.0,
        "dcpa_m": 5.0,
        "t_los_s": 0.0,
        "minima": {},
    }
    b_view = party_view("separation", ("a", "b"), detail, "b", share=False)
    assert b_view["own_track"] == track_b
    # from b (heading 090), a bears 225: 135 degrees right, half past four: 5 o'clock
    assert b_view["other"] == {
        "party": "a",
        "category": "manned",
        "clock": 5,
        "range_nm": 0.5,
        "rel_alt_ft": -100.0,
        "vertical": "climbing",
    }
    assert b_view["tcpa_s"] == 10.0 and b_view["dcpa_nm"] == 0.0
    a_view = party_view("separation", ("a", "b"), detail, "a", share=False)
    assert a_view["other"]["clock"] == 2  # 045 from heading 000
    assert a_view["other"]["rel_alt_ft"] == 100.0 and a_view["other"]["vertical"] == "level"
    assert party_view("separation", ("a", "b"), detail, "b", share=True)["other"]["track"] == (
        track_a
    )
