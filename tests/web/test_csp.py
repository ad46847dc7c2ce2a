"""The web client works under its Content-Security-Policy (issue 21): the pages with
charts, live updates and the card step run with no violation reported, while an
injected inline script is refused, and no other site may frame the app."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.web.browser import check_page, csp_violations
from tests.web.conftest import ADMIN_NW


def test_app_runs_under_its_csp_and_inline_script_is_refused(open_page, web_stack):
    page = open_page(ADMIN_NW, "/")
    response = page.request.get("/", headers={"Accept": "text/html"})
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
    expect(page.get_by_role("heading", level=1, name="Dashboard")).to_be_visible()
    check_page(page, "csp-dashboard")  # charts drawn, live socket open: no violation
    for path in ("/leads", "/marketplace", "/settings/hubspot", "/billing"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        assert csp_violations(page) == [], path

    # What an XSS would try: an inline script. The browser refuses and reports it.
    page.evaluate("""() => { const s = document.createElement('script');
        s.textContent = 'window.__injected = true'; document.body.appendChild(s); }""")
    page.wait_for_timeout(100)
    assert page.evaluate("() => window.__injected === undefined")
    assert any("script-src" in v for v in csp_violations(page))


def test_another_site_cannot_frame_the_app(open_page, web_stack):
    page = open_page(None, "about:blank")
    page.set_content(f'<iframe id="f" src="{web_stack.url}/login" title="framed"></iframe>')
    [framed] = [f for f in page.frames if f != page.main_frame]
    framed.wait_for_load_state("load")  # the app's page, or the error page that replaces it
    # Chromium replaces a refused frame's document with an empty error page.
    assert framed.evaluate("() => !document.querySelector('#app')")
