"""The WGS-84 ellipsoid and the local azimuthal equidistant frame.

All horizontal metric work happens in an azimuthal equidistant (AEQD) frame
built from geodesic inverse solutions (``pyproj.Geod``): a point's planar
coordinates are its geodesic distance and azimuth from the frame's centre.
Distances from the centre are therefore exact on the ellipsoid, and every
other distance is stretched by at most the factor :func:`max_stretch` of the
frame's radius, which is what lets callers turn a planar answer into a
guaranteed bound instead of a guess.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from pyproj import Geod

__all__ = [
    "GEOD",
    "MIN_RADIUS_OF_CURVATURE_M",
    "Frame",
    "geodesic_distance",
    "max_stretch",
]

GEOD = Geod(ellps="WGS84")

# The smallest radius of curvature of WGS-84 (meridional, at the equator):
# a ~ (1 - e^2). Using it in the spherical stretch formula over-estimates the
# stretch everywhere, which keeps the derived bounds conservative.
MIN_RADIUS_OF_CURVATURE_M = 6_335_439.0

FloatArray = npt.NDArray[np.float64]


def max_stretch(radius_m: float) -> float:
    """Upper bound of the AEQD scale factor within ``radius_m`` of the centre.

    On a sphere the azimuthal scale is (rho/R)/sin(rho/R) and the radial scale
    is 1, so planar lengths of any curve inside the disc exceed true lengths by
    at most this factor, and never fall short of them.
    """
    x = radius_m / MIN_RADIUS_OF_CURVATURE_M
    if x < 1e-9:
        return 1.0
    # A small safety factor absorbs the ellipsoid's departure from the sphere.
    return (x / math.sin(x)) * (1.0 + 1e-6)


def geodesic_distance(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    _, _, dist = GEOD.inv(lon1, lat1, lon2, lat2)
    return float(dist)


class Frame:
    """An AEQD frame centred on (lon, lat)."""

    __slots__ = ("lat", "lon")

    def __init__(self, lon: float, lat: float) -> None:
        self.lon = lon
        self.lat = lat

    def forward(
        self, lons: FloatArray, lats: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Planar x (east), y (north) and distance from the centre, in metres."""
        n = len(lons)
        az, _, dist = GEOD.inv(
            np.full(n, self.lon), np.full(n, self.lat), np.asarray(lons), np.asarray(lats)
        )
        az_rad = np.radians(np.asarray(az, dtype=np.float64))
        d = np.asarray(dist, dtype=np.float64)
        return d * np.sin(az_rad), d * np.cos(az_rad), d

    def inverse(self, xs: FloatArray, ys: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Longitudes and latitudes of planar points (longitudes in [-180, 180])."""
        n = len(xs)
        az = np.degrees(np.arctan2(xs, ys))
        dist = np.hypot(xs, ys)
        lons, lats, _ = GEOD.fwd(np.full(n, self.lon), np.full(n, self.lat), az, dist)
        return np.asarray(lons, dtype=np.float64), np.asarray(lats, dtype=np.float64)
