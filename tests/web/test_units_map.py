"""Units on the map (issue 15): the liaison sees its units' areas and, in its inbox, which
units have each notice, live."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from tests.service.helpers import World, notice
from tests.web.conftest import Officer

WEST = [[36.0, 35.0], [36.5, 35.0], [36.5, 35.6], [36.0, 35.6], [36.0, 35.0]]


def test_the_inbox_shows_which_units_have_a_notice(
    officers: dict[str, Officer], world: World, shots: Path
) -> None:
    co = officers["coalition"].page
    api = world.party("coalition")
    made = api.ok(
        "POST",
        "/v1/units",
        {
            "id": "coalition/west",
            "name": "West cell",
            "area": {"geometry": {"type": "Polygon", "coordinates": [WEST]}},
        },
        201,
    )
    n = world.party("russia").ok(
        "POST", "/v1/notices", notice(["coalition"], title="CAP north"), 201
    )
    inbox = co.locator("#panel-inbox")
    expect(inbox).to_contain_text("CAP north")
    line = inbox.locator("[data-testid=units]")
    expect(line).to_contain_text("Units: 0 of 1 have it")
    expect(line.locator("[data-unit='coalition/west'] .st-pending")).to_be_visible()
    expect(co.locator(".leaflet-overlay-pane path.unit-area")).to_have_count(1)
    # The unit's terminal confirms: the inbox follows, live.
    unit = world.client(made["token"])
    last = unit.get("/v1/unit/events", headers={"Accept": "application/json"}).json()["events"][-1]
    unit.ok("POST", "/v1/unit/confirm", {"last_event_id": last["id"]})
    expect(line).to_contain_text("Units: 1 of 1 have it")
    expect(line.locator("[data-unit='coalition/west'] .st-delivered")).to_be_visible()
    officers["coalition"].shot(shots, "units-inbox")
    assert n["id"]
