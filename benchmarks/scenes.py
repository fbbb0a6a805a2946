"""Realistic strategic scenes: notices clustered in hot areas, as real operations are.

Shared by the strategic benchmark and any later one that needs stored notices.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np

from deconflict.geo import GEOD, parse_volume
from deconflict.strategic import NoticeShape

__all__ = ["HOT_AREAS", "notice_docs", "shapes"]

# (lon, lat, spread km): theatres where many parties operate at once.
HOT_AREAS: list[tuple[float, float, float]] = [
    (36.7, 35.5, 150),
    (39.0, 36.0, 200),
    (43.1, 36.3, 180),
    (37.8, 48.0, 250),
    (34.5, 31.4, 60),
    (13.2, 32.9, 200),
    (44.2, 15.4, 200),
    (45.3, 2.0, 250),
    (-1.5, 14.5, 400),
    (21.0, 56.0, 250),
    (114.0, 10.0, 400),
    (127.0, 38.0, 120),
    (66.0, 34.5, 300),
    (30.5, 15.5, 300),
    (29.0, 1.5, 250),
    (122.0, 24.0, 200),
    (19.0, 69.5, 200),
    (-70.0, -33.0, 150),
    (-157.9, 21.4, 150),
    (179.2, -17.0, 300),
]

KIND_MIX = [
    ("air_activity", 0.40),
    ("uas_activity", 0.20),
    ("fires", 0.15),
    ("ground_movement", 0.10),
    ("protected_site", 0.10),
    ("other", 0.05),
]
EPOCH = 1_443_657_600.0  # 2015-10-01T00:00:00Z
PERIOD_S = 60 * 86_400.0


def _iso(t: float) -> str:
    return datetime.fromtimestamp(round(t), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _alt(value: float, units: str = "M", ref: str = "W84") -> dict[str, Any]:
    out: dict[str, Any] = {"value": value, "units": units}
    if units != "FL":
        out["reference"] = ref
    return out


def _volume(
    rng: np.random.Generator, kind: str, lon: float, lat: float, period: float
) -> dict[str, Any]:
    start = EPOCH + rng.uniform(0, period - 13 * 3600)
    duration = math.exp(rng.uniform(math.log(3600), math.log(12 * 3600)))
    radius: float | None = None
    if kind == "protected_site":
        geometry: dict[str, Any] = {"type": "Point", "coordinates": [lon, lat]}
        radius = float(rng.uniform(100, 1000))
        start = EPOCH - rng.uniform(0, 30 * 86_400)
        duration = rng.uniform(30, 365) * 86_400
        lower, upper = _alt(0, "FT", "AMSL"), _alt(3000, "FT", "AMSL")
    elif kind == "uas_activity":
        geometry = {"type": "Point", "coordinates": [lon, lat]}
        radius = float(math.exp(rng.uniform(math.log(500), math.log(10_000))))
        lower, upper = _alt(0), _alt(float(rng.choice([120, 150, 400])))
    elif kind == "ground_movement":
        length = rng.uniform(20_000, 150_000)
        az = rng.uniform(0, 360)
        mid_lon, mid_lat, _ = GEOD.fwd(lon, lat, az, length / 2)
        end_lon, end_lat, _ = GEOD.fwd(mid_lon, mid_lat, az + rng.uniform(-30, 30), length / 2)
        geometry = {
            "type": "LineString",
            "coordinates": [
                [lon, lat],
                [float(mid_lon), float(mid_lat)],
                [float(end_lon), float(end_lat)],
            ],
        }
        radius = float(rng.uniform(500, 2000))
        lower, upper = _alt(0, "M", "AMSL"), _alt(500, "M", "AMSL")
    else:
        size = math.exp(rng.uniform(math.log(1_000), math.log(200_000)))
        if kind == "fires":
            size = min(size, 30_000)
        n = int(rng.integers(4, 9))
        # Evenly spread, jittered azimuths keep the ring simple (star-shaped).
        azimuths = (np.arange(n) + rng.uniform(-0.4, 0.4, n)) * 360.0 / n
        dists = size / 2 * rng.uniform(0.6, 1.0, n)
        lons, lats, _ = GEOD.fwd(np.full(n, lon), np.full(n, lat), azimuths, dists)
        ring = [[float(x), float(y)] for x, y in zip(lons, lats, strict=True)]
        geometry = {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}
        if kind == "fires":
            lower, upper = (
                _alt(0, "FT", "AMSL"),
                _alt(float(rng.integers(5, 20) * 1000), "FT", "AMSL"),
            )
        else:
            fl = int(rng.integers(5, 30)) * 10
            lower, upper = _alt(fl, "FL"), _alt(fl + int(rng.integers(2, 10)) * 10, "FL")
    doc: dict[str, Any] = {
        "geometry": geometry,
        "altitude_lower": lower,
        "altitude_upper": upper,
        "time_start": _iso(start),
        "time_end": _iso(start + duration),
    }
    if radius is not None:
        doc["radius_m"] = radius
    return doc


def notice_docs(
    count: int, seed: int = 7, prefix: str = "n", scale: float = 1.0
) -> list[dict[str, Any]]:
    """``count`` notices; ``scale`` multiplies the number of theatres and the period alike.

    A hub holding ten times the notices is one serving more theatres over a
    longer horizon, not one where ten times as many activities crowd the same
    sky on the same day: the benchmark keeps density constant that way, so the
    number of conflicts, an output no algorithm can avoid, grows linearly.
    """
    rng = np.random.default_rng(seed)
    areas = list(HOT_AREAS)
    extra = np.random.default_rng(12345)
    while len(areas) < round(len(HOT_AREAS) * scale):
        areas.append(
            (
                float(extra.uniform(-180, 180)),
                float(extra.uniform(-45, 65)),
                float(extra.uniform(100, 400)),
            )
        )
    period = PERIOD_S * scale
    kinds = [k for k, _ in KIND_MIX]
    weights = np.array([w for _, w in KIND_MIX])
    parties = [f"party-{i}" for i in range(12)]
    out = []
    for i in range(count):
        if rng.uniform() < 0.85:
            alon, alat, spread = areas[int(rng.integers(len(areas)))]
            dist = abs(rng.normal(0, spread * 1000 / 2))
            plon, plat, _ = GEOD.fwd(alon, alat, rng.uniform(0, 360), dist)
            lon, lat = float(plon), float(plat)
        else:
            lon, lat = float(rng.uniform(-180, 180)), float(rng.uniform(-60, 70))
        kind = str(rng.choice(kinds, p=weights))
        out.append(
            {
                "id": f"{prefix}{i}",
                "issuer": parties[int(rng.integers(len(parties)))],
                "kind": kind,
                "volumes": [_volume(rng, kind, lon, lat, period)],
            }
        )
    return out


def shapes(docs: list[dict[str, Any]]) -> list[NoticeShape]:
    out = []
    for doc in docs:
        vols = []
        for v in doc["volumes"]:
            parsed = parse_volume(v)
            assert parsed is not None
            vols.append(parsed)
        out.append(NoticeShape(doc["id"], doc["issuer"], doc["kind"], tuple(vols)))
    return out
