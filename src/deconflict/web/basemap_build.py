"""Build `static/basemap.json`, the offline basemap, from Natural Earth data.

Run once by a developer; the generated file is committed, so neither a build
step nor these inputs are needed at run time. Inputs (both Natural Earth,
which is in the public domain):

- `countries-50m.json` from the npm package `world-atlas@2.0.2` (TopoJSON of
  Natural Earth 1:50m admin-0 countries, ISC licence):
  `npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz`
- `naturalearth_cities.shp/.dbf` from the PyPI wheel `geopandas==0.14.4`
  (`geopandas/datasets/naturalearth_cities`, Natural Earth populated places):
  `pip download geopandas==0.14.4 --no-deps && unzip geopandas-0.14.4-*.whl`

    python -m deconflict.web.basemap_build COUNTRIES_50M_JSON CITIES_SHP OUT_JSON

The output is one GeoJSON FeatureCollection: a MultiLineString of coastlines
(`layer: coast`), one of land borders (`layer: border`) and named points
(`layer: place`), coordinates rounded to 0.001 degree (about 100 m).
"""

from __future__ import annotations

import json
import struct
import sys
from collections import Counter
from pathlib import Path
from typing import Any

__all__ = ["build"]

Line = list[list[float]]


def _decode_arcs(topo: dict[str, Any]) -> list[Line]:
    sx, sy = topo["transform"]["scale"]
    tx, ty = topo["transform"]["translate"]
    arcs: list[Line] = []
    for arc in topo["arcs"]:
        x = y = 0
        line: Line = []
        for dx, dy in arc:
            x += dx
            y += dy
            line.append([round(x * sx + tx, 3), round(y * sy + ty, 3)])
        arcs.append(line)
    return arcs


def _arc_ids(geometry: dict[str, Any]) -> list[int]:
    rings: list[list[int]] = []
    if geometry["type"] == "Polygon":
        rings = geometry["arcs"]
    elif geometry["type"] == "MultiPolygon":
        rings = [ring for poly in geometry["arcs"] for ring in poly]
    return [i if i >= 0 else ~i for ring in rings for i in ring]


def _dedupe(line: Line) -> Line:
    out: Line = []
    for p in line:
        if not out or out[-1] != p:
            out.append(p)
    return out


def _places(shp: Path) -> list[tuple[str, float, float]]:
    """Points of a point shapefile and the NAME field of its .dbf (no library needed).

    The .dbf of naturalearth_cities is ISO-8859-1 (its .cpg says so).
    """
    data = shp.read_bytes()
    points: list[tuple[float, float]] = []
    pos = 100
    while pos < len(data):
        _, length = struct.unpack(">ii", data[pos : pos + 8])
        (kind,) = struct.unpack("<i", data[pos + 8 : pos + 12])
        if kind == 1:
            x, y = struct.unpack("<dd", data[pos + 12 : pos + 28])
            points.append((x, y))
        pos += 8 + 2 * length
    dbf = shp.with_suffix(".dbf").read_bytes()
    n_records, header_len, record_len = struct.unpack("<IHH", dbf[4:12])
    fields: list[tuple[str, int]] = []
    off = 32
    while dbf[off] != 0x0D:
        name = dbf[off : off + 11].split(b"\0")[0].decode()
        fields.append((name, dbf[off + 16]))
        off += 32
    names: list[str] = []
    for r in range(n_records):
        rec = dbf[header_len + r * record_len + 1 : header_len + (r + 1) * record_len]
        col = 0
        values: dict[str, str] = {}
        for name, size in fields:
            values[name.lower()] = rec[col : col + size].decode("latin-1").strip()
            col += size
        names.append(values.get("name", ""))
    return [(n, round(x, 3), round(y, 3)) for n, (x, y) in zip(names, points, strict=True)]


def build(countries_json: Path, cities_shp: Path) -> dict[str, Any]:
    topo = json.loads(countries_json.read_text())
    arcs = _decode_arcs(topo)
    uses: Counter[int] = Counter()
    for g in topo["objects"]["countries"]["geometries"]:
        uses.update(set(_arc_ids(g)))
    land: set[int] = set()
    for g in topo["objects"]["land"]["geometries"]:
        land.update(_arc_ids(g))
    coast = [_dedupe(arcs[i]) for i in sorted(land)]
    border = [_dedupe(arcs[i]) for i in sorted(uses) if uses[i] > 1 and i not in land]
    features: list[dict[str, Any]] = [
        {
            "type": "Feature",
            "properties": {"layer": "coast"},
            "geometry": {
                "type": "MultiLineString",
                "coordinates": [c for c in coast if len(c) > 1],
            },
        },
        {
            "type": "Feature",
            "properties": {"layer": "border"},
            "geometry": {
                "type": "MultiLineString",
                "coordinates": [b for b in border if len(b) > 1],
            },
        },
    ]
    features += [
        {
            "type": "Feature",
            "properties": {"layer": "place", "name": name},
            "geometry": {"type": "Point", "coordinates": [x, y]},
        }
        for name, x, y in _places(cities_shp)
    ]
    return {
        "type": "FeatureCollection",
        "source": "Natural Earth 1:50m countries (via world-atlas 2.0.2) and populated places "
        "(via geopandas 0.14.4 naturalearth_cities); public domain",
        "features": features,
    }


if __name__ == "__main__":  # pragma: no cover - a developer tool
    countries, cities, out = (Path(a) for a in sys.argv[1:4])
    out.write_text(json.dumps(build(countries, cities), separators=(",", ":")))
