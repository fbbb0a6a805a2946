"""Fixtures of the browser tests: a real hub, Debian's Chromium driven by Playwright.

Skipped with a reason when /usr/bin/chromium or the playwright package is
missing; CI installs both (`.ci/run` and the test extra). Playwright's own
browser download is never used.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import pytest

from tests.service.helpers import World

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

try:
    from playwright.sync_api import Browser, BrowserContext, Page, Route, expect, sync_playwright

    # An assertion waits until its condition holds; the default 5 s is less than a loaded
    # 2-core CI machine can take to screen a track, write the alert and render it.
    expect.set_options(timeout=20_000)
except ImportError:  # pragma: no cover - depends on the environment
    sync_playwright = None  # type: ignore[assignment]


def _skip_reason() -> str | None:
    if sync_playwright is None:
        return "playwright is not installed (pip install -e '.[test]')"
    if not CHROMIUM.exists():
        return "/usr/bin/chromium is missing (apt-get install chromium; .ci/run does it)"
    return None


@dataclass
class Watch:
    """What the pages did that a test must see: off-host requests, console errors."""

    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # Console lines a test expects (e.g. the 422 of a deliberately invalid form).
    expected: list[str] = field(default_factory=list)

    def unexpected_errors(self) -> list[str]:
        return [e for e in self.errors if not any(x in e for x in self.expected)]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


# A quick screening loop, and escalation soon enough for a test to see it.
TACTICAL: dict[str, Any] = {
    "screen_interval_s": 0.25,
    "clear_cycles": 3,
    "update_interval_s": 1.0,
    "escalate_after_s": 7.0,
    "share_pairs": [["coalition", "un"]],  # these two see each other's tracks in alerts
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = World(tmp_path_factory.mktemp("hub"), tactical=TACTICAL)
    try:
        yield w
    finally:
        w.stop()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: $DECONFLICT_WEB_SHOTS if set, else a tmp dir."""
    configured = os.environ.get("DECONFLICT_WEB_SHOTS")
    path = Path(configured) if configured else tmp_path_factory.mktemp("shots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def watch() -> Iterator[Watch]:
    w = Watch()
    yield w
    assert not w.blocked, f"requests left 127.0.0.1: {w.blocked}"
    assert not w.unexpected_errors(), f"console or page errors: {w.unexpected_errors()}"


class Hub(Protocol):
    """A running hub and its parties' tokens: a test `World`, or the demo."""

    @property
    def url(self) -> str: ...

    @property
    def tokens(self) -> dict[str, str]: ...


class Officer:
    """One signed-in party in its own browser context."""

    def __init__(self, browser: Browser, world: Hub, party: str, watch: Watch, **ctx: Any):
        self.party = party
        self.context: BrowserContext = browser.new_context(**ctx)
        self.context.route("**/*", self._route)
        self.watch = watch
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: watch.errors.append(f"{party}: page error {exc}"))
        self.page.goto(world.url + "/")
        self.page.fill("#signin-token", world.tokens[party])
        self.page.press("#signin-token", "Enter")
        self.page.wait_for_selector("#conn[data-state=live]")

    def _route(self, route: Route) -> None:
        host = urlsplit(route.request.url).hostname
        if route.request.url.startswith("data:") or host == "127.0.0.1":
            route.continue_()
        else:
            self.watch.blocked.append(route.request.url)
            route.abort()

    def _console(self, msg: Any) -> None:
        if msg.type == "error":
            self.watch.errors.append(f"{self.party}: {msg.text} @ {msg.location.get('url', '')}")

    def shot(self, shots: Path, name: str) -> Path:
        path = shots / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def officers(browser: Browser, world: World, watch: Watch) -> Iterator[dict[str, Officer]]:
    made: dict[str, Officer] = {}

    def _make() -> dict[str, Officer]:
        made["coalition"] = Officer(
            browser, world, "coalition", watch, viewport={"width": 1280, "height": 800}
        )
        made["russia"] = Officer(
            browser, world, "russia", watch, viewport={"width": 1280, "height": 800}
        )
        return made

    try:
        yield _make()
    finally:
        for o in made.values():
            o.close()


@dataclass
class Demo:
    """`deconflict demo --port 0` in a process of its own, as a newcomer runs it."""

    proc: subprocess.Popen[str]
    url: str
    tokens: dict[str, str]
    output: list[str]


def _start_demo(timeout_s: float = 90.0) -> Demo:
    exe = Path(sys.executable).with_name("deconflict")
    proc = subprocess.Popen(  # noqa: S603 - our own console script, fixed arguments
        [str(exe), "demo", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    lines: list[str] = []
    url = ""
    tokens: dict[str, str] = {}
    party = ""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        words = line.split()
        if "hub on" in line and not url:
            url = next(w for w in words if w.startswith("http://"))
        elif line.strip().startswith("registered"):
            party = words[1]
        elif line.strip().startswith("token:") and party:
            tokens[party] = words[1]
        elif "== Live tracks ==" in line:
            break
    else:
        proc.kill()
        raise AssertionError("the demo did not start:\n" + "".join(lines))
    if not url or not tokens:
        proc.kill()
        raise AssertionError("the demo printed no url or tokens:\n" + "".join(lines))

    def drain() -> None:  # keep the pipe from filling
        assert proc.stdout is not None
        for rest in proc.stdout:
            lines.append(rest)

    threading.Thread(target=drain, daemon=True).start()
    return Demo(proc, url, tokens, lines)


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    if _skip_reason():
        pytest.skip(_skip_reason() or "")
    d = _start_demo()
    try:
        yield d
    finally:
        d.proc.send_signal(signal.SIGINT)  # the demo stops its hub on Ctrl-C
        try:
            d.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            d.proc.kill()
            d.proc.wait()
        if d.proc.stdout is not None:
            d.proc.stdout.close()
