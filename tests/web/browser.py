"""Browser helpers of the end-to-end tests: Debian's Chromium driven by Playwright (no
browser download), axe-core checks and screenshots of every page a test visits.

Elements are found by role and accessible name, as a person (or a screen reader)
would find them; that keeps the tests honest about accessibility too.
"""

from __future__ import annotations

import re
import time
from importlib import resources
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect

CHROMIUM = Path("/usr/bin/chromium")
# Flags for a sandbox without a GPU or network beyond localhost (see the machine notes):
# without the background-networking ones Chromium keeps dialling Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
    "--disable-dev-shm-usage",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}
SCREENSHOTS = Path(__file__).resolve().parents[2] / ".pc" / "screenshots"
AXE_JS = resources.files("axe_playwright_python").joinpath("axe.min.js").read_text("utf-8")
BLOCKING = ("serious", "critical")


def launch(pw: Playwright) -> Browser:
    return pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


# Runs before the page's own scripts (injected by the browser, so the page's CSP does
# not apply to it): every Content-Security-Policy violation the page reports is kept.
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`
    + ` (${e.sourceFile || ''}:${e.lineNumber || ''})`);
});
"""


class Traffic:
    """A context's requests in flight, and when one last started or ended (the events
    reach us in order with the answers to our calls, so after any call it is current)."""

    def __init__(self, context: BrowserContext) -> None:
        self.in_flight = 0
        self.changed = time.monotonic()
        context.on("request", self._started)
        context.on("requestfinished", self._ended)
        context.on("requestfailed", self._ended)

    def _started(self, _request: object) -> None:
        self.in_flight += 1
        self.changed = time.monotonic()

    def _ended(self, _request: object) -> None:
        self.in_flight = max(0, self.in_flight - 1)
        self.changed = time.monotonic()


QUIET_S = 0.2  # no request in flight for this long: what the page asked for has come


def new_context(browser: Browser, base_url: str) -> BrowserContext:
    """A fresh context (own cookies) that records CSP violations: every ``check_page``
    fails on one, so every browser test runs the app under its real CSP. It also
    follows its requests (``Traffic``), for ``settle``."""
    context = browser.new_context(base_url=base_url, viewport=DESKTOP, locale="en-US",
                                  timezone_id="UTC", reduced_motion="reduce")
    context.set_default_timeout(10_000)
    context.add_init_script(RECORD_CSP_VIOLATIONS)
    console: list[str] = []
    context.on("console", lambda msg: console.append(msg.text)
               if "Content Security Policy" in msg.text else None)
    context.csp_console = console  # type: ignore[attr-defined]
    context.traffic = Traffic(context)  # type: ignore[attr-defined]
    return context


def settle(page: Page) -> None:
    """Until the page has loaded and none of its context's requests has been in flight
    for ``QUIET_S``. Playwright's "networkidle" waits 500 ms of quiet, and only once
    after a navigation (not for what a click fetches); it is the fallback for a context
    without ``Traffic``, or one whose requests never go quiet within 10 s."""
    page.wait_for_load_state("load")
    traffic: Traffic | None = getattr(page.context, "traffic", None)
    deadline = time.monotonic() + 10
    while traffic is not None and time.monotonic() < deadline:
        if not traffic.in_flight and time.monotonic() - traffic.changed >= QUIET_S:
            return
        page.wait_for_timeout(25)
    page.wait_for_load_state("networkidle")


def csp_violations(page: Page) -> list[str]:
    """CSP violations seen by the page (events) and by its context's console."""
    seen = page.evaluate("() => window.__cspViolations || []")
    return [*seen, *getattr(page.context, "csp_console", [])]


def sign_in_ui(page: Page, email: str, password: str) -> None:
    """Through the sign-in form, as a person does."""
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def sign_in_api(context: BrowserContext, email: str, password: str) -> None:
    """Straight through the API (sets the session cookies in the context): for tests
    whose subject is not signing in."""
    r = context.request.post("/v1/auth/login", data={"email": email, "password": password})
    assert r.ok, r.text()


def axe_violations(page: Page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_JS)
    result = page.evaluate(
        "() => axe.run(document, {resultTypes: ['violations']})"
    )
    return [v for v in result["violations"] if v.get("impact") in BLOCKING]


# Resolves once a frame has been drawn after the next one (its rendering steps ran
# ResizeObserver callbacks and layout at the new size), or after 150 ms at the latest.
NEXT_FRAME = """() => new Promise((done) => {
  requestAnimationFrame(() => requestAnimationFrame(done));
  setTimeout(done, 150);
})"""


def _axe_clean(page: Page, where: str) -> None:
    bad = axe_violations(page)
    assert not bad, f"axe on {where} ({page.url}): " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + ", ".join(str(n.get("target")) for n in v["nodes"][:3]) for v in bad)


def check_page(page: Page, name: str) -> None:
    """No CSP violation, axe-core (no serious/critical violation) and screenshots at
    1280×800 and 375×812 (``.pc/screenshots/<name>-desktop.png`` / ``-phone.png``, not
    committed), no sideways scroll at 375 px. A page already at 375 px (the route walk
    of tests/web/test_day.py) is checked once, at that width."""
    settle(page)
    blocked = csp_violations(page)
    assert not blocked, f"CSP violations on {name} ({page.url}): {blocked}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    size = page.viewport_size or DESKTOP
    phone_already = size == PHONE
    if not phone_already:
        _axe_clean(page, name)
        page.screenshot(path=str(SCREENSHOTS / f"{slug}-desktop.png"))
        page.set_viewport_size(PHONE)
    try:
        if not phone_already:
            page.evaluate(NEXT_FRAME)  # the layout, and ResizeObserver's work, at 375 px
        _axe_clean(page, f"{name} at 375 px")
        page.screenshot(path=str(SCREENSHOTS / f"{slug}-phone.png"))
        wide = page.evaluate("() => document.documentElement.scrollWidth")
        assert wide <= PHONE["width"], (
            f"{name} is {wide} px wide at {PHONE['width']} px: the page scrolls sideways")
    finally:
        if not phone_already:
            page.set_viewport_size(size)


__all__ = ["expect", "launch", "new_context", "sign_in_ui", "sign_in_api", "check_page",
           "csp_violations", "settle"]
