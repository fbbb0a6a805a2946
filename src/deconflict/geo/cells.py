"""A complete H3 cell covering of bounding caps: the coarse index that never misses.

``cover(lon, lat, radius_m)`` returns every H3 cell that intersects the cap of
geodesic radius ``radius_m`` around (lon, lat), and possibly a few more. Two
footprints whose distance is at most L share a cell of ``cover(A, L)`` and
``cover(B, 0)``: a point of B within L of A lies in A's inflated cap, and the
cell holding it is in both covers.

Completeness rests on two per-resolution constants measured over every cell of
the resolution (``tests/test_cells.py`` re-measures them): the largest distance
from a cell centre to its boundary, and the smallest distance between centres
of neighbouring cells. A cell that meets the cap has its centre within
radius + circumradius of the cap centre, and such a cell is at most
ceil(distance / (min_step * sqrt(3) / 2)) grid steps away.
"""

from __future__ import annotations

import math
from functools import lru_cache

import h3.api.basic_int as h3

__all__ = ["CELL_CONSTANTS", "DEFAULT_RESOLUTION", "cover"]

DEFAULT_RESOLUTION = 4

# resolution: (max centre-to-vertex km, min neighbour centre distance km),
# great-circle on h3's mean Earth radius, rounded outwards.
CELL_CONSTANTS: dict[int, tuple[float, float]] = {
    2: (200.7, 225.3),
    3: (75.9, 86.3),
    4: (28.7, 31.4),
}

# h3 measures great circles on a sphere of mean radius; a geodesic on WGS-84
# can be up to ~0.56 % shorter than the great circle between the same points,
# so radii are inflated by 1 % before they meet h3's numbers.
_SPHERE_SLACK = 1.01
_KM = 1000.0


@lru_cache(maxsize=8)
def _grid_step_km(resolution: int) -> float:
    return CELL_CONSTANTS[resolution][1] * math.sqrt(3.0) / 2.0


def cover(
    lon: float, lat: float, radius_m: float, resolution: int = DEFAULT_RESOLUTION
) -> list[int]:
    """Cells (as integers) that together contain the whole cap."""
    circum_km, _ = CELL_CONSTANTS[resolution]
    reach_km = radius_m * _SPHERE_SLACK / _KM + circum_km
    origin = h3.latlng_to_cell(lat, lon, resolution)
    k = math.ceil(reach_km / _grid_step_km(resolution)) + 1
    centre = (lat, lon)
    out: list[int] = []
    for cell in h3.grid_disk(origin, k):
        if h3.great_circle_distance(centre, h3.cell_to_latlng(cell), unit="km") <= reach_km:
            out.append(cell)
    return out
