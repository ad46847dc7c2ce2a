"""Signing in and out, a reload, a silent token refresh, and a session that ends
mid-use without losing what was typed (issue 9: "Sign in / sign out; session expiry
handled without losing what was typed")."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from pc_core import collections as c
from tests.web.browser import check_page, sign_in_ui
from tests.web.conftest import ADMIN_NW, DEMO_PASSWORD


def _heading(page, name: str):
    return page.get_by_role("heading", level=1, name=name)


def test_sign_in_reload_and_sign_out(open_page):
    page = open_page(path="/leads?status=listed")
    # Not signed in: the sign-in page, keeping where the person was going.
    expect(page).to_have_url(re.compile(r"/login\?next="))
    expect(page.get_by_role("heading", name="Sign in to your account")).to_be_visible()
    check_page(page, "sign-in")
    sign_in_ui(page, ADMIN_NW, "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("email or password is not right")
    sign_in_ui(page, ADMIN_NW, DEMO_PASSWORD)
    expect(page).to_have_url(re.compile(r"/leads\?status=listed$"))
    expect(_heading(page, "Leads")).to_be_visible()

    page.reload()  # the HttpOnly cookies carry the session
    expect(_heading(page, "Leads")).to_be_visible()
    page.get_by_role("link", name="Dashboard").first.click()
    expect(_heading(page, "Dashboard")).to_be_visible()
    check_page(page, "dashboard")

    page.get_by_role("button", name="Account menu").click()
    page.get_by_role("menuitem", name="Sign out", exact=True).click()
    expect(page).to_have_url(re.compile(r"/login"))
    page.goto("/leads")
    expect(page).to_have_url(re.compile(r"/login\?next=(%2F|/)leads$"))


def test_expired_access_token_is_refreshed_silently(open_page):
    page = open_page(ADMIN_NW, "/leads")
    expect(_heading(page, "Leads")).to_be_visible()
    page.context.clear_cookies(name="pc_access")
    page.get_by_label("Search", exact=True).fill("zzz-no-such-lead")
    expect(page.get_by_text("No lead matches these filters")).to_be_visible()
    assert any(ck["name"] == "pc_access" for ck in page.context.cookies())
    expect(page.get_by_role("dialog")).to_have_count(0)


def test_session_ending_mid_use_keeps_what_was_typed(open_page, web_stack):
    lead = web_stack.db[c.LEADS].find_one({"partner_id": "northwind", "status": "open"})
    page = open_page(ADMIN_NW, f"/leads/{lead['_id']}")
    note = page.get_by_label("New note")
    note.fill("Called them: budget confirmed for Q3.")
    page.context.clear_cookies()  # the session is gone (expired, revoked elsewhere)
    page.get_by_role("button", name="Add note").click()
    dialog = page.get_by_role("dialog", name="Your session has expired")
    expect(dialog).to_be_visible()
    check_page(page, "session-expired")
    dialog.get_by_label("Password").fill(DEMO_PASSWORD)
    dialog.get_by_role("button", name="Sign in again").click()
    expect(dialog).to_be_hidden()
    # The note that was being saved went through after signing in again.
    expect(page.get_by_text("Called them: budget confirmed for Q3.")).to_be_visible()
    stored = web_stack.db[c.LEADS].find_one({"_id": lead["_id"]})
    assert "budget confirmed" in str(stored.get("notes"))
