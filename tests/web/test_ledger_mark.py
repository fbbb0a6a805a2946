"""The browser checks each shown notice against the hub's ledger (issue 12).

An honest hub: Russia's card of the coalition's notice says it was checked against its
ledger entry in a signed head (SHA-256 inclusion and the Ed25519 head signature, both in
WebCrypto). Then the operator stops the hub, changes the notice's title in the SQLite file
and restarts it past the start-up cross-check (its explicit option): the card shows the
changed title, and a warning that it does not match the ledger.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.service.helpers import World, notice
from tests.web.conftest import Officer, Watch


@pytest.fixture
def own_world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path)  # its own hub: this test edits the database
    try:
        yield w
    finally:
        w.stop()


def test_a_shown_notice_is_checked_and_a_changed_one_is_flagged(
    browser: Browser, own_world: World, watch: Watch, shots: Path
) -> None:
    w = own_world
    made = w.party("coalition").ok("POST", "/v1/notices", notice(["russia"], title="Strike"), 201)
    ru = Officer(browser, w, "russia", watch, viewport={"width": 1280, "height": 800})
    try:
        card = ru.page.locator(f'#panel-inbox [data-id="{made["id"]}"]')
        expect(card).to_contain_text("Strike")
        mark = card.locator(".ledger-mark")
        expect(mark).to_have_attribute("data-ledger", "checked")
        text = mark.inner_text()
        assert f"checked against ledger entry {made['ledger_index']}, head size" in text
        signed = ru.page.evaluate(
            "crypto.subtle.importKey('raw', new Uint8Array(32), {name: 'Ed25519'}, false, "
            "['verify']).then(() => true, () => false)"
        )
        # this Chromium verifies Ed25519: the head's signature was checked in the browser
        assert signed and "not checked in this browser" not in text
        ru.shot(shots, "ledger-01-checked")
    finally:
        ru.close()

    w.stop()
    con = sqlite3.connect(w.db)
    assert con.execute("UPDATE notice_versions SET title = 'Strike (cancelled)'").rowcount == 1
    con.commit()
    con.close()
    w.overrides["ledger_start_despite_mismatch"] = True  # the hub refuses to start otherwise
    w.start()
    ru = Officer(browser, w, "russia", watch, viewport={"width": 1280, "height": 800})
    try:
        card = ru.page.locator(f'#panel-inbox [data-id="{made["id"]}"]')
        expect(card).to_contain_text("Strike (cancelled)")
        mark = card.locator(".ledger-mark")
        expect(mark).to_have_attribute("data-ledger", "mismatch")
        expect(mark).to_contain_text(f"does not match ledger entry {made['ledger_index']}")
        expect(mark).to_contain_text("title differs")
        ru.shot(shots, "ledger-02-mismatch")
    finally:
        ru.close()
