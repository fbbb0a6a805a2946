"""The map's print button (issue 17): the printed notice as a PDF in the interface's
language, with the same verification code whatever the language, said in the toast."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pypdf
import pytest
from playwright.sync_api import Browser, expect

from tests.service.helpers import World, notice
from tests.web.conftest import Officer, Watch

TITLE = "Printed strike package SYR-0930"


@pytest.fixture
def printed(world: World) -> str:
    """The notice, notified before anyone signs in (the maps load it as they open)."""
    doc = notice(["russia"], title=TITLE)
    nid: str = world.party("coalition").ok("POST", "/v1/notices", doc, 201)["id"]
    return nid


@pytest.fixture
def readers(
    browser: Browser, world: World, watch: Watch, printed: str
) -> Iterator[dict[str, Officer]]:
    made: dict[str, Officer] = {}
    try:
        for key, party, locale in (
            ("coalition", "coalition", "en-GB"),
            ("ru", "russia", "ru-RU"),
            ("ar", "russia", "ar-SY"),
        ):
            made[key] = Officer(
                browser, world, party, watch, locale=locale, viewport={"width": 1280, "height": 800}
            )
        yield made
    finally:
        for o in made.values():
            o.close()


def _pdf_text(path: Path) -> str:
    pages = pypdf.PdfReader(io.BytesIO(path.read_bytes())).pages
    return re.sub("[\u2066-\u2069]", "", "".join(p.extract_text() for p in pages))


def test_print_from_the_inbox_and_outbox_in_the_reader_s_language(
    readers: dict[str, Officer],
    printed: str,
    world: World,
    watch: Watch,
    shots: Path,
    tmp_path: Path,
) -> None:
    title, nid = TITLE, printed
    codes: dict[str, str] = {}
    for key, panel, heading in (
        ("coalition", "outbox", "DECONFLICT NOTICE"),
        ("ru", "inbox", "ИЗВЕЩЕНИЕ DECONFLICT"),
        ("ar", "inbox", "رمز التحقق"),
    ):
        page = readers[key].page
        page.click(f"#tab-{panel}")
        item = page.locator(f"#panel-{panel} [data-id='{nid}']")
        expect(item).to_contain_text(title)
        # every toast's text, kept: a toast leaves after 6 s, a loaded machine may be slower
        page.evaluate(
            """() => { window.__toasts = []; new MutationObserver((ms) => ms.forEach((m) =>
                m.addedNodes.forEach((n) => window.__toasts.push(n.textContent))))
                .observe(document.getElementById('toasts'), { childList: true }); }"""
        )
        with page.expect_download() as got:
            item.locator("[data-action=print]").click()
        download = got.value
        assert download.suggested_filename.endswith(f"-{'en' if key == 'coalition' else key}.pdf")
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
        printed = _pdf_text(saved)
        assert heading in printed and title in printed, key
        code = re.findall(r"[A-Z2-7]{4}(?:-[A-Z2-7]{4}){4}", printed)
        assert len(code) == 1, (key, code)
        codes[key] = code[0]
        page.wait_for_function(  # the toast says the code, to read out over the telephone
            "(code) => window.__toasts.some((t) => t.includes(code))", arg=code[0]
        )
        readers[key].shot(shots, f"print-{key}")
    assert len(set(codes.values())) == 1, codes  # one code on every language's paper
    assert world.client(None).ok("POST", "/v1/paper/verify", {"code": codes["ar"]})["match"]
    assert not watch.unexpected_errors() and not watch.blocked
