"""The map confirms the events it has shown: that, not the socket write, is the delivery."""

from __future__ import annotations

import json
import time

from playwright.sync_api import Browser, expect

from tests.service.helpers import World, notice
from tests.web.conftest import Officer, Watch


def test_the_map_confirms_what_it_showed(browser: Browser, world: World, watch: Watch) -> None:
    officer = Officer(browser, world, "russia", watch, viewport={"width": 1280, "height": 800})
    try:
        co = world.party("coalition")
        n = co.ok("POST", "/v1/notices", notice(["russia"], title="Shown on the map"), 201)
        expect(officer.page.locator("#panel-inbox")).to_contain_text("Shown on the map")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            (ack,) = [
                a for a in co.ok("GET", "/v1/acks?role=issuer")["acks"] if a["notice_id"] == n["id"]
            ]
            if ack["state"] == "delivered":
                break
            officer.page.wait_for_timeout(100)  # (the page's requests pass through this process)
        assert ack["state"] == "delivered"
        entries = world.admin.ok("GET", "/v1/ledger/entries?start=0")["entries"]
        deliveries = [
            e for e in (json.loads(x["entry"]) for x in entries) if e["type"] == "delivery"
        ]
        assert [(e["notice_id"], e["via"]) for e in deliveries] == [(n["id"], "confirm")]
    finally:
        officer.close()
