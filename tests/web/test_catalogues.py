"""The message catalogues and the offline place names, without a browser.

The catalogues are plain JSON for translators: every language must hold every
key the code uses, with the same placeholders. The place names file is built
by `deconflict.web.context_build` from GeoNames and Natural Earth as packages
ship them; it is checked both as committed and by building it from small
inputs made here in the same formats.
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path
from typing import Any

import pytest

from deconflict.web import STATIC_DIR
from deconflict.web.context_build import build

LANGS = ("en", "ru", "ar")
PLURAL_FORMS = {"zero", "one", "two", "few", "many", "other"}


def _catalogue(lang: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((STATIC_DIR / "i18n" / f"{lang}.json").read_text("utf-8"))
    return doc


def _placeholders(message: Any) -> set[str]:
    texts = message.values() if isinstance(message, dict) else [message]
    return {p for text in texts for p in re.findall(r"\{(\w+)\}", str(text))}


def _keys_used_in_code() -> set[str]:
    keys: set[str] = set()
    sources = [*(STATIC_DIR / "js").glob("*.js"), STATIC_DIR / "index.html"]
    for path in sources:
        text = path.read_text("utf-8")
        keys.update(re.findall(r"\b(?:t|tr|tx)\('([a-z_]+\.[a-z_.]+)'", text))
        keys.update(re.findall(r'data-i18n="([a-z_]+\.[a-z_.]+)"', text))
        for attrs in re.findall(r'data-i18n-attr="([^"]+)"', text):
            keys.update(pair.split(":")[1] for pair in attrs.split(";") if ":" in pair)
    return {k for k in keys if "." in k}


def test_every_key_the_code_uses_is_in_the_english_catalogue() -> None:
    used = _keys_used_in_code()
    assert len(used) > 150  # the scan found the calls
    missing = sorted(used - set(_catalogue("en")))
    assert not missing, f"keys used in the UI but missing from en.json: {missing}"


@pytest.mark.parametrize("lang", ["ru", "ar"])
def test_each_language_translates_every_message_with_the_same_placeholders(lang: str) -> None:
    en, other = _catalogue("en"), _catalogue(lang)
    assert set(other) == set(en), sorted(set(en) ^ set(other))
    for key, message in en.items():
        assert _placeholders(other[key]) <= _placeholders(message) | {"n"}, (lang, key)
        if isinstance(message, dict):
            assert isinstance(other[key], dict) and "other" in other[key], (lang, key)
            assert set(other[key]) <= PLURAL_FORMS, (lang, key)
        elif key != "quote" and not key.startswith(("unit.", "conflict.headline")):
            # A message left in English is a message not translated.
            assert other[key] != message or not re.search(r"[a-z]{4}", message), (lang, key)


def test_kinds_states_and_categories_of_the_api_all_have_words() -> None:
    en = _catalogue("en")
    for kind in ("air_activity", "ground_movement", "fires", "uas_activity", "protected_site"):
        assert f"kind.{kind}" in en
    for state in ("active", "cancelled", "expired", "pending", "delivered", "acknowledged", "open"):
        assert f"state.{state}" in en
    for name in ("loss", "predicted", "inside", "outside"):
        assert f"severity.{name}" in en
    assert {"category.manned", "category.uas"} <= set(en)


def test_the_committed_place_names_hold_the_demo_towns_in_three_languages() -> None:
    doc = json.loads((STATIC_DIR / "context.json").read_text("utf-8"))
    assert doc["columns"] == ["lon", "lat", "population", "en", "ru", "ar"]
    by_name = {row[3]: row for row in doc["places"]}
    assert by_name["Idlib"][4:] == ["Идлиб", "إدلب"]
    assert by_name["Aleppo"][5] == "حلب"
    assert "Ma‘arrat an Nu‘mān" in by_name  # an administrative seat without a population
    lon, lat = by_name["Idlib"][:2]
    assert abs(lat - 35.93) < 0.01 and abs(lon - 36.63) < 0.01
    # Largest first, so that the map can stop at the first town too small for its zoom.
    pops = [row[2] or 14_999 for row in doc["places"]]
    assert pops == sorted(pops, reverse=True)
    assert len(doc["rivers"]) > 100 and len(doc["lakes"]) > 100
    assert "GeoNames" in doc["attribution"]


def _mo(path: Path, messages: dict[str, str]) -> None:
    """A GNU gettext catalogue file, as Debian ships them (little-endian, version 0)."""
    items = sorted({"": "Content-Type: text/plain; charset=UTF-8\n", **messages}.items())
    ids = b"".join(k.encode() + b"\0" for k, _ in items)
    strs = b"".join(v.encode() + b"\0" for _, v in items)
    n = len(items)
    header = 7 * 4
    table = header + 16 * n
    out = struct.pack("<7I", 0x950412DE, 0, n, header, header + 8 * n, 0, 0)
    off = table
    for k, _ in items:
        out += struct.pack("<2I", len(k.encode()), off)
        off += len(k.encode()) + 1
    for _, v in items:
        out += struct.pack("<2I", len(v.encode()), off)
        off += len(v.encode()) + 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out + ids + strs)


def test_build_takes_names_by_geonames_id_and_never_a_name_in_the_wrong_script(
    tmp_path: Path,
) -> None:
    cities = {
        "1": {
            "geonameid": 1,
            "name": "Ḩamāh",
            "latitude": 35.13,
            "longitude": 36.75,
            "countrycode": "SY",
            "population": 460602,
        },
        "2": {
            "geonameid": 2,
            "name": "Al Bāb",
            "latitude": 36.37,
            "longitude": 37.52,
            "countrycode": "SY",
            "population": 130745,
        },
        "3": {
            "geonameid": 3,
            "name": "Small",
            "latitude": 1.0,
            "longitude": 1.0,
            "countrycode": "SY",
            "population": 900,
        },
        "4": {
            "geonameid": 4,
            "name": "Seat",
            "latitude": 2.0,
            "longitude": 2.0,
            "countrycode": "SY",
            "population": 0,
        },
    }
    (tmp_path / "cities.json").write_text(json.dumps(cities), "utf-8")
    locale = tmp_path / "locale"
    _mo(locale / "en" / "LC_MESSAGES" / "geonames.mo", {"1": "Hama"})
    _mo(locale / "ru" / "LC_MESSAGES" / "geonames.mo", {"1": "Хама"})
    # The Arabic catalogue falls back to a Latin name for Al Bab: not an Arabic name.
    _mo(locale / "ar" / "LC_MESSAGES" / "geonames.mo", {"1": "حماة", "2": "Al Bāb"})
    topo = {
        "type": "Topology",
        "transform": {"scale": [0.001, 0.001], "translate": [36.0, 35.0]},
        "arcs": [[[0, 0], [100, 100], [50, 0]], [[500, 500], [0, 10], [10, 0], [-10, -10]]],
        "objects": {
            "rivers": {
                "type": "GeometryCollection",
                "geometries": [{"type": "LineString", "arcs": [0]}],
            },
            "lakes": {
                "type": "GeometryCollection",
                "geometries": [{"type": "Polygon", "arcs": [[1]]}],
            },
        },
    }
    (tmp_path / "world.json").write_text(json.dumps(topo), "utf-8")
    doc = build(tmp_path / "cities.json", locale, tmp_path / "world.json")
    assert doc["places"] == [
        [36.75, 35.13, 460602, "Hama", "Хама", "حماة"],
        [37.52, 36.37, 130745, "Al Bāb", "", ""],
        [2.0, 2.0, 0, "Seat", "", ""],
    ]
    assert doc["rivers"] == [[[36.0, 35.0], [36.1, 35.1], [36.15, 35.1]]]
    assert doc["lakes"][0][0] == [36.5, 35.5] and len(doc["lakes"][0]) == 4
