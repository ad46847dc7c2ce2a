"""The operator's and the admins' back-office pages (issue 9): the routing preview
("this booking would go to …"), the unassigned queue and its manual assignment,
invoices, and an API token shown once."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import httpx
from playwright.sync_api import expect

from pc_core import collections as c
from pc_core.billing.build import build_month
from tests.billing_helpers import completed_purchase
from tests.web.browser import check_page
from tests.web.conftest import ADMIN_NW, OWNER


def test_routing_preview_follows_the_form(open_page):
    page = open_page(OWNER, "/meetings")
    expect(page.get_by_role("heading", level=1, name="Meetings")).to_be_visible()
    booking = page.get_by_role("form", name="Booking to preview")
    booking.get_by_label("Meeting type").fill("intro")
    booking.get_by_label("Company size (answer)").fill("201-500")
    booking.get_by_label("Budget (answer)").fill("25000")
    booking.get_by_label("Location (answer)").fill("US")
    verdict = page.get_by_role("status").filter(has_text="This booking would go to")
    # The demo routes intro meetings of 51+ staff and $5,000+ to both agencies.
    expect(verdict).to_contain_text(re.compile(r"would go to (Northwind Agency|Bluebird Growth)"))
    expect(page.get_by_role("table", name="Candidate partners")).to_be_visible()
    check_page(page, "meetings")
    booking.get_by_label("Budget (answer)").fill("100")
    expect(verdict).to_contain_text("would go to the unassigned queue")


def test_the_unassigned_queue_assigns_a_booking(open_page, web_stack):
    """A booking nobody's rules take waits in the queue; Bluebird is at its monthly
    cap, so assigning it there needs the explicit override; then it is Bluebird's."""
    company = f"Navy Labs {uuid.uuid4().hex[:6]}"
    booking = {"type": "Created", "meetingIdChili": f"web-{uuid.uuid4().hex}",
               "meetingStartTime": "2030-02-01T10:00:00Z", "meetingTypeName": "intro",
               "primaryGuestDataFields": {"Name": "Grace Hopper", "Company": company,
                                          "Email": "grace@navy.example.com",
                                          "CompanySize": "201-500", "Budget": "100",
                                          "Country": "US", "Industry": "Defense"}}
    r = httpx.post(f"{web_stack.url}/v1/meetings/webhooks/chilipiper", json=booking,
                   params={"token": web_stack.settings.chilipiper_secret}, timeout=10)
    assert r.status_code == 200 and r.json()["unassigned"], r.text
    lead_id = r.json()["lead_id"]
    partners = web_stack.db[c.PARTNERS]
    bluebird = partners.find_one({"_id": "bluebird"})
    full = {**bluebird, "routing": {**(bluebird.get("routing") or {}), "monthly_cap": 0}}
    partners.replace_one({"_id": "bluebird"}, full)
    try:
        page = open_page(OWNER, "/meetings")
        queue = page.get_by_role("region", name="Unassigned queue")
        item = queue.get_by_role("listitem").filter(has_text=company)
        expect(item).to_contain_text("Why: no partner matches")
        expect(item).to_contain_text("Defense")
        check_page(page, "meetings-queue")
        item.get_by_label(f"Assign {company} - intro to").select_option(label="Bluebird Growth")
        item.get_by_role("button", name="Assign", exact=True).click()
        expect(item.get_by_role("alert")).to_contain_text("monthly cap")
        item.get_by_role("button", name="Assign anyway, over the cap").click()
        expect(page.get_by_text("Assigned to Bluebird Growth")).to_be_visible()
        expect(queue.get_by_role("listitem").filter(has_text=company)).to_have_count(0)
        lead = web_stack.db[c.LEADS].find_one({"_id": lead_id})
        assert lead["partner_id"] == "bluebird" and lead["unassigned"] is False
    finally:
        partners.replace_one({"_id": "bluebird"}, {**partners.find_one({"_id": "bluebird"}),
                                                   "routing": bluebird.get("routing")})


def test_invoices_and_an_invoice(open_page, web_stack):
    month = "2026-10"
    for price, day in ((40_000, 3), (25_050, 17)):
        completed_purchase(web_stack.db, "northwind", "bluebird", price,
                           datetime(2026, 10, day, 12, tzinfo=UTC))
    build_month(web_stack.db, month)
    page = open_page(ADMIN_NW, "/billing")
    expect(page.get_by_role("heading", level=1, name="Billing")).to_be_visible()
    invoices = page.get_by_role("table", name="Invoices")
    row = invoices.get_by_role("row").filter(has=page.get_by_role("link", name=month))
    expect(row).to_contain_text("$780.60")  # (400.00 + 250.50) × 1.2
    check_page(page, "billing")
    row.get_by_role("link", name=month).click()
    expect(page.get_by_role("heading", level=1, name=f"Invoice {month}")).to_be_visible()
    lines = page.get_by_role("table", name="Invoice lines")
    expect(lines.get_by_role("row")).to_have_count(3)  # header + two purchases
    expect(page.get_by_role("region", name="Totals")).to_contain_text("$780.60")
    check_page(page, "invoice")


def test_an_api_token_is_shown_once(open_page, web_stack):
    page = open_page(ADMIN_NW, "/settings")
    expect(page.get_by_role("heading", level=1, name="Settings")).to_be_visible()
    check_page(page, "settings")
    page.get_by_role("tab", name="API tokens").click()
    form = page.get_by_role("form", name="New API token")
    form.get_by_label("Token name").fill("Reporting script")
    form.get_by_role("button", name="Create token").click()
    dialog = page.get_by_role("dialog", name="Your new API token")
    expect(dialog).to_contain_text("only time it is shown")
    token = dialog.get_by_label(re.compile("API token")).input_value()
    assert re.fullmatch(r"pc_\w+\.\S+", token), token
    check_page(page, "api-token-shown")
    # It works as X-API-Key...
    r = httpx.get(f"{web_stack.url}/v1/public/leads", headers={"X-API-Key": token}, timeout=10)
    assert r.status_code == 200, r.text
    dialog.get_by_role("button", name="I have stored it").click()
    expect(dialog).to_be_hidden()
    # ...and is never on the page again: the list shows its name and first characters.
    tokens = page.get_by_role("table", name="API tokens")
    expect(tokens.get_by_role("row").filter(has_text="Reporting script")).to_have_count(1)
    assert token not in page.content()
    page.reload()
    page.get_by_role("tab", name="API tokens").click()
    expect(page.get_by_role("table", name="API tokens")).to_contain_text("Reporting script")
    assert token not in page.content()
