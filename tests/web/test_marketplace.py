"""Seller, buyer and a third agency in three browsers, all live (issue 9): a lead the
seller marks non-fit appears on the buyer's open marketplace page without a reload,
the buyer reserves it and the third page sees it go, the buyer pays through the
Stripe sandbox (a declined card first, in clear words), the seller's page shows it
sold and the buyer sees the contact; all three see how many others view the listing."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from pc_core import collections as c
from pc_core.leads.inventory import build_lead_doc
from pc_core.models.leads import LeadFields
from pc_core.stages import LeadStatus
from pc_core.timeutil import utcnow
from tests.web.browser import check_page
from tests.web.conftest import ADMIN_BB, ADMIN_NW, ADMIN_OP


def seller_lead(db, industry: str) -> str:
    doc = build_lead_doc("northwind", LeadFields(
        title=f"{industry} rollout", company="Glacier Robotics", contact_name="Ada Lovelace",
        contact_email="ada@glacier.example.com", contact_phone="+354 555 0100",
        industry=industry, location="Iceland", company_size="51-200",
        budget_cents=2_500_000, stage="proposal"), source="test", now=utcnow(),
        status=LeadStatus.OPEN)
    db[c.LEADS].insert_one(doc)
    return doc["_id"]


def live(page: Page) -> None:
    """Wait until the page's Socket.IO connection is up (the header's live dot)."""
    expect(page.get_by_text("Live updates on")).to_be_attached(timeout=15_000)


def test_list_reserve_pay_live(open_page, web_stack):
    industry = f"Robotics {uuid.uuid4().hex[:6]}"
    lead_id = seller_lead(web_stack.db, industry)
    listing_name = f"{industry} lead, Iceland"

    seller = open_page(ADMIN_NW, f"/leads/{lead_id}")
    buyer = open_page(ADMIN_BB, "/marketplace")
    third = open_page(ADMIN_OP, "/marketplace")
    for page in (seller, buyer, third):
        live(page)
    expect(buyer.get_by_role("listitem", name=listing_name)).to_have_count(0)

    seller.get_by_role("button", name="Mark non-fit and list").click()
    expect(seller.get_by_text("Listed", exact=True).first).to_be_visible()
    # Appears on both open marketplace pages, no reload.
    card = buyer.get_by_role("listitem", name=listing_name)
    expect(card).to_be_visible()
    expect(third.get_by_role("listitem", name=listing_name)).to_be_visible()
    # "N others viewing", counted in people: the seller on its lead page, the buyer
    # and the third agency on the marketplace (other partners' listed lead).
    expect(card).to_contain_text("2 others viewing")
    expect(third.get_by_role("listitem", name=listing_name)).to_contain_text("2 others viewing")
    expect(seller.get_by_text("2 others viewing")).to_be_visible()
    check_page(buyer, "marketplace")

    card.get_by_role("button", name=re.compile("^Reserve")).click()
    dialog = buyer.get_by_role("dialog", name="Reserve this lead")
    expect(dialog).to_contain_text("$600.00")  # $500 price + 20% commission
    check_page(buyer, "reserve-dialog")
    dialog.get_by_role("button", name=re.compile(r"^Reserve for \d+ days")).click()
    done = buyer.get_by_role("dialog", name="Lead reserved")
    expect(done).to_be_visible()
    # The third agency sees the listing go.
    expect(third.get_by_role("listitem", name=listing_name)).to_have_count(0)

    done.get_by_role("button", name="Pay now").click()
    pay = buyer.get_by_role("dialog", name="Buy this lead")
    pay.get_by_label("Card number").fill("4000 0000 0000 0002")
    pay.get_by_label("Expiry (MM/YY)").fill("12/34")
    pay.get_by_label("CVC").fill("123")
    pay.get_by_role("button", name="Pay $600.00").click()
    expect(pay.get_by_role("alert")).to_contain_text("Your card was declined.")
    check_page(buyer, "checkout-declined")

    pay.get_by_label("Card number").fill("4242 4242 4242 4242")
    pay.get_by_role("button", name="Pay $600.00").click()
    expect(pay.get_by_text("Payment complete. The lead is yours.")).to_be_visible(timeout=20_000)
    # The seller's open page shows the sale without a reload.
    expect(seller.get_by_text("Sold", exact=True).first).to_be_visible()
    assert web_stack.db[c.LEADS].find_one({"_id": lead_id})["buyer_partner_id"] == "bluebird"

    pay.get_by_role("link", name="View the contact details").click()
    expect(buyer.get_by_role("heading", level=1, name=f"{industry} rollout")).to_be_visible()
    expect(buyer.get_by_text("ada@glacier.example.com")).to_be_visible()
    check_page(buyer, "bought-lead")
