"""Track states as Earth-centred (ECEF) vectors on the WGS-84 ellipsoid.

Screening never does geometry in degrees: longitudes jump at the antimeridian
and meridians converge at the poles, so a pair's relative position and velocity
are taken from ECEF vectors and projected on that pair's own horizontal plane.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
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
    workers: int = 1,
) -> TrackStates:
    """The tracks' ECEF states; with ``workers`` > 1, in that many parts on as many threads.

    numpy releases the GIL in its element-wise loops and computes every
    element alone, so the parts give exactly the values of one pass (each
    output element is the same sequence of operations on the same inputs).
    """
    n = len(lat_deg)
    workers = max(1, min(workers, n // _MIN_TRACKS_PER_WORKER))
    if workers == 1:
        return _states(_vectors(lat_deg, lon_deg, gs_mps, trk_deg), alt_m, vs_mps, gs_mps)
    out = np.empty((9, n), dtype=np.float64)
    bounds = np.linspace(0, n, workers + 1).astype(np.int64)

    def fill(k: int) -> None:
        lo, hi = int(bounds[k]), int(bounds[k + 1])
        part = _vectors(lat_deg[lo:hi], lon_deg[lo:hi], gs_mps[lo:hi], trk_deg[lo:hi])
        for m, v in enumerate(part):
            out[m, lo:hi] = v

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(fill, range(workers)))
    return _states(tuple(out), alt_m, vs_mps, gs_mps)


def _states(
    v: tuple[FloatArray, ...], alt_m: FloatArray, vs_mps: FloatArray, gs_mps: FloatArray
) -> TrackStates:
    x, y, z, ux, uy, uz, vx, vy, vz = v
    return TrackStates(
        x=x, y=y, z=z, ux=ux, uy=uy, uz=uz, vx=vx, vy=vy, vz=vz, alt=alt_m, vs=vs_mps, gs=gs_mps
    )


# Below this many tracks per thread, starting the thread costs about what it saves.
_MIN_TRACKS_PER_WORKER = 10_000


def _vectors(
    lat_deg: FloatArray, lon_deg: FloatArray, gs_mps: FloatArray, trk_deg: FloatArray
) -> tuple[FloatArray, ...]:
    """x, y, z, ux, uy, uz, vx, vy, vz of `TrackStates`, computed element by element."""
    ex, ey, nx, ny, nz, sin_lat, cos_lat = local_axes(lat_deg, lon_deg)
    # The east axis is (-sin lon, cos lon): reused rather than recomputed (a
    # negation is exact), the longitude's trigonometry is done once per track.
    sin_lon, cos_lon = -ex, ey
    prime_vertical = WGS84_A_M / np.sqrt(1.0 - WGS84_E2 * sin_lat * sin_lat)
    trk = np.radians(trk_deg)
    v_east = gs_mps * np.sin(trk)
    v_north = gs_mps * np.cos(trk)
    return (
        prime_vertical * cos_lat * cos_lon,
        prime_vertical * cos_lat * sin_lon,
        prime_vertical * (1.0 - WGS84_E2) * sin_lat,
        cos_lat * cos_lon,
        cos_lat * sin_lon,
        sin_lat,
        v_east * ex + v_north * nx,
        v_east * ey + v_north * ny,
        v_north * nz,
    )
