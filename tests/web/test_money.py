"""Money in the browser (issue 18): a new agency onboards on the sandbox's Stripe
Connect page, sells a lead and sees the payout; a buyer returns a lead as
"unreachable", the seller contests, the owner accepts, the buyer is refunded and the
credit shows on its invoice; a known contact is flagged before reserving."""

from __future__ import annotations

import re
import uuid

import httpx
from playwright.sync_api import Page, expect

from pc_core import collections as c
from pc_core.access import Principal, Role
from pc_core.billing.build import build_month
from pc_core.identity.partners import create_partner
from pc_core.identity.users import create_user
from pc_core.leads.inventory import build_lead_doc
from pc_core.marketplace import purchases, reservations
from pc_core.models.leads import LeadFields
from pc_core.stages import LeadStatus
from pc_core.store.keys import month_key
from pc_core.timeutil import utcnow
from tests.conftest import SYSTEM, wait_for
from tests.web.browser import check_page
from tests.web.conftest import ADMIN_BB, ADMIN_NW, DEMO_PASSWORD, OWNER


def _lead(db, partner: str, industry: str, status: LeadStatus, email: str) -> str:
    doc = build_lead_doc(partner, LeadFields(
        title=f"{industry} rollout", company="Glacier Robotics", contact_name="Ada Lovelace",
        contact_email=email, contact_phone="+354 555 0100", industry=industry,
        location="Iceland", company_size="51-200", budget_cents=2_500_000, stage="proposal"),
        source="test", now=utcnow(), status=status)
    db[c.LEADS].insert_one(doc)
    return doc["_id"]


def _bought(stack, lead_id: str, buyer: str = "bluebird") -> dict:
    """The buyer reserves and pays (the card step is tests/web/test_marketplace.py's);
    the sandbox's webhook completes the purchase in the API."""
    actor = Principal(user_id=f"u-{buyer}", role=Role.ADMIN, partner_id=buyer)
    held = reservations.reserve(stack.db, stack.settings, actor, lead_id)
    created = purchases.create_purchase(stack.db, stack.settings, actor, held.id)
    httpx.post(f"{stack.sandbox}/stripe/_sandbox/payment_intents/"
               f"{created.payment_intent_id}/succeed", timeout=10).raise_for_status()
    return wait_for(lambda: stack.db[c.PURCHASES].find_one(
        {"_id": created.id, "status": "completed"}), 20, "the purchase completed")


def test_seller_onboards_sells_and_sees_the_payout(open_page, web_stack):
    tag = uuid.uuid4().hex[:6]
    partner = create_partner(web_stack.db, SYSTEM, name=f"Orca {tag}").id
    email = f"admin-{tag}@orca.example.com"
    create_user(web_stack.db, SYSTEM, email=email, password=DEMO_PASSWORD, role=Role.ADMIN,
                partner_id=partner)
    industry = f"Marine {tag}"
    lead_id = _lead(web_stack.db, partner, industry, LeadStatus.OPEN, f"ada-{tag}@glacier.io")

    seller = open_page(email, "/settings?tab=payouts")
    expect(seller.get_by_text("not connected")).to_be_visible()
    check_page(seller, "payouts-not-connected")
    seller.get_by_role("button", name="Set up payouts with Stripe").click()
    # Stripe's hosted onboarding (the sandbox's page), then back to the app.
    expect(seller.get_by_role("heading", name=re.compile("Get paid"))).to_be_visible()
    seller.get_by_label("Business name").fill(f"Orca {tag} LLC")
    seller.get_by_role("button", name="Agree and submit").click()
    expect(seller).to_have_url(re.compile(r"/settings\?.*tab=payouts"))
    expect(seller.get_by_text("payouts enabled")).to_be_visible(timeout=20_000)
    account = web_stack.db[c.PARTNERS].find_one({"_id": partner})["stripe_account_id"]

    # Now it may list; a buyer buys; the price is on its Stripe balance.
    seller.goto(f"/leads/{lead_id}")
    seller.get_by_role("button", name="Mark non-fit and list").click()
    expect(seller.get_by_text("Listed", exact=True).first).to_be_visible()
    purchase = _bought(web_stack, lead_id)
    assert purchase["destination_account"] == account
    seller.goto("/settings?tab=payouts")
    expect(seller.get_by_test_id("balance")).to_have_text("$500.00")
    expect(seller.get_by_test_id("sold-count")).to_have_text("1")
    # Stripe pays the balance out on the account's schedule (the sandbox: now).
    httpx.post(f"{web_stack.sandbox}/stripe/_sandbox/accounts/{account}/payout",
               timeout=10).raise_for_status()
    seller.reload()
    expect(seller.get_by_test_id("payout")).to_contain_text("$500.00")
    expect(seller.get_by_test_id("balance")).to_have_text("$0.00")
    check_page(seller, "payouts")


def _return_card(page: Page, return_id: str):
    return page.locator(f"[data-return-id='{return_id}']")


def test_return_contested_then_accepted_by_the_owner(open_page, web_stack):
    tag = uuid.uuid4().hex[:6]
    lead_id = _lead(web_stack.db, "northwind", f"Optics {tag}", LeadStatus.LISTED,
                    f"grace-{tag}@lens.example.com")
    purchase = _bought(web_stack, lead_id)
    return_id = f"ret_{purchase['_id']}"

    buyer = open_page(ADMIN_BB, "/marketplace/purchases")
    seller = open_page(ADMIN_NW, "/marketplace/purchases")
    row = buyer.locator(f"tr[data-purchase-id='{purchase['_id']}']")
    row.get_by_role("button", name=re.compile("^Return lead")).click()
    dialog = buyer.get_by_role("dialog", name="Return this lead")
    dialog.get_by_label("Reason").select_option("unreachable")
    dialog.get_by_label("Note for the seller").fill("three calls, no answer")
    check_page(buyer, "return-dialog")
    dialog.get_by_role("button", name="Ask for a return").click()
    expect(buyer.get_by_role("dialog", name="Return asked for")).to_contain_text("requested")
    buyer.keyboard.press("Escape")

    card = _return_card(seller, return_id)
    expect(card).to_be_visible(timeout=15_000)  # live: return-updated
    card.get_by_label(re.compile("^Note on the return")).fill("we reached them yesterday")
    card.get_by_role("button", name="Contest").click()
    expect(card).to_have_attribute("data-status", "contested")
    expect(_return_card(buyer, return_id)).to_have_attribute("data-status", "contested",
                                                             timeout=15_000)
    check_page(seller, "return-contested")

    owner = open_page(OWNER, "/marketplace/purchases")
    decide = _return_card(owner, return_id)
    decide.get_by_role("button", name="Accept return (refund)").click()
    expect(decide).to_have_attribute("data-status", "accepted")
    buyer_card = _return_card(buyer, return_id)
    expect(buyer_card).to_have_attribute("data-status", "accepted", timeout=15_000)
    expect(buyer_card.get_by_role("list", name="Timeline")).to_contain_text("refunded")
    expect(row).to_contain_text("Refunded")
    # The credit on the buyer's invoice of the month.
    build_month(web_stack.db, month_key(utcnow()))
    invoice = web_stack.db[c.INVOICES].find_one({"partner_id": "bluebird",
                                                  "month": month_key(utcnow())})
    buyer.goto(f"/billing/invoices/{invoice['_id']}")
    expect(buyer.get_by_role("table", name="Invoice lines")).to_contain_text(
        f"Refund, lead {lead_id}")
    check_page(buyer, "invoice-with-credit")


def test_known_contact_is_flagged_before_reserving(open_page, web_stack):
    tag = uuid.uuid4().hex[:6]
    email = f"linus-{tag}@penguin.example.com"
    _lead(web_stack.db, "bluebird", f"Own {tag}", LeadStatus.OPEN, email.upper())
    industry = f"Kernels {tag}"
    _lead(web_stack.db, "northwind", industry, LeadStatus.LISTED, email)
    buyer = open_page(ADMIN_BB, f"/marketplace?industry={industry.replace(' ', '+')}")
    card = buyer.get_by_role("listitem", name=f"{industry} lead, Iceland")
    expect(card.get_by_test_id("known-contact")).to_contain_text("Known contact")
    assert email not in buyer.content()
    check_page(buyer, "known-contact")
