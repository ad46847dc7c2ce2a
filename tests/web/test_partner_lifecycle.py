"""A deactivated partner in the browser (issue 18): its signed-in admin is signed out
(its next page load lands on the sign-in page, and signing in again says why it
cannot), and its listing leaves another buyer's open marketplace page without a
reload. The partner is made for this test, so the shared demo partners are untouched."""

from __future__ import annotations

import re
import uuid

import httpx
from playwright.sync_api import expect

from pc_core import collections as c
from pc_core.access import Principal, Role
from pc_core.identity.partners import create_partner
from pc_core.identity.users import create_user
from pc_core.leads.inventory import build_lead_doc
from pc_core.models.leads import LeadFields
from pc_core.stages import LeadStatus
from pc_core.timeutil import utcnow
from tests.web.browser import sign_in_ui
from tests.web.conftest import ADMIN_BB, DEMO_PASSWORD, OWNER, password_of
from tests.web.test_marketplace import live

SYSTEM = Principal(user_id="system", role=Role.OWNER, partner_id=None)


def test_deactivated_partner_is_signed_out_and_its_listing_goes(open_page, web_stack):
    tag = uuid.uuid4().hex[:6]
    db = web_stack.db
    partner = create_partner(db, SYSTEM, name=f"Lifecycle {tag}").id
    seller_email = f"admin-{tag}@lifecycle.example.com"
    create_user(db, SYSTEM, email=seller_email, password=DEMO_PASSWORD, role=Role.ADMIN,
                partner_id=partner)
    industry = f"Drones {tag}"
    lead = build_lead_doc(partner, LeadFields(
        title="Drone fleet", company="Skyward", contact_name="Amelia Earhart",
        contact_email="amelia@skyward.example.com", industry=industry, location="Kansas",
        company_size="51-200", budget_cents=1_000_000), source="test", now=utcnow(),
        status=LeadStatus.LISTED)
    db[c.LEADS].insert_one(lead)
    listing_name = f"{industry} lead, Kansas"

    seller = open_page(seller_email, "/leads")
    expect(seller.get_by_role("heading", level=1, name="Leads")).to_be_visible()
    buyer = open_page(ADMIN_BB, "/marketplace")
    live(buyer)
    expect(buyer.get_by_role("listitem", name=listing_name)).to_be_visible()

    with httpx.Client(base_url=web_stack.url, timeout=10) as api:
        token = api.post("/v1/auth/login", json={"email": OWNER,
                                                 "password": password_of(OWNER)}).json()
        r = api.patch(f"/v1/partners/{partner}", json={"active": False},
                      headers={"Authorization": f"Bearer {token['access_token']}"})
    assert r.status_code == 200, r.text
    assert r.json()["lifecycle"]["listings_withdrawn"] == 1

    # The other buyer's open page drops the listing, live.
    expect(buyer.get_by_role("listitem", name=listing_name)).to_have_count(0)
    # The seller's session is over: its next load is the sign-in page, and signing in
    # again says why it cannot.
    seller.reload()
    expect(seller).to_have_url(re.compile(r"/login"))
    sign_in_ui(seller, seller_email, DEMO_PASSWORD)
    expect(seller.get_by_role("alert")).to_contain_text("deactivated")
