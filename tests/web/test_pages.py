"""The pages no flow above opens, each checked like the rest (axe-core, no sideways
scroll at 375 px, screenshots): the buyer's reservations and purchases, the owner's
partners list, and an unknown address inside the app."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.web.browser import check_page
from tests.web.conftest import ADMIN_BB, OWNER


def test_remaining_pages(open_page):
    page = open_page(ADMIN_BB, "/marketplace/reservations")
    expect(page.get_by_text("Leads you hold, and for how long.")).to_be_visible()
    check_page(page, "reservations")
    page.goto("/marketplace/purchases")
    expect(page.get_by_text("Leads bought and sold, with their payment status.")).to_be_visible()
    check_page(page, "purchases")
    page.goto("/no/such/page")  # the server answers index.html; the client says "not found"
    expect(page.get_by_text("This page does not exist")).to_be_visible()
    check_page(page, "not-found")

    owner = open_page(OWNER, "/partners")
    expect(owner.get_by_role("heading", level=1, name="Partners")).to_be_visible()
    expect(owner.get_by_role("cell", name="Northwind Agency").first).to_be_visible()
    check_page(owner, "partners")
