"""Track states as Earth-centred (ECEF) vectors on the WGS-84 ellipsoid.

Screening never does geometry in degrees: longitudes jump at the antimeridian
and meridians converge at the poles, so a pair's relative position and velocity
are taken from ECEF vectors and projected on that pair's own horizontal plane.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["MIN_RADIUS_OF_CURVATURE_M", "WGS84_A_M", "TrackStates", "track_states"]

FloatArray = npt.NDArray[np.float64]

WGS84_A_M = 6_378_137.0
WGS84_F = 1.0 / 298.257223563
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)
# Meridional radius of curvature at the equator, the smallest anywhere: the
# geodetic vertical turns by at most 1 / this many radians per metre travelled,
# which bounds how far apart two tracks' horizontal planes can be.
MIN_RADIUS_OF_CURVATURE_M = WGS84_A_M * (1.0 - WGS84_E2)


@dataclass(frozen=True, slots=True, eq=False)
class TrackStates:
    """Per-track vectors, one 1-D array per component (structure of arrays).

    ``x, y, z``: the track's ground point (height 0) in ECEF metres; horizontal
    separation is measured between ground points so that two aircraft at
    different levels are not pushed apart by the Earth's curvature.
    ``ux, uy, uz``: the geodetic vertical (unit). ``vx, vy, vz``: the horizontal
    velocity, tangent to the ellipsoid at the track. ``alt``/``vs``: height and
    vertical rate, kept scalar because vertical separation is a height difference.
    """

    x: FloatArray
    y: FloatArray
    z: FloatArray
    ux: FloatArray
    uy: FloatArray
    uz: FloatArray
    vx: FloatArray
    vy: FloatArray
    vz: FloatArray
    alt: FloatArray
    vs: FloatArray
    gs: FloatArray


def local_axes(
    lat_deg: FloatArray, lon_deg: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """East (ex, ey; its z is 0) and north (nx, ny, nz) unit vectors, and sin/cos terms.

    Returned as ``ex, ey, nx, ny, nz, sin_lat, cos_lat`` to let callers reuse the trig.
    """
    lat = np.radians(lat_deg)
    lon = np.radians(lon_deg)
    sin_lat, cos_lat = np.sin(lat), np.cos(lat)
    sin_lon, cos_lon = np.sin(lon), np.cos(lon)
    return (
        -sin_lon,
        cos_lon,
        -sin_lat * cos_lon,
        -sin_lat * sin_lon,
        cos_lat,
        sin_lat,
        cos_lat,
    )


def track_states(
    lat_deg: FloatArray,
    lon_deg: FloatArray,
    *,
    alt_m: FloatArray,
    gs_mps: FloatArray,
    trk_deg: FloatArray,
    vs_mps: FloatArray,
) -> TrackStates:
    ex, ey, nx, ny, nz, sin_lat, cos_lat = local_axes(lat_deg, lon_deg)
    # The east axis is (-sin lon, cos lon): reused rather than recomputed (a
    # negation is exact), the longitude's trigonometry is done once per track.
    sin_lon, cos_lon = -ex, ey
    prime_vertical = WGS84_A_M / np.sqrt(1.0 - WGS84_E2 * sin_lat * sin_lat)
    trk = np.radians(trk_deg)
    v_east = gs_mps * np.sin(trk)
    v_north = gs_mps * np.cos(trk)
    return TrackStates(
        x=prime_vertical * cos_lat * cos_lon,
        y=prime_vertical * cos_lat * sin_lon,
        z=prime_vertical * (1.0 - WGS84_E2) * sin_lat,
        ux=cos_lat * cos_lon,
        uy=cos_lat * sin_lon,
        uz=sin_lat,
        vx=v_east * ex + v_north * nx,
        vy=v_east * ey + v_north * ny,
        vz=v_north * nz,
        alt=alt_m,
        vs=vs_mps,
        gs=gs_mps,
    )
