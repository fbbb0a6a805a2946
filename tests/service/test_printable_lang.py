"""The printed notice in English, Russian and Arabic (issue 17), over the real server: the
labels from the catalogues, every number, coordinate, time and the code the same on each
language's paper, each paper checked against the ledger and a changed one refused."""

from __future__ import annotations

import base64
import io
import json
import re
from importlib.resources import files
from pathlib import Path
from typing import Any

import pypdf
import pytest

from deconflict.cli import main
from deconflict.ledger.fingerprint import paper_code
from deconflict.service.printable import (
    LANGS,
    UNICODE_FONTS,
    _footer,
    body_of,
    catalogue,
    render_text,
)
from tests.service.helpers import World, notice

# What a liaison reads out over the telephone: it must be the same on every paper.
_SPOKEN = re.compile(
    r"\d+\.\d{6} [NS], \d+\.\d{6} [EW]"  # decimal degrees
    r"|MGRS \d+[A-Z] [A-Z]{2} \d{5} \d{5}"  # MGRS
    r"|\d{4}-\d\d-\d\dT[\d:.]+Z"  # times, UTC
    r"|FL\d+|[\d,]+ ft / [\d,]+ m|[\d,]+ m \([\d.]+ NM\)"  # levels, heights, sizes
    r"|[A-Z2-7]{4}(?:-[A-Z2-7]{4}){4}"  # the code
    r"|n-[0-9a-f]+"  # the notice's id
)
_HOSPITAL = "Hospital Ma'arrat al-Nu'man — مستشفى المعرة — Госпиталь"


def _doc() -> dict[str, Any]:
    doc = notice(["russia"], title=_HOSPITAL, remarks="300 m, 24/7", priority=7)
    doc["volumes"][0]["altitude_upper"] = {"value": 250, "units": "FL"}
    doc["volumes"].append(
        {
            **doc["volumes"][0],
            "geometry": {"type": "Point", "coordinates": [36.6742, 35.6403]},
            "radius_m": 300,
        }
    )
    return doc


def _print(api: Any, nid: str, **params: str) -> tuple[str, str]:
    r = api.get(f"/v1/notices/{nid}/printable", params=params)
    assert r.status_code == 200, r.text
    return r.text, r.headers["x-verification-code"]


def _leaf(api: Any, index: int) -> bytes:
    entry = api.ok("GET", f"/v1/ledger/proof/inclusion?index={index}")
    raw = entry["leaf_hash"]
    return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))


def test_one_code_on_every_language_s_paper_and_each_paper_checks(world: World) -> None:
    co, ru = world.party("coalition"), world.party("russia")
    anon = world.client(None)  # whoever holds the paper: no token
    nid = co.ok("POST", "/v1/notices", _doc(), 201)["id"]
    papers = {lang: _print(ru, nid, lang=lang) for lang in LANGS}
    codes = {code for _, code in papers.values()}
    assert len(codes) == 1, "one code, whatever the language of the paper"
    (code,) = codes
    en, ru_text, ar = (papers[lang][0] for lang in ("en", "ru", "ar"))
    assert en == _print(ru, nid)[0]  # English by default, as before
    assert "Извещение:" in ru_text and f"Код проверки: {code}" in ru_text
    assert "действует (active)" in ru_text and "приоритет 7" in ru_text
    assert "رمز التحقق:" in ar and "الإشعار:" in ar and code in ar
    # numbers, coordinates, times, ids and the code: the same, in the same order
    spoken = {lang: _SPOKEN.findall(text) for lang, (text, _) in papers.items()}
    assert len(spoken["en"]) > 20 and spoken["en"] == spoken["ru"] == spoken["ar"]
    # the issuer's own words as written (in Arabic, inside isolates of their own)
    assert all(_HOSPITAL in text and "300 m, 24/7" in text for text, _ in papers.values())

    # the code covers the version's content in its canonical (English) form
    served = ru.ok("GET", f"/v1/notices/{nid}")
    assert paper_code(_leaf(co, served["ledger_index"]), body_of(en)) == code
    for lang, (text, _) in papers.items():
        found = anon.ok("POST", "/v1/paper/verify", {"code": code, "text": text})
        assert found["text_matches"] is True and found["language"] == lang, lang
        assert found["notice_id"] == nid and found["version"] == 1
    # a changed paper fails, in each language: a coordinate, a time, a translated word
    forged = {
        "en": en.replace("36.100000 E", "36.200000 E", 1),
        "ru": ru_text.replace("действует (active)", "отменено (cancelled)", 1),
        "ar": ar.replace("35.640300 N", "35.640400 N", 1),
        "ar2": ar.replace("الأولوية", "الأولوية 1", 1),
        "ru2": ru_text.replace("приоритет 7", "приоритет  7", 1),  # even a space
    }
    for lang, text in forged.items():
        assert text != papers[lang[:2]][0], lang
        found = anon.ok("POST", "/v1/paper/verify", {"code": code, "text": text})
        assert found["text_matches"] is False and "language" not in found, lang
    # another paper's text under this code (a translation of a paper never printed) fails
    assert not anon.ok("POST", "/v1/paper/verify", {"code": code, "text": "Извещение:"})[
        "text_matches"
    ]

    # a new version: new code; the Russian paper of version 1 still checks against its
    # own code, and not against the new one, even after the notice is cancelled
    co.ok("PUT", f"/v1/notices/{nid}", {**_doc(), "version": 1, "title": "moved"})
    ru2, code2 = _print(ru, nid, lang="ru")
    assert code2 != code and "версия 2" in ru2
    co.ok("DELETE", f"/v1/notices/{nid}")
    old = anon.ok("POST", "/v1/paper/verify", {"code": code, "text": ru_text})
    assert old["text_matches"] and old["version"] == 1
    assert not anon.ok("POST", "/v1/paper/verify", {"code": code2, "text": ru_text})["text_matches"]
    assert anon.ok("POST", "/v1/paper/verify", {"code": code2, "text": ru2})["text_matches"]


def test_the_language_from_the_request_and_an_unknown_one_refused(world: World) -> None:
    co, ru, un = world.party("coalition"), world.party("russia"), world.party("un")
    nid = co.ok("POST", "/v1/notices", notice(["russia"], title="Strike-SYR"), 201)["id"]

    def heading(**kw: Any) -> str:
        r = ru.get(f"/v1/notices/{nid}/printable", **kw)
        assert r.status_code == 200, r.text
        return r.text.split("\n", 1)[0]

    en, ru_h, ar = (catalogue(lang)["heading"] for lang in ("en", "ru", "ar"))
    assert heading(headers={"Accept-Language": "ar-SY,ar;q=0.9,en;q=0.5"}) == ar
    assert heading(headers={"Accept-Language": "de-DE, ru;q=0.8, ar;q=0.3"}) == ru_h
    assert heading(headers={"Accept-Language": "de, fr;q=0.5"}) == en
    assert heading(headers={"Accept-Language": "ru;q=0, *"}) == en
    assert heading(headers={"Accept-Language": "ru;q=nonsense"}) == en
    # ?lang= wins over the header
    assert heading(params={"lang": "en"}, headers={"Accept-Language": "ru"}) == en
    reads = len(co.ok("GET", f"/v1/notices/{nid}/reads")["reads"])
    for bad in ("de", "RU", "", "ru-RU"):
        r = ru.get(f"/v1/notices/{nid}/printable", params={"lang": bad, "format": "pdf"})
        assert r.status_code == 422, (bad, r.text)
        assert [e["path"] for e in r.json()["errors"]] == ["query.lang"]
        assert "en, ru, ar" in r.json()["errors"][0]["message"]
    # nothing read (no audited read recorded) for a refused language
    assert len(co.ok("GET", f"/v1/notices/{nid}/reads")["reads"]) == reads
    # a party that may not see the notice learns nothing, in any language
    for lang in LANGS:
        r = un.get(f"/v1/notices/{nid}/printable", params={"lang": lang})
        assert r.status_code == 404 and "Strike-SYR" not in r.text and "coalition" not in r.text


@pytest.mark.skipif(
    not all(f.is_file() for f in UNICODE_FONTS),
    reason="Debian's fonts-dejavu-core is not installed (.ci/run installs it)",
)
def test_the_pdf_in_russian_and_arabic(world: World) -> None:
    co, ru = world.party("coalition"), world.party("russia")
    nid = co.ok("POST", "/v1/notices", _doc(), 201)["id"]
    for lang, words in (
        ("ru", ["Код проверки:", "Извещение:", "барометрическая высота"]),
        ("ar", ["رمز التحقق", "الإشعار", "ارتفاع ضغطي", "الحد الأعلى"]),
    ):
        r = ru.get(f"/v1/notices/{nid}/printable", params={"format": "pdf", "lang": lang})
        assert r.status_code == 200 and r.content.startswith(b"%PDF-")
        code = r.headers["x-verification-code"]
        pages = pypdf.PdfReader(io.BytesIO(r.content)).pages
        # the text as drawn (runs in visual order), without the bidi controls it carries
        printed = re.sub("[\u2066-\u2069]", "", "".join(p.extract_text() for p in pages))
        for word in [*words, code, "MGRS 37S BV 89414 46544", "35.640300 N, 36.674200 E"]:
            assert word in printed, (lang, word)
        assert "\\u" not in printed  # every letter drawn, no bidi control printed as a code


def test_print_and_verify_in_russian_on_the_command_line(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    co = world.party("coalition")
    nid = co.ok("POST", "/v1/notices", notice(["russia"], title="Удар SYR-0930"), 201)["id"]
    paper = tmp_path / "paper-ru.txt"
    hub = ["--server", world.url, "--token", world.tokens["russia"]]
    assert main(["notice", "print", nid, "--lang", "ru", "-o", str(paper), *hub]) == 0
    text = paper.read_text(encoding="utf-8")
    assert text.startswith("ИЗВЕЩЕНИЕ") and "Удар SYR-0930" in text
    code = text.split("Код проверки: ")[1].split()[0]
    capsys.readouterr()
    check = ["notice", "verify-paper", code, "--paper", str(paper), "--server", world.url]
    assert main(check) == 0
    assert "MATCH" in capsys.readouterr().out
    paper.write_text(text.replace("SYR-0930", "SYR-0931"), encoding="utf-8")
    assert main(check) == 1
    assert "NOT what was printed" in capsys.readouterr().err
    assert main(["notice", "print", nid, "--lang", "de", *hub]) != 0
    assert "lang" in capsys.readouterr().err


def _every_template() -> dict[str, Any]:
    """A notice that uses every message of the catalogue (holes, a corridor, a circle, a
    flight level, a relayed addressee, no deadline, a point by the pole)."""
    alt = {"value": 0, "units": "M", "reference": "AMSL"}
    times = {"time_start": "2015-09-30T06:00:00Z", "time_end": "2015-09-30T09:00:00Z"}
    ring = [[36.1, 35.2], [36.4, 35.2], [36.4, 35.45], [36.1, 35.2]]
    hole = [[36.2, 35.25], [36.3, 35.25], [36.3, 35.3], [36.2, 35.25]]
    return {
        **{"id": "n-1", "version": 1, "state": "active", "issuer": "msf", "kind": "fires"},
        **{"priority": 1, "title": "T", "remarks": "R", "addressees": ["a", "b"]},
        **{"created_at": "2015-09-30T05:00:00Z", "ack_deadline": None, "ledger_index": 3},
        "volumes": [
            {
                "geometry": {"type": "Polygon", "coordinates": [ring, hole]},
                "altitude_lower": alt,
                "altitude_upper": {"value": 250, "units": "FL"},
                **times,
            },
            {
                "geometry": {"type": "LineString", "coordinates": ring[:2]},
                "radius_m": 1852,
                "altitude_lower": alt,
                "altitude_upper": alt,
                **times,
            },
            {
                "geometry": {"type": "Point", "coordinates": [0.0, 89.9]},
                "radius_m": 300,
                "altitude_lower": alt,
                "altitude_upper": alt,
                **times,
            },
        ],
    }


def test_catalogues_a_translator_edits() -> None:
    """Each catalogue has every key of the English one, and every message renders (a
    placeholder the renderer does not supply would fail here, not on a liaison's desk)."""
    folder = files("deconflict.service") / "printable_i18n"
    english = json.loads((folder / "en.json").read_text(encoding="utf-8"))
    view = _every_template()
    for lang in LANGS:
        own = json.loads((folder / f"{lang}.json").read_text(encoding="utf-8"))
        assert set(own) == set(english), lang
        assert own["_direction"] in ("ltr", "rtl")
        text = render_text(view, "MSF", {"b": "un"}, lang) + _footer("ABCD-EFGH-JKLM", lang)
        deadline = {**view, "ack_deadline": "2015-09-30T08:00:00Z"}
        with_deadline = render_text(deadline, "M", {}, lang)
        assert "{" not in text.replace('{"code": ...}', "") and "}" not in text.replace(
            '{"code": ...}', ""
        )
        assert "2015-09-30T08:00:00Z" in with_deadline
        for key, message in own.items():
            if not key.startswith("_") and lang != "en":
                assert message.strip(), (lang, key)
        assert text.count("MGRS 37S") == 10, lang  # 4 + 4 points of the polygon, 2 of the line
        assert "MGRS Z AG 00000 88897" in text  # the pole: a UPS square, as MGRS writes it
