"""The operator's and the admins' back-office pages (issue 9): the routing preview
("this booking would go to …"), invoices, and an API token shown once."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.web.browser import check_page
from tests.web.conftest import OWNER


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
