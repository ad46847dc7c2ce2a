"""Bad-lead returns against the Stripe and Mailgun sandbox: the buyer asks, the seller
answers, the owner decides; refunds reverse the seller's transfer and refund the
commission; the credit lands on the invoice; each bad input is a clear 4xx and
changes nothing."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import stripe

from pc_core import collections as c
from pc_core.access import Principal, Role
from pc_core.billing.build import build_month
from pc_core.errors import Conflict
from pc_core.hubspot.connection.pages import HsRecord
from pc_core.hubspot.pull.raw_store import raw_doc
from pc_core.marketplace import known_contacts
from pc_core.returns.flow import accept_overdue, request_return
from pc_core.settings import Settings
from pc_core.store.keys import month_key
from pc_core.timeutil import utcnow
from tests.conftest import market_settings
from tests.marketplace_helpers import (
    forward_stripe,
    listed_lead,
    onboard,
    reserve,
    stripe_events,
)


@pytest.fixture
def settings(stores, sandbox_url) -> Settings:
    return market_settings(stores, sandbox_url)


def _sold(client, world, db, stripe_admin, receiver, *, price=10_000, **fields):
    """A lead of A bought and paid by B; returns (lead_id, purchase)."""
    lead_id = listed_lead(db, world.partner_a, price_cents=price, **fields)
    rid = reserve(client, world.admin_b, lead_id).json()["id"]
    purchase = client.post("/v1/marketplace/purchases", json={"reservation_id": rid},
                           headers=world.admin_b.headers).json()
    stripe_admin.post(f"/payment_intents/{purchase['payment_intent_id']}/succeed")
    [event] = stripe_events(receiver, purchase["payment_intent_id"], {"payment_intent.succeeded"})
    assert forward_stripe(client, [event])[0].json()["result"] == "completed"
    return lead_id, purchase


def _ask(client, account, purchase_id, reason="unreachable", note="nobody answers"):
    return client.post("/v1/marketplace/returns", json={
        "purchase_id": purchase_id, "reason": reason, "note": note}, headers=account.headers)


def _tags(mailbox, to):
    return [m["tags"] for m in mailbox.get("/messages", params={"to": to}).json()["items"]]


def test_contested_return_decided_by_the_owner(client, world, db, settings, stripe_admin,
                                               market_webhook_receiver, mailbox):
    account_id = onboard(client, world.admin_a, market_webhook_receiver)
    lead_id, purchase = _sold(client, world, db, stripe_admin, market_webhook_receiver)
    assert client.get(f"/v1/leads/{lead_id}", headers=world.user_b.headers).status_code == 200

    # Bad input first: another partner → 404, read-only → 403, unknown reason → 422.
    assert _ask(client, world.admin_a, purchase["id"]).status_code == 404
    assert _ask(client, world.user_b, purchase["id"]).status_code == 403
    assert _ask(client, world.admin_b, purchase["id"], reason="meh").status_code == 422
    assert db[c.RETURNS].find_one({}) is None

    r = _ask(client, world.admin_b, purchase["id"])
    assert r.status_code == 201, r.text
    ret = r.json()
    assert ret["status"] == "requested" and ret["seller_due_at"]
    assert _ask(client, world.admin_b, purchase["id"]).status_code == 409  # double return
    assert ["return_update"] in _tags(mailbox, world.admin_a.email)

    # Only the seller answers; contesting needs a reason.
    answer = f"/v1/marketplace/returns/{ret['id']}/answer"
    assert client.post(answer, json={"accept": True}, headers=world.admin_b.headers
                       ).status_code == 403
    assert client.post(answer, json={"accept": False}, headers=world.admin_a.headers
                       ).status_code == 400
    r = client.post(answer, json={"accept": False, "note": "we called them yesterday"},
                    headers=world.admin_a.headers)
    assert r.status_code == 200 and r.json()["status"] == "contested"
    assert client.post(answer, json={"accept": True}, headers=world.admin_a.headers
                       ).status_code == 409
    decide = f"/v1/marketplace/returns/{ret['id']}/decision"
    assert client.post(decide, json={"accept": True}, headers=world.admin_a.headers
                       ).status_code == 403
    r = client.post(decide, json={"accept": True, "note": "no answer on three calls"},
                    headers=world.owner.headers)
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "accepted" and done["decided_by"] == "owner"
    assert [s["action"] for s in done["timeline"]] == ["requested", "contested", "accepted",
                                                       "refunded"]

    # Refunded in Stripe, the seller's transfer reversed and the commission refunded.
    sdk = stripe.StripeClient(settings.stripe_secret_key,
                              base_addresses={"api": settings.stripe_api_base})
    pi = sdk.v1.payment_intents.retrieve(purchase["payment_intent_id"])
    charge = sdk.v1.charges.retrieve(pi.latest_charge)
    assert charge.amount_refunded == 12_000
    transfer = sdk.v1.transfers.retrieve(charge["transfer"])
    assert transfer.destination == account_id and transfer.amount_reversed == 10_000
    fee = sdk.v1.application_fees.list(params={"charge": charge.id}).data[0]
    assert fee.amount_refunded == 2_000
    assert client.get("/v1/payouts", headers=world.admin_a.headers
                      ).json()["balance_available_cents"] == 0

    # The buyer lost the contact; the lead is back with the seller, listed again.
    assert client.get(f"/v1/leads/{lead_id}", headers=world.user_b.headers).status_code == 404
    lead = db[c.LEADS].find_one({"_id": lead_id})
    assert lead["status"] == "listed" and lead.get("buyer_partner_id") is None
    # A credit line on the buyer's invoice of the month.
    bought = db[c.PURCHASES].find_one({"_id": purchase["id"]})
    assert bought["status"] == "refunded" and bought["refund_id"] == done["refund_id"]
    build_month(db, month_key(utcnow()))
    invoice = db[c.INVOICES].find_one({"partner_id": world.partner_b,
                                       "month": month_key(utcnow())})
    credit = [ln for ln in invoice["lines"] if ln["kind"] == "refund"]
    assert [ln["total_cents"] for ln in credit] == [-12_000]
    assert invoice["total_cents"] == 0
    assert ["return_update"] in _tags(mailbox, world.admin_b.email)
    # A seller rating now rests on one sale with one return.
    partner = db[c.PARTNERS].find_one({"_id": world.partner_a})
    assert partner["rating_count"] == 1 and partner["rating"] < 2.5


def test_late_return_is_refused(client, world, db, settings, stripe_admin,
                                market_webhook_receiver):
    _, purchase = _sold(client, world, db, stripe_admin, market_webhook_receiver)
    buyer = Principal(user_id=world.admin_b.id, role=Role.ADMIN, partner_id=world.partner_b)
    late = utcnow() + timedelta(days=7, minutes=1)
    with pytest.raises(Conflict, match="window closed"):
        request_return(db, settings, buyer, purchase["id"], "unreachable", None, now=late)
    assert db[c.RETURNS].find_one({}) is None
    # Within the window it is accepted for review.
    inside = utcnow() + timedelta(days=6, hours=23)
    assert request_return(db, settings, buyer, purchase["id"], "wrong_data", None,
                          now=inside)["status"] == "requested"


def test_refund_refused_by_stripe_changes_nothing(client, world, db, settings, stripe_admin,
                                                  market_webhook_receiver):
    lead_id, purchase = _sold(client, world, db, stripe_admin, market_webhook_receiver)
    ret = _ask(client, world.admin_b, purchase["id"]).json()
    charge_id = stripe.StripeClient(settings.stripe_secret_key, base_addresses={
        "api": settings.stripe_api_base}
    ).v1.payment_intents.retrieve(purchase["payment_intent_id"]).latest_charge
    stripe_admin.post(f"/charges/{charge_id}/dispute").raise_for_status()
    r = client.post(f"/v1/marketplace/returns/{ret['id']}/answer", json={"accept": True},
                    headers=world.admin_a.headers)
    assert r.status_code == 502 and "Stripe refused the refund" in r.json()["detail"]
    assert db[c.RETURNS].find_one({"_id": ret["id"]})["status"] == "requested"
    assert db[c.PURCHASES].find_one({"_id": purchase["id"]})["status"] == "completed"
    assert db[c.LEADS].find_one({"_id": lead_id})["status"] == "sold"


def test_silence_accepts(client, world, db, settings, stripe_admin, market_webhook_receiver):
    lead_id, purchase = _sold(client, world, db, stripe_admin, market_webhook_receiver)
    ret = _ask(client, world.admin_b, purchase["id"]).json()
    assert accept_overdue(db, settings) == 0  # not due yet
    later = utcnow() + timedelta(days=3, minutes=1)
    assert accept_overdue(db, settings, now=later) == 1
    doc = db[c.RETURNS].find_one({"_id": ret["id"]})
    assert doc["status"] == "accepted" and doc["decided_by"] == "system"
    assert db[c.PURCHASES].find_one({"_id": purchase["id"]})["status"] == "refunded"
    assert accept_overdue(db, settings, now=later) == 0


def test_known_contact_is_flagged_and_its_return_accepted_at_once(
        client, world, db, stripe_admin, market_webhook_receiver):
    # B already has this contact among its own leads (another spelling of the e-mail).
    r = client.post("/v1/leads", json={"title": "Mine", "contact_email": "ADA@acme.example.com"},
                    headers=world.admin_b.headers)
    assert r.status_code == 201
    known_lead = listed_lead(db, world.partner_a)  # ada@acme.example.com
    same_company = listed_lead(db, world.partner_a, contact_email="bob@acme.example.com")
    stranger = listed_lead(db, world.partner_a, contact_email="eve@other.example.net")
    r = client.post("/v1/marketplace/known-contacts",
                    json={"lead_ids": [known_lead, same_company, stranger, "nope"]},
                    headers=world.user_b.headers)
    assert r.status_code == 200
    got = {i["lead_id"]: i["match"] for i in r.json()["items"]}
    assert got == {known_lead: "email", same_company: "domain", stranger: None}
    assert "acme" not in r.text  # nothing of the seller's data
    assert client.post("/v1/marketplace/known-contacts", json={"lead_ids": []},
                       headers=world.user_b.headers).status_code == 422

    rid = reserve(client, world.admin_b, known_lead).json()["id"]
    purchase = client.post("/v1/marketplace/purchases", json={"reservation_id": rid},
                           headers=world.admin_b.headers).json()
    stripe_admin.post(f"/payment_intents/{purchase['payment_intent_id']}/succeed")
    [event] = stripe_events(market_webhook_receiver, purchase["payment_intent_id"],
                            {"payment_intent.succeeded"})
    forward_stripe(client, [event])
    r = _ask(client, world.admin_b, purchase["id"], reason="already_known", note="")
    assert r.status_code == 201 and r.json()["status"] == "accepted"
    assert r.json()["decided_by"] == "system"


def test_abuse_guard_needs_the_owner(client, world, db, settings, stripe_admin,
                                     market_webhook_receiver):
    settings.return_guard_min_purchases = 1
    settings.return_guard_rate = 0.3
    _, purchase = _sold(client, world, db, stripe_admin, market_webhook_receiver)
    ret = _ask(client, world.admin_b, purchase["id"]).json()
    assert ret["status"] == "needs_approval" and ret["seller_due_at"] is None
    answer = client.post(f"/v1/marketplace/returns/{ret['id']}/answer", json={"accept": True},
                         headers=world.admin_a.headers)
    assert answer.status_code == 409
    r = client.post(f"/v1/marketplace/returns/{ret['id']}/decision",
                    json={"accept": True, "note": "fine"}, headers=world.owner.headers)
    assert r.status_code == 200 and r.json()["status"] == "requested"
    assert r.json()["seller_due_at"]


def _known(client, headers: dict, lead_ids: list[str]) -> dict[str, str | None]:
    """The buyer's known-contact answer: lead id -> "email" / "domain" / None."""
    r = client.post("/v1/marketplace/known-contacts", json={"lead_ids": lead_ids},
                    headers=headers)
    return {i["lead_id"]: i["match"] for i in r.json()["items"]}


def test_synced_hubspot_contacts_and_older_leads_count_as_known(client, world, db):
    """A contact pulled from the buyer's HubSpot (raw_store writes its keys), and a lead
    stored before match keys existed (the maintenance backfill gives it keys)."""
    rec = HsRecord(id="901", properties={"email": "Grace@Navy.example.mil",
                                         "createdate": "2020-01-01T00:00:00Z"},
                   archived=False, updated_at="2020-01-01T00:00:00Z", modified_ms=0)
    db[c.HUBSPOT_CONTACTS].insert_one(raw_doc(world.partner_b, "contacts", rec, utcnow(),
                                              dirty=False))
    old = listed_lead(db, world.partner_b, contact_email="linus@kernel.example.org")
    db[c.LEADS].update_one({"_id": old}, {"$unset": {"match_keys": 1}})
    grace = listed_lead(db, world.partner_a, contact_email="grace@navy.example.mil")
    linus = listed_lead(db, world.partner_a, contact_email="linus@kernel.example.org")

    def ask():
        return _known(client, world.user_b.headers, [grace, linus])

    assert ask() == {grace: "email", linus: None}
    assert known_contacts.backfill(db) >= 1
    assert ask() == {grace: "email", linus: "email"}
    assert known_contacts.backfill(db) == 0


def test_backfill_rewrites_keys_of_the_old_format(client, world, db):
    """Keys stored before 2026-12-05 (the whole SHA-256 as 64 hex characters) match no
    key of today's format; the maintenance backfill rewrites them, leads and HubSpot
    contacts alike, and leaves current keys alone."""
    def old_keys(email: str) -> list[str]:
        return sorted(hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()
                      for kind, value in (("e", email), ("d", email.split("@")[1])))

    mine = listed_lead(db, world.partner_b, contact_email="alan@turing.example.org")
    db[c.LEADS].update_one({"_id": mine},
                           {"$set": {"match_keys": old_keys("alan@turing.example.org")}})
    rec = HsRecord(id="903", properties={"email": "joan@clarke.example.org"}, archived=False,
                   updated_at="2020-01-01T00:00:00Z", modified_ms=0)
    contact = raw_doc(world.partner_b, "contacts", rec, utcnow(), dirty=False)
    contact["match_keys"] = old_keys("joan@clarke.example.org")
    db[c.HUBSPOT_CONTACTS].insert_one(contact)
    alan = listed_lead(db, world.partner_a, contact_email="alan@turing.example.org")
    joan = listed_lead(db, world.partner_a, contact_email="joan@clarke.example.org")

    def ask():
        return _known(client, world.user_b.headers, [alan, joan])

    assert ask() == {alan: None, joan: None}
    assert known_contacts.backfill(db) == 2
    assert ask() == {alan: "email", joan: "email"}
    assert db[c.LEADS].find_one({"_id": mine})["match_keys"] == known_contacts.contact_keys(
        {"contact_email": "alan@turing.example.org"})
    assert all(len(k) == 16 for k in db[c.HUBSPOT_CONTACTS].find_one(
        {"_id": contact["_id"]})["match_keys"])
    assert known_contacts.backfill(db) == 0
