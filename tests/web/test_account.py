"""Your account (issue 18.5): a read-only user renames itself and changes its own
password from the web client; a wrong current password is explained in place; the
change signs out its other browser but not this one."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from pc_core.access import Principal, Role
from pc_core.identity.users import create_user
from tests.web.browser import check_page, new_context, sign_in_api

OLD, NEW = "old-passphrase-123", "new-passphrase-456"


def test_a_read_only_user_edits_its_own_account(open_page, browser, web_stack):
    email = f"reader-{uuid.uuid4().hex[:8]}@northwind.example.com"
    owner = Principal(user_id="test-owner", role=Role.OWNER, partner_id=None, email="o@x")
    create_user(web_stack.db, owner, email=email, password=OLD, role=Role.USER,
                partner_id="northwind", name="Reader")
    other = new_context(browser, web_stack.url)  # the same person on another device
    sign_in_api(other, email, OLD)
    try:
        page = open_page(path="/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(OLD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", level=1, name="Dashboard")).to_be_visible()

        page.get_by_role("button", name="Account menu").click()
        page.get_by_role("menuitem", name="Your account").click()
        expect(page.get_by_role("heading", level=1, name="Your account")).to_be_visible()
        check_page(page, "account")

        page.get_by_label("Your name").fill("Ada Reader")
        page.get_by_role("button", name="Save name").click()
        expect(page.get_by_text("Name saved")).to_be_visible()

        form = page.get_by_role("form", name="Change password")
        form.get_by_label("Current password").fill("not-my-password")
        form.get_by_label(re.compile(r"^New password")).fill(NEW)
        form.get_by_label("Repeat the new password").fill(NEW)
        form.get_by_role("button", name="Change password").click()
        expect(form.get_by_text("current password is incorrect")).to_be_visible()

        form.get_by_label("Current password").fill(OLD)
        form.get_by_role("button", name="Change password").click()
        expect(page.get_by_text("Your other sessions were signed out")).to_be_visible()

        # This browser carries on with the new sign-in...
        page.reload()
        expect(page.get_by_role("heading", level=1, name="Your account")).to_be_visible()
        expect(page.get_by_label("Your name")).to_have_value("Ada Reader")
        # ...the other device is out.
        stale = other.request.get(f"{web_stack.url}/v1/auth/me")
        assert stale.status == 401
        other_page = other.new_page()
        other_page.goto("/leads")
        expect(other_page).to_have_url(re.compile(r"/login"))
    finally:
        other.close()
