"""The printable notice (issue 15): text and PDF, and its verification code checked
against the ledger over the real server, failing for a changed paper or a guessed code."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import httpx
import pypdf
import pytest

from deconflict.cli import main
from deconflict.ledger.fingerprint import paper_code
from deconflict.service.printable import UNICODE_FONTS, body_of, render_pdf, render_text
from tests.service.helpers import World, notice


def test_printed_text_pdf_and_code_against_the_ledger(world: World) -> None:
    co, ru, un = world.party("coalition"), world.party("russia"), world.party("un")
    doc = notice(["russia"], title="Strike package SYR-0930", remarks="stay clear")
    doc["volumes"][0]["altitude_upper"] = {"value": 250, "units": "FL"}
    doc["volumes"].append(
        {
            "geometry": {"type": "Point", "coordinates": [36.3, 35.3]},
            "radius_m": 5000,
            "altitude_lower": {"value": 0, "units": "M", "reference": "AMSL"},
            "altitude_upper": {"value": 3000, "units": "M", "reference": "AMSL"},
            "time_start": doc["volumes"][0]["time_start"],
            "time_end": doc["volumes"][0]["time_end"],
        }
    )
    nid = co.ok("POST", "/v1/notices", doc, 201)["id"]
    r = ru.get(f"/v1/notices/{nid}/printable")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text, code = r.text, r.headers["x-verification-code"]
    assert f"Verification code: {code}" in text
    assert "35.200000 N, 36.100000 E" in text and "MGRS 37S BU" in text  # degrees and MGRS
    assert "25,000 ft / 7,620 m" in text  # FL250 in feet and metres
    assert "3,000 m AMSL" in text and "9,843 ft" in text
    assert "(UTC)" in text and "coalition (COALITION)" in text and "version 1" in text
    assert "circle of radius 5,000 m" in text

    # the code is the ledger leaf of this version, bound to the printed text
    served = ru.ok("GET", f"/v1/notices/{nid}")
    entry = co.ok("GET", f"/v1/ledger/proof/inclusion?index={served['ledger_index']}")
    leaf = base64.urlsafe_b64decode(entry["leaf_hash"] + "=" * (-len(entry["leaf_hash"]) % 4))
    assert paper_code(leaf, body_of(text)) == code

    anon = world.client(None)  # anyone holding the paper, no token
    found = anon.ok("POST", "/v1/paper/verify", {"code": code.lower().replace("-", " ")})
    assert found == {
        "match": True,
        "notice_id": nid,
        "version": 1,
        "issuer": "coalition",
        "ledger_index": served["ledger_index"],
        "says": found["says"],
    }
    assert anon.ok("POST", "/v1/paper/verify", {"code": code, "text": text})["text_matches"]
    # a changed coordinate on the paper: its text no longer carries this code
    forged = text.replace("36.100000 E", "36.200000 E", 1)
    assert forged != text and paper_code(leaf, body_of(forged)) != code
    assert not anon.ok("POST", "/v1/paper/verify", {"code": code, "text": forged})["text_matches"]
    # a guessed code (well formed) answers nothing; a malformed one names the field
    guess = anon.post("/v1/paper/verify", {"code": "ABCD-EFGH-JKLM-NPQR-STUV"})
    assert guess.status_code == 404 and nid not in guess.text and "coalition" not in guess.text
    bad = anon.post("/v1/paper/verify", {"code": "12"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"].endswith("code")

    # PDF, through a maintained library
    pdf = co.get(f"/v1/notices/{nid}/printable", params={"format": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["x-verification-code"] == code  # the same version, the same text
    # only those who see the notice print it
    assert un.get(f"/v1/notices/{nid}/printable").status_code == 404
    # a new version has a new code; the old paper still matches the old version
    co.ok("PUT", f"/v1/notices/{nid}", {**doc, "version": 1, "title": "amended"})
    r2 = ru.get(f"/v1/notices/{nid}/printable")
    assert r2.headers["x-verification-code"] != code and "version 2" in r2.text
    assert anon.ok("POST", "/v1/paper/verify", {"code": code})["version"] == 1


def test_paper_checks_are_rate_limited(tmp_path: Path) -> None:
    world = World(tmp_path, paper_checks_per_minute=3)
    try:
        anon = world.client(None)
        codes = [
            anon.post("/v1/paper/verify", {"code": "ABCD-EFGH-JKLM-NPQR-STU" + c}).status_code
            for c in "ABCDEF"
        ]
        assert codes[:3] == [404, 404, 404] and 429 in codes[3:]
    finally:
        world.stop()


def test_behind_a_proxy_one_client_s_flood_leaves_the_others_paper_checks(
    tmp_path: Path,
) -> None:
    """The check is keyed by the client's address: behind a proxy, the one it says in
    X-Forwarded-For (the README's nginx sets it; `FORWARDED_ALLOW_IPS` names the proxy).
    Without it every client was the proxy, one bucket: a stranger's 3 guesses a minute
    stopped every relay checking its papers."""
    world = World(tmp_path, paper_checks_per_minute=3)
    try:
        proxy = world.client(None)  # the test's client is at 127.0.0.1, the trusted proxy

        def check(client: str) -> httpx.Response:
            return proxy.post(
                "/v1/paper/verify",
                {"code": "ABCD-EFGH-JKLM-NPQR-STUV"},
                headers={"X-Forwarded-For": client},
            )

        flood = [check("203.0.113.7") for _ in range(6)]
        assert [r.status_code for r in flood[:3]] == [404, 404, 404]
        limited = next(r for r in flood[3:] if r.status_code == 429)
        assert "client address" in limited.json()["detail"], limited.text
        assert check("198.51.100.9").status_code == 404  # another client: its own bucket
    finally:
        world.stop()


def test_verify_paper_command(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _ = world.admin.ok(
        "POST", "/v1/parties", {"id": "syria", "name": "Syria", "reachable_via": "un"}, 201
    )
    co = world.party("coalition")
    nid = co.ok("POST", "/v1/notices", notice(["syria"], title="via UN"), 201)["id"]
    paper = tmp_path / "paper.txt"
    # the relay prints it to fax it
    assert (
        main(
            [
                "notice",
                "print",
                nid,
                "-o",
                str(paper),
                "--server",
                world.url,
                "--token",
                world.tokens["un"],
            ]
        )
        == 0
    )
    text = paper.read_text()
    assert "syria (through relay un)" in text
    code = text.split("Verification code: ")[1].split()[0]
    capsys.readouterr()
    assert main(["notice", "verify-paper", code, "--paper", str(paper), "--server", world.url]) == 0
    assert "MATCH" in capsys.readouterr().out
    paper.write_text(text.replace("via UN", "via UK"))
    assert main(["notice", "verify-paper", code, "--paper", str(paper), "--server", world.url]) == 1
    assert "NOT what was printed" in capsys.readouterr().err
    assert main(["notice", "verify-paper", "ABCD-EFGH-JKLM-NPQR-STUV", "--server", world.url]) == 1
    pdf = tmp_path / "paper.pdf"
    assert (
        main(
            [
                "notice",
                "print",
                nid,
                "--pdf",
                "-o",
                str(pdf),
                "--server",
                world.url,
                "--token",
                world.tokens["coalition"],
            ]
        )
        == 0
    )
    assert pdf.read_bytes().startswith(b"%PDF-")


def test_render_text_is_deterministic_and_covers_the_volume() -> None:
    view = {
        "id": "n-1",
        "version": 3,
        "state": "active",
        "issuer": "coalition",
        "kind": "fires",
        "priority": 5,
        "title": "T",
        "remarks": "",
        "addressees": ["syria"],
        "created_at": "2015-09-30T05:00:00.000000Z",
        "updated_at": "2015-09-30T05:00:00.000000Z",
        "ack_deadline": None,
        "ledger_index": 7,
        "volumes": [
            {
                "geometry": {"type": "LineString", "coordinates": [[36.1, 35.2], [36.4, 35.4]]},
                "radius_m": 1852,
                "altitude_lower": {"value": 0, "units": "FT", "reference": "W84"},
                "altitude_upper": {"value": 10000, "units": "FT", "reference": "W84"},
                "time_start": "2015-09-30T06:00:00Z",
                "time_end": "2015-09-30T09:00:00Z",
            }
        ],
    }
    a = render_text(view, "Coalition", {"syria": "un"})
    assert a == render_text(view, "Coalition", {"syria": "un"})
    assert "corridor 1,852 m (1.00 NM)" in a and "10,000 ft / 3,048 m W84" in a
    assert a.count("MGRS 37S") == 2 and "entry 7" in a


def _pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


@pytest.mark.skipif(
    not all(f.is_file() for f in UNICODE_FONTS),
    reason="Debian's fonts-dejavu-core is not installed (.ci/run installs it)",
)
def test_a_pdf_prints_the_parties_own_scripts(world: World) -> None:
    """A Russian title and a Syrian hospital's Arabic name are printed as written, not as
    code points; what no font here can draw is printed as its code point, never dropped."""
    co, ru = world.party("coalition"), world.party("russia")
    title = "Госпиталь №3 — مستشفى الشفاء — 漢"
    nid = co.ok("POST", "/v1/notices", {**notice(["russia"]), "title": title}, 201)["id"]
    pdf = ru.get(f"/v1/notices/{nid}/printable", params={"format": "pdf"})
    assert pdf.status_code == 200, pdf.text
    printed = _pdf_text(pdf.content)
    assert "Госпиталь №3" in printed
    assert "مستشفى الشفاء" in printed  # shaped, and read back in logical order
    assert "\\u6f22" in printed and "\\u04" not in printed and "\\u06" not in printed
    # without the fonts (a hub on a bare machine): Latin-1 only, the rest as code points
    bare = _pdf_text(render_pdf("Госпиталь, Raqqa", fonts=()))
    assert "\\u0413" in bare and "Raqqa" in bare


# What a hostile issuer's own text may not do on the paper (the paper cannot show which
# lines are the hub's and which the issuer's): break a line, or reorder the rest of it.
_LINE_OR_ORDER = re.compile(
    "[\n\r\x0b\x0c\x85\u2028\u2029\u061c\u200b\u200e\u200f\u202a-\u202e\u206a-\u206f\ufeff]"
)


@pytest.mark.parametrize("lang", ["en", "ru", "ar"])
def test_a_hostile_title_cannot_forge_a_line_or_reorder_one_on_the_paper(
    world: World, lang: str
) -> None:
    co, ru = world.party("coalition"), world.party("russia")
    # "FL100 to FL010" reversed by U+202E; a forged field of its own line in the remarks; a
    # U+2069 to close the isolate an Arabic paper sets the title in
    title = "Corridor \u202e010LF ot 001LF\u202c open \u206b\u200b(\u0645\u06cc\u200c\u062e)"
    remarks = "stay clear\nAcknowledge:   not required\u2069\u202eFL999"
    nid = co.ok("POST", "/v1/notices", notice(["russia"], title=title, remarks=remarks), 201)["id"]
    r = ru.get(f"/v1/notices/{nid}/printable", params={"lang": lang})
    assert r.status_code == 200, r.text
    text, code = r.text, r.headers["x-verification-code"]
    lines = text.split("\n")
    # one line each, the controls shown as their code points, the rest as written
    title_lines = [ln for ln in lines if "Corridor" in ln]
    assert len(title_lines) == 1
    # a joiner (Persian spells with it) is a letter's part: kept as written
    assert (
        "\\u202e010LF ot 001LF\\u202c open \\u206b\\u200b(\u0645\u06cc\u200c\u062e)"
        in title_lines[0]
    )
    remark_lines = [ln for ln in lines if "stay clear" in ln]
    assert len(remark_lines) == 1
    assert "stay clear\\u000aAcknowledge:   not required\\u2069\\u202eFL999" in remark_lines[0]
    assert not any(ln.lstrip("\u2068").startswith("Acknowledge:   not") for ln in lines)
    assert not _LINE_OR_ORDER.search(text.replace("\n", ""))
    # the only isolates on the paper are the hub's own, each closed (an Arabic paper's)
    opened = sum(text.count(c) for c in "\u2066\u2067\u2068")
    assert opened == text.count("\u2069") == (0 if lang != "ar" else opened)
    # the paper so printed is the one its code covers
    anon = world.client(None)
    found = anon.ok("POST", "/v1/paper/verify", {"code": code, "text": text})
    assert found["notice_id"] == nid and found["text_matches"] is True
    # and the PDF is printed from that text
    pdf = ru.get(f"/v1/notices/{nid}/printable", params={"lang": lang, "format": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
