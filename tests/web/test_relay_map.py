"""Relayed parties on the map (issue 15): the issuer follows its notice's relay chain in the
outbox; the relay sees what it owes, overdue first, and records its steps there; a party that
is not the issuer or the relay sees nothing of the chain."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.service.helpers import World, notice
from tests.web.conftest import Officer, Watch

MISSION = "Syrian Mission, duty officer"
ANSWERER = "Permanent Representative's office"


@pytest.fixture(scope="module")
def relayed(world: World) -> str:
    """Syria, reachable only through the UN, registered before anyone signs in."""
    world.admin.ok(
        "POST",
        "/v1/parties",
        {"id": "syria", "name": "Syrian Arab Republic", "reachable_via": "un"},
        201,
    )
    return "syria"


@pytest.fixture
def desks(
    browser: Browser, world: World, watch: Watch, relayed: str
) -> Iterator[dict[str, Officer]]:
    made: dict[str, Officer] = {}
    try:
        for party in ("coalition", "un", "russia"):
            made[party] = Officer(
                browser, world, party, watch, viewport={"width": 1280, "height": 800}
            )
        yield made
    finally:
        for o in made.values():
            o.close()


def _in(seconds: float) -> str:
    t = datetime.now(UTC) + timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _relay_requests(page: Page) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url) if "/relay" in r.url else None)
    return seen


def _wait(fn: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = fn()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_the_chain_on_the_issuers_map_and_the_relays_desk(
    desks: dict[str, Officer], world: World, watch: Watch, shots: Path
) -> None:
    co, un, ru = desks["coalition"].page, desks["un"].page, desks["russia"].page
    ru_asked = _relay_requests(ru)
    expect(co.locator("#tab-relay")).to_be_hidden()  # the coalition relays nothing
    expect(un.locator("#tab-relay")).to_be_visible()

    # The issuer is told in the editor's dry run that the relay will read it in full.
    co.click("#btn-new")
    co.fill("#f-title", "Strike package SYR-0930")
    co.check("input[name=addr][value=syria]")
    co.check("input[name=addr][value=russia]")
    co.check("input[name=shape][value=Point]")
    co.fill("#f-coords", "35.3 36.2")
    co.fill("#f-upper-value", "25000")
    co.fill("#f-deadline", (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%d %H:%MZ"))
    co.click("#f-check")
    note = co.locator("[data-testid=relayed-note]")
    expect(note).to_contain_text("syria never connects")
    expect(note).to_contain_text("relay un")
    co.click("#f-send")
    expect(co.locator("#panel-outbox")).to_contain_text("Strike package SYR-0930")
    api = world.party("coalition")
    mine = api.ok("GET", "/v1/notices?issuer=coalition")["notices"]
    nid = next(n["id"] for n in mine if n["title"] == "Strike package SYR-0930")

    # The relay: the notice is on its desk once its map has confirmed it (received).
    un.click("#tab-relay")
    desk = un.locator("#panel-relay")
    item = desk.locator(f"[data-notice='{nid}'][data-recipient=syria]")
    expect(item).to_have_attribute("data-owes", "forward")
    expect(item).to_contain_text("Strike package SYR-0930")
    expect(item).to_contain_text("from coalition for syria")
    expect(item.locator("[data-testid=relay-chain]")).to_contain_text("Delivered to relay un")
    expect(item.locator("[data-testid=relay-chain]")).to_contain_text("To be forwarded by un by")
    expect(un.locator("#badge-relay")).to_have_text("1")
    expect(un.locator("#panel-inbox [data-testid=you-relay]")).to_contain_text(
        "You relay this to syria"
    )

    # A forwarding without saying to whom: the hub's refusal at its field, nothing stored.
    forward = item.locator("form[data-form=forward]")
    forward.get_by_label("How").select_option("phone")
    watch.expected.append("status of 422")
    forward.get_by_role("button", name="Record forwarding").click()
    expect(item.locator("form[data-form=forward] .field-error[data-path=to]")).to_contain_text(
        "required"
    )
    chain = world.party("un").ok("GET", f"/v1/notices/{nid}/relay")
    assert [s["step"] for s in chain["legs"][0]["steps"]] == ["received"]

    # ... then as it should be; the choice of means survived the redraw.
    forward = item.locator("form[data-form=forward]")
    expect(forward.get_by_label("How")).to_have_value("phone")
    forward.get_by_label("To whom").fill(MISSION)
    forward.get_by_role("button", name="Record forwarding").click()
    expect(item).to_have_attribute("data-owes", "answer")
    expect(item.locator("[data-testid=relay-chain]")).to_contain_text(
        f"Forwarded by un (phone) to {MISSION}"
    )

    # The issuer sees the chain in its notice's card, live.
    co_card = co.locator(f"#panel-outbox [data-id='{nid}']")
    co_chain = co_card.locator("[data-testid=relay-chain][data-recipient=syria]")
    expect(co_card.locator("[data-addressee=syria]")).to_contain_text("through relay un")
    expect(co_chain).to_contain_text("Delivered to relay un")
    expect(co_chain).to_contain_text(f"Forwarded by un (phone) to {MISSION}")
    expect(co_chain).to_contain_text("Answer due by")
    expect(co_card.locator("[data-addressee=russia] [data-testid=relay-chain]")).to_have_count(0)
    desks["coalition"].shot(shots, "relay-chain-forwarded")

    # The relay records the answer it got by telephone: final, it leaves the desk.
    answer = item.locator("form[data-form=answer]")
    answer.get_by_label("Answer", exact=True).select_option("acknowledged")
    answer.get_by_label("Answered by").fill(ANSWERER)
    answer.get_by_label("How").select_option("phone")
    desks["un"].shot(shots, "relay-desk-answer")
    answer.get_by_role("button", name="Record the answer").click()
    expect(desk).to_contain_text("Nothing to pass on")
    expect(un.locator("#badge-relay")).to_have_text("")

    expect(co_chain).to_contain_text(f"Acknowledged by {ANSWERER} (phone)")
    expect(co_chain).to_contain_text("as reported by un")
    expect(co_chain.locator("[data-step=awaiting]")).to_have_count(0)
    expect(co_card.locator("[data-addressee=syria] .st-acknowledged").first).to_be_visible()
    desks["coalition"].shot(shots, "relay-chain-acknowledged")

    # Russia, an addressee of the same notice, learns nothing of the chain.
    ru_card = ru.locator(f"#panel-inbox [data-id='{nid}']")
    expect(ru_card).to_contain_text("Strike package SYR-0930")
    expect(ru.locator("#tab-relay")).to_be_hidden()
    assert ru.locator("[data-testid=relay-chain]").count() == 0
    body = ru.locator("body").inner_text()
    assert MISSION not in body and ANSWERER not in body
    assert ru_asked == [], ru_asked  # its map never asked for a chain
    r = world.party("russia").get(f"/v1/notices/{nid}/relay")
    assert r.status_code == 403


def test_the_desk_puts_what_escalated_first_and_the_issuer_sees_the_escalation(
    desks: dict[str, Officer], world: World
) -> None:
    co, un = desks["coalition"].page, desks["un"].page
    api = world.party("coalition")
    later = api.ok("POST", "/v1/notices", notice(["syria"], title="Transit LATER", lon=36.9), 201)[
        "id"
    ]
    # forwarding deadline: half the time to the acknowledgement deadline (about 15 s)
    soon = api.ok(
        "POST",
        "/v1/notices",
        notice(["syria"], title="Strike SOON", lon=37.3, ack_deadline=_in(30)),
        201,
    )["id"]

    un.click("#tab-relay")
    desk = un.locator("#panel-relay")
    late = desk.locator(f"[data-notice='{soon}']")
    expect(late.locator(".st-overdue").first).to_be_visible(timeout=60_000)
    expect(late.locator("[data-testid=relay-chain]")).to_contain_text("escalated")
    order = desk.locator(".item.relay").evaluate_all("els => els.map(e => e.dataset.notice)")
    assert order.index(soon) < order.index(later), order

    co.reload()  # notices sent through the API reach the issuer's map when it loads
    co.wait_for_selector("#conn[data-state=live]")
    co.click("#tab-outbox")
    co_chain = co.locator(f"#panel-outbox [data-id='{soon}'] [data-testid=relay-chain]")
    expect(co_chain).to_contain_text("Not forwarded by un by", timeout=60_000)
    expect(co_chain).to_contain_text("escalated")
    expect(co_chain.locator(".st-overdue")).to_have_count(1)
    # the relayed party's acknowledgement deadline passes too: that link escalates as well
    _wait(
        lambda: any(
            a["overdue"]
            for a in api.ok("GET", "/v1/acks?role=issuer")["acks"]
            if a["notice_id"] == soon
        ),
        timeout=90.0,
    )
    expect(
        co.locator(f"#panel-outbox [data-id='{soon}'] [data-addressee=syria] .st-overdue").first
    ).to_be_visible()


def test_a_relayed_hotline_message_on_the_relays_desk_and_the_senders_receipt(
    desks: dict[str, Officer], world: World
) -> None:
    co, un = desks["coalition"].page, desks["un"].page
    sent = world.party("coalition").ok(
        "POST",
        "/v1/messages",
        {"to": ["syria"], "priority": "urgent", "subject": "Air activity", "body": "Stay clear"},
        201,
    )
    mid = sent["id"]

    # The relay's hotline carries it, as something it relays, not something unread.
    un.click("#tab-hotline")
    card = un.locator(f"#chat [data-id='{mid}']")
    expect(card).to_contain_text("Stay clear")
    expect(card).to_contain_text("You relay it to syria")
    expect(un.locator("#badge-hotline")).to_have_text("")
    # On its desk: received once its map confirmed it, then forwarded and answered there.
    un.click("#tab-relay")
    item = un.locator(f"#panel-relay [data-message='{mid}'][data-recipient=syria]")
    expect(item).to_have_attribute("data-owes", "forward")
    expect(item).to_contain_text("hotline message from coalition for syria")
    expect(item.locator("[data-testid=relay-chain]")).to_contain_text("Delivered to relay un")
    forward = item.locator("form[data-form=forward]")
    forward.get_by_label("How").select_option("fax")
    forward.get_by_label("To whom").fill(MISSION)
    forward.get_by_role("button", name="Record forwarding").click()
    expect(item).to_have_attribute("data-owes", "answer")
    expect(item.locator("[data-testid=relay-chain]")).to_contain_text(
        f"Forwarded by un (fax) to {MISSION}"
    )
    answer = item.locator("form[data-form=answer]")
    answer.get_by_label("Answer", exact=True).select_option("acknowledged")
    answer.get_by_label("Answered by").fill(ANSWERER)
    answer.get_by_role("button", name="Record the answer").click()
    expect(item).to_have_count(0)
    # the hub never heard a read receipt from the relay itself
    assert world.party("un").post(f"/v1/messages/{mid}/read").status_code == 403

    # The sender's hotline: syria's receipt is read, through relay un.
    co.reload()
    co.wait_for_selector("#conn[data-state=live]")
    co.click("#tab-hotline")
    receipt = co.locator(f"#chat [data-id='{mid}'] .receipt")
    expect(receipt).to_contain_text("syria ✓✓")
    expect(receipt).to_contain_text("through relay un")


def test_the_senders_hotline_shows_a_relayed_messages_chain_live(
    desks: dict[str, Officer], world: World, shots: Path
) -> None:
    co, ru = desks["coalition"].page, desks["russia"].page
    ru_asked = _relay_requests(ru)
    co.click("#tab-hotline")
    co.select_option("#chat-to", ["syria", "russia"])
    co.select_option("#chat-priority", "urgent")
    co.fill("#chat-body", "Advised to stay clear of Raqqa province tonight")
    co.locator("#chat-form button[type=submit]").click()
    card = co.locator("#chat .msg.out", has_text="Advised to stay clear of Raqqa")
    expect(card).to_have_count(1)
    mid = card.get_attribute("data-id")
    assert mid and mid.startswith("m-")
    chain = card.locator("[data-testid=relay-chain][data-recipient=syria]")
    # russia reads the hub itself: its receipt has no chain; syria's has one, from the start
    expect(card.locator("[data-testid=relay-chain]")).to_have_count(1)
    # the relay's map confirms the message: the first link, live on the sender's map
    expect(chain).to_contain_text("Delivered to relay un")
    expect(chain).to_contain_text("To be forwarded by un by")

    # The relay records what it did (by its API: its desk is the other test's); each step
    # reaches the sender's open hotline as a relay_step event.
    un = world.party("un")
    un.ok(
        "POST",
        f"/v1/messages/{mid}/relay",
        {"step": "forwarded", "means": "fax", "to": MISSION, "recipient": "syria"},
    )
    expect(chain).to_contain_text(f"Forwarded by un (fax) to {MISSION}")
    expect(chain).to_contain_text("Answer awaited")
    un.ok(
        "POST",
        f"/v1/messages/{mid}/relay",
        {"step": "acknowledged", "means": "phone", "by": ANSWERER, "recipient": "syria"},
    )
    expect(chain).to_contain_text(f"Acknowledged by {ANSWERER} (phone)")
    expect(chain).to_contain_text("as reported by un")
    expect(chain.locator("[data-step=awaiting]")).to_have_count(0)
    expect(card.locator(".receipt")).to_contain_text("syria ✓✓")
    # each step with the ledger index the hub gave it
    legs = world.party("coalition").ok("GET", f"/v1/messages/{mid}/relay")["legs"]
    (leg,) = legs
    items = chain.locator("li[data-step]")
    expect(items).to_have_count(3)
    for i, s in enumerate(leg["steps"]):
        expect(items.nth(i)).to_have_attribute("data-step", s["step"])
        expect(items.nth(i)).to_contain_text(f"ledger #{s['ledger_index']}")
    desks["coalition"].shot(shots, "relay-message-chain")

    # russia, a recipient of the same message, learns nothing of the chain, nor asks
    ru.click("#tab-hotline")
    ru_card = ru.locator(f"#chat [data-id='{mid}']")
    expect(ru_card).to_contain_text("Advised to stay clear of Raqqa")
    assert ru.locator("[data-testid=relay-chain]").count() == 0
    assert MISSION not in ru.locator("body").inner_text()
    assert ru_asked == [], ru_asked
    assert world.party("russia").get(f"/v1/messages/{mid}/relay").status_code == 403
