"""The liaison officers' story in a real browser: notify, receive, acknowledge, conflict, talk.

Two parties sign in in two browser contexts against a real hub on 127.0.0.1.
Everything happens through the UI and arrives live over the event stream.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from tests.service.helpers import World, notice, volume
from tests.web.conftest import Officer, Watch

# Four corners clicked on the map, in pixels from its top-left corner.
CORNERS = [(300, 250), (460, 250), (460, 400), (300, 400)]


def test_notify_acknowledge_conflict_hotline(
    officers: dict[str, Officer], watch: Watch, shots: Path
) -> None:
    co, ru = officers["coalition"].page, officers["russia"].page
    expect(co.locator("#who")).to_have_text("coalition")
    expect(ru.locator("#panel-inbox")).to_contain_text("Nothing has been notified to you")

    # Coalition: a new notice; sending it with no footprint shows the server's error there.
    co.click("#btn-new")
    co.fill("#f-title", "Strike package BRAVO")
    co.check("input[name=addr][value=russia]")
    watch.expected.append("status of 422")
    co.click("#f-send")
    geometry_error = co.locator('.field-error[data-path="volumes[0].geometry"]')
    expect(geometry_error).not_to_be_empty()

    # ... then draws the polygon on the map: four clicks and Enter.
    co.click("#f-draw")
    expect(co.locator("#drawbar")).to_be_visible()
    for x, y in CORNERS:
        co.locator("#map").click(position={"x": x, "y": y})
    co.keyboard.press("Enter")
    expect(co.locator("#drawbar")).to_be_hidden()
    coords = co.input_value("#f-coords").splitlines()
    assert len(coords) == 4
    co.fill("#f-upper-value", "25000")
    officers["coalition"].shot(shots, "01-coalition-drawn")
    co.click("#f-send")
    outbox = co.locator("#panel-outbox")
    expect(outbox).to_contain_text("Strike package BRAVO")
    expect(outbox.locator("[data-addressee=russia]")).to_be_visible()

    # Russia: the notice arrives live, on the map and in the inbox; acknowledge it.
    inbox = ru.locator("#panel-inbox")
    expect(inbox).to_contain_text("Strike package BRAVO")
    expect(ru.locator("#badge-inbox")).to_have_text("1")
    expect(ru.locator(".leaflet-overlay-pane path.leaflet-interactive").first).to_be_visible()
    officers["russia"].shot(shots, "02-russia-received")
    inbox.get_by_role("button", name="Acknowledge").click()
    expect(inbox.locator(".st-acknowledged")).to_be_visible()
    expect(ru.locator("#badge-inbox")).to_have_text("")

    # Coalition: the acknowledgement turns up in the outbox, live.
    expect(outbox.locator("[data-addressee=russia] .st-acknowledged")).to_be_visible()
    officers["coalition"].shot(shots, "03-coalition-acknowledged")

    # Russia: a fires corridor typed across the strike area; check, then send.
    ru.click("#btn-new")
    ru.select_option("#f-kind", "fires")
    ru.fill("#f-title", "Fires corridor")
    ru.check("input[name=addr][value=coalition]")
    ru.check("input[name=shape][value=LineString]")
    ru.fill("#f-coords", f"{coords[0]}\n{coords[2]}")
    ru.fill("#f-radius", "2000")
    ru.click("#f-check")
    expect(ru.locator("[data-testid=check-result]")).to_contain_text("would conflict with 1")
    officers["russia"].shot(shots, "04-russia-check")
    ru.click("#f-send")
    expect(ru.locator("#panel-outbox")).to_contain_text("Fires corridor")

    # Coalition: the conflict appears live, with its overlap region on the map.
    expect(co.locator("#badge-conflicts")).to_have_text("1")
    co.click("[data-tab=conflicts]")
    conflicts = co.locator("#panel-conflicts")
    expect(conflicts.locator(".st-open")).to_be_visible()
    expect(conflicts).to_contain_text("russia's “Fires corridor”")
    expect(co.locator(".leaflet-conflicts-pane path").first).to_be_visible()
    officers["coalition"].shot(shots, "05-coalition-conflict")

    # Hotline about the conflict: delivered and read receipts come back live.
    conflicts.get_by_role("button", name="Hotline russia").click()
    co.fill("#chat-body", "Your fires corridor crosses BRAVO. Please confirm timing.")
    co.click("#chat-form button[type=submit]")
    expect(ru.locator("#badge-hotline")).to_have_text("1")
    ru.click("[data-tab=hotline]")
    expect(ru.locator("#chat")).to_contain_text("crosses BRAVO")
    expect(co.locator("#chat .receipt")).to_contain_text("read")
    officers["coalition"].shot(shots, "06-coalition-hotline")


def test_time_filter_and_reconnect_resume(
    officers: dict[str, Officer], world: World, watch: Watch, shots: Path
) -> None:
    co, ru = officers["coalition"].page, officers["russia"].page
    api = world.party("coalition")
    api.ok(
        "POST",
        "/v1/notices",
        {**notice(["russia"], title="Later today"), "volumes": [volume(start_h=5.0)]},
        201,
    )
    overlay = ru.locator(".leaflet-overlay-pane path.leaflet-interactive")
    expect(overlay.first).to_be_visible()

    # "Now" shows only what is active now: the notice starts in five hours.
    ru.click("#time-now")
    expect(ru.locator("#time-label")).to_contain_text("now")
    expect(overlay).to_have_count(0)
    ru.click("#time-all")
    expect(overlay.first).to_be_visible()

    # The stream drops; the indicator says so; on return it resumes where it stopped.
    watch.expected.append("ERR_INTERNET_DISCONNECTED")  # the browser's own log of failed fetches
    officers["russia"].context.set_offline(True)
    expect(ru.locator("#conn")).not_to_have_attribute("data-state", "live", timeout=15_000)
    officers["russia"].shot(shots, "07-russia-offline")
    api.ok("POST", "/v1/messages", {"to": ["russia"], "body": "sent while you were away"}, 201)
    officers["russia"].context.set_offline(False)
    expect(ru.locator("#conn")).to_have_attribute("data-state", "live", timeout=20_000)
    expect(ru.locator("#badge-hotline")).to_have_text("1")
    ru.click("[data-tab=hotline]")
    expect(ru.locator("#chat")).to_contain_text("sent while you were away")
    expect(co.locator("#conn")).to_have_attribute("data-state", "live")
