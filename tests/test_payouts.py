"""Stripe Connect for sellers against the Stripe sandbox through the official SDK:
onboarding on the hosted page, ``account.updated``, the listing rule, destination
charges with the commission as application fee, the seller's balance."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx
import pytest
import stripe

from pc_core import collections as c
from pc_core.access import Role
from pc_core.hubspot.lead_build.lead_builder import build_leads, lead_id_for_deal
from pc_core.hubspot.lead_build.stage_mapping import store_pipeline_stages
from pc_core.identity.partners import create_partner
from pc_core.settings import Settings
from tests.conftest import SYSTEM, enable_payouts, make_account, market_settings
from tests.marketplace_helpers import forward_stripe, onboard, reserve, stripe_events
from tests.test_stage_mapping_and_leads import _deal, _stages


@pytest.fixture
def settings(stores, sandbox_url) -> Settings:
    return market_settings(stores, sandbox_url)


@pytest.fixture
def seller(db, settings):
    """A new agency that has not set up payouts, with its admin and a read-only user."""
    partner = create_partner(db, SYSTEM, name="Agency C").id
    return (partner, make_account(db, settings, Role.ADMIN, partner),
            make_account(db, settings, Role.USER, partner))


def _new_lead(client, account, **extra):
    r = client.post("/v1/leads", json={"title": "Deal", "contact_email": "bo@beta.example.org",
                                       "company": "Beta", **extra}, headers=account.headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_seller_onboards_sells_and_is_paid(client, world, db, settings, seller, stripe_admin,
                                           market_webhook_receiver):
    partner, admin, reader = seller
    lead_id = _new_lead(client, admin)
    # Not onboarded: listing is refused, with the way out in the message; nothing changed.
    r = client.patch(f"/v1/leads/{lead_id}", json={"status": "listed"}, headers=admin.headers)
    assert r.status_code == 409 and "payouts" in r.json()["detail"]
    assert db[c.LEADS].find_one({"_id": lead_id})["status"] == "open"
    assert client.get("/v1/payouts", headers=admin.headers).json()["can_list"] is False
    # Read-only users cannot start onboarding; another partner's payouts are not found.
    assert client.post("/v1/payouts/onboarding", headers=reader.headers).status_code == 403
    assert client.get("/v1/payouts", params={"partner_id": world.partner_a},
                      headers=admin.headers).status_code == 404

    account_id = onboard(client, admin, market_webhook_receiver)
    doc = db[c.PARTNERS].find_one({"_id": partner})
    assert doc["stripe_account_id"] == account_id
    assert doc["stripe_connect"]["payouts_enabled"] is True
    # Onboarding again reuses the account (one per partner).
    again = client.post("/v1/payouts/onboarding", headers=admin.headers).json()["url"]
    assert account_id in again

    r = client.patch(f"/v1/leads/{lead_id}", json={"status": "listed", "price_cents": 10_000},
                     headers=admin.headers)
    assert r.status_code == 200, r.text
    rid = reserve(client, world.admin_b, lead_id).json()["id"]
    purchase = client.post("/v1/marketplace/purchases", json={"reservation_id": rid},
                           headers=world.admin_b.headers).json()
    sdk = stripe.StripeClient(settings.stripe_secret_key,
                              base_addresses={"api": settings.stripe_api_base})
    pi = sdk.v1.payment_intents.retrieve(purchase["payment_intent_id"])
    assert pi.transfer_data.destination == account_id
    assert pi.application_fee_amount == purchase["commission_cents"] == 2_000
    stripe_admin.post(f"/payment_intents/{pi.id}/succeed").raise_for_status()
    [event] = stripe_events(market_webhook_receiver, pi.id, {"payment_intent.succeeded"})
    assert forward_stripe(client, [event])[0].json()["result"] == "completed"

    view = client.get("/v1/payouts", headers=admin.headers).json()
    assert view["payouts_enabled"] and view["can_list"]
    assert view["balance_available_cents"] == 10_000  # the price; the platform kept the fee
    assert view["sold_count"] == 1 and view["sold_cents"] == 10_000
    assert view["sales"][0]["paid_to_account"] is True
    paid = stripe_admin.post(f"/accounts/{account_id}/payout").json()
    assert paid["amount"] == 10_000
    view = client.get("/v1/payouts", headers=admin.headers).json()
    assert view["balance_available_cents"] == 0
    assert [p["amount_cents"] for p in view["payouts"]] == [10_000]
    # The seller's rating now rests on one sale, and listings show the count.
    assert db[c.PARTNERS].find_one({"_id": partner})["rating_count"] == 1


def test_operator_lists_without_connect(client, world, db, settings):
    owner = world.owner
    r = client.post("/v1/leads", json={"title": "Op deal", "status": "listed",
                                       "partner_id": world.operator}, headers=owner.headers)
    assert r.status_code == 201 and r.json()["status"] == "listed"
    assert client.post("/v1/payouts/onboarding", headers=owner.headers).status_code == 409


def test_a_non_fit_stage_does_not_list_an_unconnected_sellers_lead(client, db, seller):
    partner, admin, _ = seller
    lead_id = _new_lead(client, admin, stage="non_fit")
    assert db[c.LEADS].find_one({"_id": lead_id})["status"] == "open"


def test_bad_account_updated_changes_nothing(client, db, settings, seller, stripe_admin,
                                             market_webhook_receiver):
    partner, admin, _ = seller
    client.post("/v1/payouts/onboarding", headers=admin.headers).raise_for_status()
    account_id = db[c.PARTNERS].find_one({"_id": partner})["stripe_account_id"]
    body = json.dumps({"id": "evt_bad1", "type": "account.updated", "created": 1,
                       "data": {"object": {"id": account_id, "payouts_enabled": "yes"}}})
    ts = int(time.time())
    sig = hmac.new(settings.stripe_webhook_secret.encode(), f"{ts}.{body}".encode(),
                   hashlib.sha256).hexdigest()
    r = client.post("/v1/webhooks/stripe", content=body,
                    headers={"Stripe-Signature": f"t={ts},v1={sig}",
                             "Content-Type": "application/json"})
    assert r.status_code == 400 and "payouts_enabled" in r.json()["detail"]
    assert db[c.PARTNERS].find_one({"_id": partner})["stripe_connect"]["payouts_enabled"] is False
    # A used or forged onboarding link does not enable anything.
    assert httpx.get(f"{settings.stripe_api_base}/connect/setup/{account_id}/alu_nope"
                     ).status_code == 404


def _signed(secret: str, body: str) -> dict[str, str]:
    ts = int(time.time())
    sig = hmac.new(secret.encode(), f"{ts}.{body}".encode(), hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={ts},v1={sig}", "Content-Type": "application/json"}


def test_connect_endpoint_secret_is_accepted_too(client, db, settings, seller, stripe_admin):
    """account.updated comes through Stripe's Connect endpoint, signed with its own
    secret: accepted when configured; a third secret is not."""
    partner, admin, _ = seller
    client.post("/v1/payouts/onboarding", headers=admin.headers).raise_for_status()
    account_id = db[c.PARTNERS].find_one({"_id": partner})["stripe_account_id"]
    body = json.dumps({"id": "evt_connect1", "type": "account.updated", "created": 1,
                       "account": account_id,
                       "data": {"object": {"id": account_id, "charges_enabled": True,
                                           "payouts_enabled": True,
                                           "details_submitted": True}}})
    settings.stripe_connect_webhook_secret = "whsec_connect_endpoint"
    r = client.post("/v1/webhooks/stripe", content=body, headers=_signed("whsec_other", body))
    assert r.status_code == 400
    assert db[c.PARTNERS].find_one({"_id": partner})["stripe_connect"]["payouts_enabled"] is False
    r = client.post("/v1/webhooks/stripe", content=body,
                    headers=_signed("whsec_connect_endpoint", body))
    assert r.status_code == 200 and r.json()["result"] == "payouts-enabled"
    assert db[c.PARTNERS].find_one({"_id": partner})["stripe_connect"]["payouts_enabled"] is True


def test_a_hubspot_non_fit_deal_lists_only_for_a_seller_with_payouts(db, seller):
    """The HubSpot sync's automatic listing follows the same rule: an unconnected
    seller's non_fit deal becomes an open lead; once payouts are enabled, a non_fit
    deal is listed."""
    partner, _, _ = seller
    store_pipeline_stages(db, partner, _stages())
    db[c.HUBSPOT_DEALS].insert_one(_deal(partner, "7", "901", pipeline="77"))
    stats = build_leads(db, partner)
    lead = db[c.LEADS].find_one({"_id": lead_id_for_deal(partner, "7")})
    assert lead["stage"] == "non_fit" and lead["status"] == "open" and stats.listed == 0
    enable_payouts(db, partner)
    db[c.HUBSPOT_DEALS].insert_one(_deal(partner, "8", "901", pipeline="77"))
    build_leads(db, partner)
    assert db[c.LEADS].find_one({"_id": lead_id_for_deal(partner, "8")})["status"] == "listed"
