"""The map for the night shift, on the shipped demo, in each party's language.

`deconflict demo` runs in a process of its own (as a newcomer starts it); each
officer signs in with the token it printed, in a browser whose language is
English, Russian or Arabic. Screenshots of the map and of every panel go to
the run's screenshot folder (`DECONFLICT_WEB_SHOTS`, else a pytest tmp dir).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from pyproj import Proj

from deconflict.cli.demo import DEFAULT_SCENARIO
from tests.web.conftest import Demo, Officer, Watch

I18N = Path(__file__).resolve().parents[2] / "src" / "deconflict" / "web" / "static" / "i18n"
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1280, "height": 800}
TABLET = {"width": 820, "height": 1180}
HOSPITAL = "Hospital, Ma'arrat al-Nu'man (MSF-supported)"

# (language, party, Idlib in that language, a notice label it sees, an alert its tab shows)
SIGN_INS = [
    ("en", "coalition", "Idlib", "Strike package", "VIPER11"),
    ("ru", "russia", "Идлиб", "Combat air patrol", "ORLAN3"),
    ("ar", "msf", "إدلب", "Hospital", HOSPITAL),
]


def catalogue(lang: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((I18N / f"{lang}.json").read_text(encoding="utf-8"))
    return doc


def _settled(page: Page) -> None:
    page.wait_for_function("() => !document.querySelector('.leaflet-zoom-anim')")
    page.wait_for_timeout(400)


def _sign_in(
    browser: Browser, demo: Demo, party: str, watch: Watch, lang: str, **ctx: Any
) -> Officer:
    o = Officer(
        browser, demo, party, watch, locale=lang, viewport=ctx.pop("viewport", DESKTOP), **ctx
    )
    expect(o.page.locator(".leaflet-tooltip.place-label").first).to_be_visible()
    _settled(o.page)
    return o


@pytest.mark.parametrize(("lang", "party", "idlib", "label", "alert"), SIGN_INS)
def test_sign_in_in_each_language(
    browser: Browser,
    demo: Demo,
    watch: Watch,
    shots: Path,
    lang: str,
    party: str,
    idlib: str,
    label: str,
    alert: str,
) -> None:
    o = _sign_in(browser, demo, party, watch, lang)
    page, cat = o.page, catalogue(lang)
    try:
        # The browser's language chose the interface's, and says so in the selector.
        expect(page.locator("html")).to_have_attribute("lang", lang)
        expect(page.locator("html")).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")
        expect(page.locator("#app-lang")).to_have_value(lang)
        expect(page.locator("#tab-inbox")).to_contain_text(cat["tab.inbox"])
        expect(page.locator("#btn-new")).to_have_text(cat["btn.new"])
        expect(page.locator("#conn")).to_have_text(cat["conn.live"])

        # Place names at the demo's zoom, in the reader's language; the map itself never mirrors.
        expect(page.locator(".leaflet-tooltip.place-label", has_text=idlib).first).to_be_visible()
        assert page.evaluate("getComputedStyle(document.querySelector('#map')).direction") == "ltr"
        # Notices carry their short titles on the map.
        expect(page.locator(".notice-label span:visible", has_text=label).first).to_be_visible()
        # The pointer's position in decimal degrees and MGRS.
        page.mouse.move(300, 300)
        expect(page.locator("[data-testid=readout-mgrs]")).to_contain_text("MGRS 37S")
        o.shot(shots, f"20-{lang}-{party}-map")

        for tab in ("inbox", "outbox", "conflicts", "alerts", "hotline"):
            page.click(f"#tab-{tab}")
            expect(page.locator(f"#panel-{tab}")).to_be_visible()
            expect(page.locator(f"#tab-{tab}")).to_have_attribute("aria-selected", "true")
            if tab == "alerts":
                # The demo's tracks keep the tab alive; alerts are named by callsign or title.
                item = page.locator("#panel-alerts .item.alert", has_text=alert).first
                expect(item).to_be_visible(timeout=150_000)
                _settled(page)
            o.shot(shots, f"21-{lang}-{party}-{tab}")

        # The selector switches the language at once, the map's names included.
        page.select_option("#app-lang", "en" if lang != "en" else "ru")
        expect(page.locator("html")).to_have_attribute("lang", "en" if lang != "en" else "ru")
        other = "Idlib" if lang != "en" else "Идлиб"
        expect(page.locator(".leaflet-tooltip.place-label", has_text=other).first).to_be_visible()
        page.evaluate("localStorage.removeItem('deconflict.lang')")
    finally:
        o.close()


def test_the_demo_back_channel_message_chain_in_the_coalitions_hotline(
    browser: Browser, demo: Demo, watch: Watch, shots: Path
) -> None:
    """The demo's urgent message to syria (issue 15), in Arabic: its receipt carries the
    chain un-liaison recorded, delivered -> faxed -> acknowledged by telephone."""
    said = json.loads(DEFAULT_SCENARIO.read_text(encoding="utf-8"))["back_channel"]["message"]
    o = _sign_in(browser, demo, "coalition", watch, "ar")
    page = o.page
    try:
        page.click("#tab-hotline")
        card = page.locator("#chat .msg.out", has_text=said["body"][:40])
        chain = card.locator("[data-testid=relay-chain][data-recipient=syria]")
        steps = chain.locator("li[data-step]")
        expect(steps).to_have_count(3)
        assert steps.evaluate_all("els => els.map(e => e.dataset.step)") == [
            "received",
            "forwarded",
            "acknowledged",
        ]
        expect(steps.nth(1)).to_contain_text(said["forwarded"]["to"])
        expect(steps.nth(2)).to_contain_text(said["acknowledged"]["by"])
        # named in the reader's language (the names isolated for the bidi algorithm)
        label = chain.get_attribute("aria-label") or ""
        assert label.startswith(catalogue("ar")["relay.chain"].split("{")[0]), label
        assert "syria" in label and "un-liaison" in label, label
        o.shot(shots, "23-ar-coalition-relayed-message")
    finally:
        o.close()


def test_alerts_name_only_what_the_viewer_may_see(
    browser: Browser, demo: Demo, watch: Watch, shots: Path
) -> None:
    """The UAS crosses msf's hospital: russia (the hospital was addressed to every party)
    reads its title beside its own callsign; msf reads its own title and only "russia"
    for the track, never the callsign."""
    ru = _sign_in(browser, demo, "russia", watch, "en")
    msf = _sign_in(browser, demo, "msf", watch, "en")
    try:
        ru.page.click("#tab-alerts")
        msf.page.click("#tab-alerts")
        mine = ru.page.locator(
            "#panel-alerts .item.alert[data-kind=intrusion]", has_text="ORLAN3"
        ).first
        expect(mine).to_contain_text(f"msf's “{HOSPITAL}”", timeout=150_000)
        theirs = msf.page.locator("#panel-alerts .item.alert[data-kind=intrusion]").first
        expect(theirs).to_contain_text("russia track", timeout=60_000)
        expect(theirs).to_contain_text(f"your “{HOSPITAL}”")
        assert "ORLAN3" not in msf.page.content()
        _settled(msf.page)
        msf.shot(shots, "22-msf-intrusion")
    finally:
        ru.close()
        msf.close()


def test_a_half_typed_comment_survives_live_updates(
    browser: Browser, demo: Demo, watch: Watch, shots: Path
) -> None:
    o = _sign_in(browser, demo, "russia", watch, "ru")
    page = o.page
    try:
        # Russia owes the acknowledgement the demo let run out (the Raqqa strike package).
        comment = page.locator("#panel-inbox [data-keep^='ack:']").first
        comment.click()
        page.keyboard.type("Получено, передаю в опер")
        # Live updates redraw the inbox: a message and a new notice from the coalition.
        co = demo.tokens["coalition"]
        import httpx

        with httpx.Client(base_url=demo.url, headers={"Authorization": f"Bearer {co}"}) as api:
            r = api.post("/v1/messages", json={"to": ["russia"], "body": "Confirm receipt, please"})
            assert r.status_code == 201, r.text
            expect(page.locator("#badge-hotline")).not_to_have_text("")
            before = page.locator("#panel-inbox .item").count()
            r = api.get("/v1/notices", params={"state": "active"})
            body = {**r.json()["notices"][0]}
            doc = {k: body[k] for k in ("kind", "volumes")} | {
                "title": "Tanker track DELTA",
                "addressees": ["russia"],
            }
            r = api.post("/v1/notices", json=doc)
            assert r.status_code == 201, r.text
        expect(page.locator("#panel-inbox .item")).to_have_count(before + 1)
        expect(page.locator("#panel-inbox")).to_contain_text("Tanker track DELTA")
        kept = page.locator("#panel-inbox [data-keep^='ack:']").first
        expect(kept).to_have_value("Получено, передаю в опер")
        expect(kept).to_be_focused()
        # ...and the officer finishes the sentence where she stopped.
        page.keyboard.type("ативный центр")
        expect(kept).to_have_value("Получено, передаю в оперативный центр")

        # The alerts panel redraws on every alert event (the tracks move every second).
        page.click("#tab-alerts")
        kept_once = False
        for _ in range(4):  # an alert may clear before it is redrawn: then try the next
            field = page.locator("#panel-alerts [data-keep^='alert:']").first
            expect(field).to_be_visible(timeout=150_000)
            key = field.get_attribute("data-keep")
            field.click()
            page.keyboard.type("Вижу")
            page.evaluate(
                "() => { window.__head = document.querySelector('#panel-alerts').firstChild; }"
            )
            try:
                page.wait_for_function(
                    """(key) => {
                        const p = document.getElementById('panel-alerts');
                        const again = p.querySelector(`[data-keep="${key}"]`);
                        return p.firstChild !== window.__head && again;
                    }""",
                    arg=key,
                    timeout=30_000,
                )
            except PlaywrightTimeout:
                continue
            redrawn = page.locator(f"#panel-alerts [data-keep='{key}']")
            if redrawn.count():
                expect(redrawn).to_have_value("Вижу")
                kept_once = True
                break
        assert kept_once, "no alert lived through a redraw of the panel"
        o.shot(shots, "23-ru-typing-kept")
    finally:
        o.close()


@pytest.mark.parametrize("viewport", [DESKTOP, TABLET], ids=["1280x800", "tablet"])
def test_readable_at_desktop_and_tablet_width(
    browser: Browser, demo: Demo, watch: Watch, shots: Path, viewport: dict[str, int]
) -> None:
    o = _sign_in(browser, demo, "coalition", watch, "ar", viewport=viewport)
    page = o.page
    try:
        # Nothing runs off the side: no horizontal scrolling of the page.
        assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
        box = page.locator("#map").bounding_box()
        side = page.locator(".side").bounding_box()
        assert box is not None and side is not None
        assert box["height"] >= 300 and box["width"] >= 400
        assert side["height"] >= 250
        for el in ("#btn-new", "#tab-hotline", "#time-now", "[data-testid=readout]"):
            expect(page.locator(el)).to_be_in_viewport()
        o.shot(shots, f"24-ar-{viewport['width']}x{viewport['height']}")
    finally:
        o.close()


def test_keyboard_only(browser: Browser, demo: Demo, watch: Watch) -> None:
    """Tabs with the arrow keys (reversed in Arabic), an acknowledgement with Enter,
    a hotline message sent with Ctrl+Enter: no mouse."""
    o = _sign_in(browser, demo, "russia", watch, "ar")
    page = o.page
    try:
        page.focus("#tab-inbox")
        page.keyboard.press("ArrowLeft")  # right-to-left: the next tab is on the left
        expect(page.locator("#tab-outbox")).to_be_focused()
        expect(page.locator("#panel-outbox")).to_be_visible()
        page.keyboard.press("End")
        expect(page.locator("#tab-hotline")).to_be_focused()
        page.focus("#chat-to")
        page.keyboard.press("Home")  # the first party of the list: coalition
        expect(page.locator("#chat-to")).to_have_values(["coalition"])
        page.focus("#chat-body")
        page.keyboard.type("تم الاستلام")
        page.keyboard.press("Control+Enter")
        expect(page.locator("#chat .msg.out", has_text="تم الاستلام").first).to_be_visible()
        page.focus("#tab-hotline")
        page.keyboard.press("Home")
        expect(page.locator("#panel-inbox")).to_be_visible()
        comment = page.locator("#panel-inbox [data-keep^='ack:']")
        if comment.count():
            comment.first.focus()
            page.keyboard.type("استُلم")
            page.keyboard.press("Enter")
            expect(page.locator("#panel-inbox [data-keep^='ack:']")).to_have_count(
                comment.count() - 1
            )
        # The notice form opens from the keyboard and takes its footprint typed.
        page.focus("#btn-new")
        page.keyboard.press("Enter")
        expect(page.locator("#f-title")).to_be_focused()
        page.keyboard.type("دورية")
        page.focus("input[name=addr][value=coalition]")
        page.keyboard.press("Space")
        expect(page.locator("input[name=addr][value=coalition]")).to_be_checked()
        page.focus("#f-coords")
        page.keyboard.type("35.1, 36.1\n35.1, 36.3\n35.3, 36.3")
        page.focus("#f-check")
        page.keyboard.press("Enter")
        expect(page.locator("#editor-general")).to_be_empty()
        expect(page.locator("[data-testid=check-result]")).to_be_visible()
        # A change of language relabels the form and keeps what was typed.
        page.select_option("#app-lang", "en")
        expect(page.locator("label[for=f-title]")).to_have_text("Title")
        expect(page.locator("#f-title")).to_have_value("دورية")
        expect(page.locator("#f-coords")).to_have_value("35.1, 36.1\n35.1, 36.3\n35.3, 36.3")
        page.evaluate("localStorage.removeItem('deconflict.lang')")
    finally:
        o.close()


def test_mgrs_readout_agrees_with_pyproj(browser: Browser, demo: Demo, watch: Watch) -> None:
    o = _sign_in(browser, demo, "coalition", watch, "en")
    try:
        for lat, lon in [
            (35.93062, 36.63393),
            (36.2, 37.16),
            (-33.9, 18.4),
            (51.5, -0.12),
            (64.1, -21.9),
        ]:
            got = o.page.evaluate(
                "([lat, lon]) => import('/ui/js/geo.js').then((m) => m.mgrs(lat, lon))", [lat, lon]
            )
            zone = int(got.split()[0][:-1])
            e, n = Proj(proj="utm", zone=zone, ellps="WGS84", south=lat < 0)(lon, lat)
            assert got.split()[2] == f"{int(e % 100_000):05d}", (lat, lon, got, e)
            assert got.split()[3] == f"{int(n % 100_000):05d}", (lat, lon, got, n)
        # The grid square letters of a point whose MGRS is printed on every map of it.
        assert o.page.evaluate("import('/ui/js/geo.js').then((m) => m.mgrs(0, 3))").startswith(
            "31N "
        )
    finally:
        o.close()


@pytest.mark.skipif(
    not AXE.exists(), reason=f"axe-core is not installed at {AXE} (.ci/run installs it)"
)
@pytest.mark.parametrize("lang", ["en", "ar"])
def test_accessibility_of_the_main_views(
    browser: Browser, demo: Demo, watch: Watch, lang: str
) -> None:
    """axe-core (the maintained checker, from npm) in the page: no serious or critical
    violation on the sign-in page, the map with each panel, and the notice form."""
    o = _sign_in(browser, demo, "russia", watch, lang, bypass_csp=True)  # CSP: to inject axe

    def check(page: Page, view: str) -> None:
        _axe_check(page, f"{lang} {view}")

    try:
        signin = o.context.new_page()  # a new tab has no token: the sign-in page
        signin.goto(demo.url + "/")
        expect(signin.locator("#signin-token")).to_be_visible()
        check(signin, "sign-in")
        signin.close()
        for tab in ("inbox", "outbox", "conflicts", "alerts", "hotline"):
            o.page.click(f"#tab-{tab}")
            check(o.page, tab)
        o.page.click("#btn-new")
        check(o.page, "notice form")
    finally:
        o.close()


def _axe_check(page: Page, view: str) -> None:
    """No serious or critical axe-core violation in the page as it stands."""
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        """() => axe.run(document,
               { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] })
             .then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
               nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) })))"""
    )
    bad = [v for v in result if v["impact"] in ("serious", "critical")]
    assert not bad, f"{view}: {json.dumps(bad, ensure_ascii=False, indent=1)}"


@pytest.mark.skipif(
    not AXE.exists(), reason=f"axe-core is not installed at {AXE} (.ci/run installs it)"
)
@pytest.mark.parametrize("lang", ["en", "ar"])
def test_accessibility_of_the_relay_desk(
    browser: Browser, demo: Demo, watch: Watch, lang: str
) -> None:
    """The UN liaison's Relay tab (what it owes, with the forms that record a forwarding
    and the answer) and its inbox pass the same check as the main views."""
    o = _sign_in(browser, demo, "un-liaison", watch, lang, bypass_csp=True)
    try:
        expect(o.page.locator("#tab-relay")).to_be_visible()
        o.page.click("#tab-relay")
        expect(o.page.locator("#panel-relay")).to_be_visible()
        expect(o.page.locator("#panel-relay form").first).to_be_attached()
        _axe_check(o.page, f"{lang} relay desk")
        o.page.click("#tab-inbox")
        _axe_check(o.page, f"{lang} relay's inbox")
    finally:
        o.close()
