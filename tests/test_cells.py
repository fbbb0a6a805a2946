"""The H3 covering is complete: no cell touching a cap is ever left out."""

from __future__ import annotations

import pickle

import h3.api.basic_int as h3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.geo import GEOD, parse_volume
from deconflict.geo.cells import CELL_CONSTANTS, DEFAULT_RESOLUTION, cover


def measured_constants(resolution: int) -> tuple[float, float]:
    circum, step = 0.0, float("inf")
    for base in h3.get_res0_cells():
        for cell in h3.cell_to_children(base, resolution):
            centre = h3.cell_to_latlng(cell)
            for vertex in h3.cell_to_boundary(cell):
                circum = max(circum, h3.great_circle_distance(centre, vertex, unit="km"))
            for other in h3.grid_ring(cell, 1):
                d = h3.great_circle_distance(centre, h3.cell_to_latlng(other), unit="km")
                step = min(step, d)
    return circum, step


@pytest.mark.parametrize("resolution", [3, DEFAULT_RESOLUTION])
def test_constants_hold_for_every_cell(resolution: int) -> None:
    circum, step = measured_constants(resolution)
    assumed_circum, assumed_step = CELL_CONSTANTS[resolution]
    assert circum <= assumed_circum
    assert step >= assumed_step


@settings(max_examples=150, deadline=None)
@given(
    lon=st.floats(-180, 180),
    lat=st.floats(-89, 89),
    radius=st.floats(0, 600_000),
    seed=st.integers(0, 2**32 - 1),
)
def test_every_point_of_the_cap_is_covered(
    lon: float, lat: float, radius: float, seed: int
) -> None:
    import numpy as np

    cells = set(cover(lon, lat, radius))
    rng = np.random.default_rng(seed)
    n = 300
    az = rng.uniform(0, 360, n)
    # Bias samples to the rim, where a missed cell would be.
    dist = radius * np.sqrt(rng.uniform(0.0, 1.0, n)) ** 0.25
    lons, lats, _ = GEOD.fwd(np.full(n, lon), np.full(n, lat), az, dist)
    for x, y in zip(lons, lats, strict=True):
        assert h3.latlng_to_cell(float(y), float(x), DEFAULT_RESOLUTION) in cells


def test_cover_near_pentagon_and_pole() -> None:
    pentagon = next(c for c in h3.get_pentagons(DEFAULT_RESOLUTION))
    lat, lon = h3.cell_to_latlng(pentagon)
    cells = set(cover(lon, lat, 80_000))
    assert pentagon in cells
    assert set(h3.grid_disk(pentagon, 1)) <= cells
    assert len(cover(0.0, 89.5, 50_000)) > 0


def test_a_footprint_remembers_its_covers_and_hands_them_over_pickled() -> None:
    # The parser processes compute a footprint's covers and pickle them with it; the
    # index must then get exactly what `cover` gives, for each reach it asks.
    vol = parse_volume(
        {
            "geometry": {"type": "Point", "coordinates": [36.2, 35.1]},
            "radius_m": 12_000,
            "altitude_lower": {"value": 0, "units": "M", "reference": "W84"},
            "altitude_upper": {"value": 900, "units": "M", "reference": "W84"},
            "time_start": "2030-01-01T00:00:00Z",
            "time_end": "2030-01-01T01:00:00Z",
        }
    )
    assert vol is not None
    fp = vol.footprint
    for reach in (0.0, 5_000.0):
        fp.cells(reach)
    back = pickle.loads(pickle.dumps(vol)).footprint  # noqa: S301 - our own bytes
    assert set(back._covers) == {(0.0, DEFAULT_RESOLUTION), (5_000.0, DEFAULT_RESOLUTION)}
    for reach in (0.0, 5_000.0, 40_000.0):
        lon, lat = fp.center
        expected = cover(lon, lat, fp.cap_radius_m + reach, DEFAULT_RESOLUTION)
        assert back.cells(reach) == expected == fp.cells(reach)
    assert len(fp.cells(40_000.0)) > len(fp.cells(0.0))
