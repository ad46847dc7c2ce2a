"""Purchases end to end against the Stripe and Mailgun sandbox: the PaymentIntent,
the signed webhook (forwarded from the sandbox's real delivery), exactly-once
completion under duplicates and reordering, signatures, failures, refunds, emails."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import httpx
import pytest
import stripe

from pc_core import collections as c
from pc_core.access import Role
from pc_core.marketplace import fulfilment
from pc_core.marketplace.expiry import expire_reservations
from pc_core.settings import Settings
from pc_core.timeutil import utcnow
from tests.conftest import make_account, market_settings
from tests.marketplace_helpers import listed_lead, published, reserve


@pytest.fixture
def settings(stores, sandbox_url) -> Settings:
    """This module's settings: Stripe and Mailgun at the sandbox."""
    return market_settings(stores, sandbox_url)


def _messages(mailbox: httpx.Client, to: str) -> list[dict]:
    return mailbox.get("/messages", params={"to": to}).json()["items"]


def _events_for(receiver, pi_id: str, types: set[str], count: int, timeout: float = 15):
    """The receiver's deliveries of ``types`` for PaymentIntent ``pi_id``."""
    deadline = time.monotonic() + timeout
    while True:
        got = []
        for r in list(receiver.requests):
            event = json.loads(r.body)
            if event["type"] in types and event["data"]["object"].get("id") == pi_id:
                got.append(r)
        if len(got) >= count or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def _forward(client, received) -> list:
    answers = []
    for r in received:
        header = next(v for k, v in r.headers.items() if k.lower() == "stripe-signature")
        answers.append(client.post("/v1/webhooks/stripe", content=r.body,
                                   headers={"Stripe-Signature": header,
                                            "Content-Type": "application/json"}))
    return answers


def _buy(client, world, db, price=10_001):
    lead_id = listed_lead(db, world.partner_a, price_cents=price)
    rid = reserve(client, world.admin_b, lead_id).json()["id"]
    r = client.post("/v1/marketplace/purchases", json={"reservation_id": rid},
                    headers=world.admin_b.headers)
    assert r.status_code == 201, r.text
    return lead_id, rid, r.json()


def test_purchase_end_to_end(client, world, db, settings, stripe_admin,
                             market_webhook_receiver, mailbox, redis_conn):
    lead_id, rid, purchase = _buy(client, world, db)
    assert purchase["status"] == "pending"
    assert purchase["amount_cents"] == 12_001 and purchase["commission_cents"] == 2_000
    assert purchase["currency"] == "usd" and purchase["client_secret"]
    pi = stripe.StripeClient(settings.stripe_secret_key,
                             base_addresses={"api": settings.stripe_api_base}
                             ).v1.payment_intents.retrieve(purchase["payment_intent_id"])
    assert pi.amount == 12_001
    assert pi.metadata["purchase_id"] == purchase["id"]
    assert pi.metadata["lead_id"] == lead_id
    assert pi.metadata["buyer_partner_id"] == world.partner_b
    assert pi.metadata["seller_partner_id"] == world.partner_a
    # Asking again while pending answers the same purchase.
    again = client.post("/v1/marketplace/purchases", json={"reservation_id": rid},
                        headers=world.admin_b.headers)
    assert again.json()["id"] == purchase["id"]
    # The reservation is held while paying: no release.
    assert client.delete(f"/v1/marketplace/reservations/{rid}",
                         headers=world.admin_b.headers).status_code == 409

    pubsub = redis_conn.pubsub()
    pubsub.subscribe("pc-socketio")
    pubsub.get_message(timeout=1)
    stripe_admin.post(f"/payment_intents/{pi.id}/succeed").raise_for_status()
    [event] = _events_for(market_webhook_receiver, pi.id, {"payment_intent.succeeded"}, 1)
    [answer] = _forward(client, [event])
    assert answer.status_code == 200, answer.text

    done = db[c.PURCHASES].find_one({"_id": purchase["id"]})
    assert done["status"] == "completed" and done["completed_at"] is not None
    lead = db[c.LEADS].find_one({"_id": lead_id})
    assert lead["status"] == "sold" and lead["buyer_partner_id"] == world.partner_b
    assert lead["owner_partner_id"] == world.partner_b and lead["purchase_id"] == purchase["id"]
    assert db[c.RESERVATIONS].find_one({"_id": rid})["status"] == "converted"
    # The buyer now reads the contact's data.
    bought = client.get(f"/v1/leads/{lead_id}", headers=world.user_b.headers)
    assert bought.status_code == 200 and bought.json()["contact_email"] == "ada@acme.example.com"
    assert published(pubsub, "lead-sold", lead_id)

    # Emails: one lead-sold to the seller's admin, one confirmation to the buyer's.
    seller_mail = _messages(mailbox, world.admin_a.email)
    buyer_mail = _messages(mailbox, world.admin_b.email)
    assert [m["tags"] for m in seller_mail] == [["lead_sold"]]
    assert [m["tags"] for m in buyer_mail] == [["purchase_confirmed"]]
    assert "ada@acme.example.com" in buyer_mail[0]["text"]
    assert "$120.01" in buyer_mail[0]["text"]

    # The same event again: 200, nothing happens twice.
    [dup] = _forward(client, [event])
    assert dup.status_code == 200 and dup.json()["duplicate"] is True
    assert len(_messages(mailbox, world.admin_a.email)) == 1
    assert len(_messages(mailbox, world.admin_b.email)) == 1

    for account in (world.user_a, world.user_b):
        listed = client.get("/v1/marketplace/purchases", headers=account.headers).json()
        assert [p["id"] for p in listed["items"]] == [purchase["id"]]
        assert "client_secret" not in listed["items"][0]
        # Once paid, buyer and seller both see which lead, and where the money went.
        assert listed["items"][0]["lead_title"] == "Acme deal"
        assert listed["items"][0]["money_outcome"] == (
            "Paid $120.01: $100.01 to the seller and $20.00 commission.")
    other = make_account(db, settings, Role.ADMIN, world.operator)
    assert client.get("/v1/marketplace/purchases", headers=other.headers).json()["items"] == []


def test_duplicate_and_out_of_order_events_complete_once(
        client, world, db, stripe_admin, market_webhook_receiver, mailbox):
    """A failed attempt then a successful one, delivered twice each and newest first:
    the late failure must not undo the completion, and everything happens once."""
    stripe_admin.put("/config", json={"deliver_twice": True, "out_of_order": True})
    lead_id, rid, purchase = _buy(client, world, db)
    pi_id = purchase["payment_intent_id"]
    stripe_admin.post(f"/payment_intents/{pi_id}/fail").raise_for_status()
    stripe_admin.post(f"/payment_intents/{pi_id}/succeed").raise_for_status()
    assert stripe_admin.post("/flush").json()["flushed"] >= 2
    types = {"payment_intent.succeeded", "payment_intent.payment_failed"}
    received = _events_for(market_webhook_receiver, pi_id, types, 4)
    order = [json.loads(r.body)["type"] for r in received]
    assert order[0] == "payment_intent.succeeded", order  # newest first
    answers = _forward(client, received)
    assert all(a.status_code == 200 for a in answers)
    results = [a.json()["result"] for a in answers if not a.json()["duplicate"]]
    assert results.count("completed") == 1
    done = db[c.PURCHASES].find_one({"_id": purchase["id"]})
    assert done["status"] == "completed"
    assert db[c.LEADS].find_one({"_id": lead_id})["status"] == "sold"
    assert len(_messages(mailbox, world.admin_a.email)) == 1
    # And the reverse order (failure first, then success) also completes once.
    lead2, rid2, purchase2 = _buy(client, world, db)
    pi2 = purchase2["payment_intent_id"]
    stripe_admin.put("/config", json={"out_of_order": False, "deliver_twice": False})
    stripe_admin.post(f"/payment_intents/{pi2}/fail").raise_for_status()
    [failed] = _events_for(market_webhook_receiver, pi2, {"payment_intent.payment_failed"}, 1)
    assert _forward(client, [failed])[0].json()["result"] == "failed"
    stripe_admin.post(f"/payment_intents/{pi2}/succeed").raise_for_status()
    [ok] = _events_for(market_webhook_receiver, pi2, {"payment_intent.succeeded"}, 1)
    assert _forward(client, [ok])[0].json()["result"] == "completed"
    assert db[c.LEADS].find_one({"_id": lead2})["buyer_partner_id"] == world.partner_b


def test_forged_and_stale_signatures_change_nothing(client, world, db, settings,
                                                     stripe_admin, market_webhook_receiver):
    lead_id, rid, purchase = _buy(client, world, db)
    pi_id = purchase["payment_intent_id"]
    stripe_admin.post(f"/payment_intents/{pi_id}/succeed").raise_for_status()
    [event] = _events_for(market_webhook_receiver, pi_id, {"payment_intent.succeeded"}, 1)
    payload = event.body.decode()
    forged = _header(payload, "whsec_not_ours", int(time.time()))
    stale = _header(payload, settings.stripe_webhook_secret, int(time.time()) - 301)
    tampered_body = payload.replace(purchase["id"], "x" * len(purchase["id"]))
    valid_header = next(v for k, v in event.headers.items() if k.lower() == "stripe-signature")
    for body, header in ((payload, forged), (payload, stale), (tampered_body, valid_header),
                         (payload, "garbage"), (payload, None)):
        headers = {"Content-Type": "application/json"}
        if header:
            headers["Stripe-Signature"] = header
        r = client.post("/v1/webhooks/stripe", content=body, headers=headers)
        assert r.status_code == 400, r.text
    assert db[c.PURCHASES].find_one({"_id": purchase["id"]})["status"] == "pending"
    assert db[c.LEADS].find_one({"_id": lead_id})["status"] == "reserved"
    assert db[c.STRIPE_EVENTS].find_one({}) is None
    # A fresh signature within the window is accepted.
    fresh = _header(payload, settings.stripe_webhook_secret, int(time.time()) - 200)
    r = client.post("/v1/webhooks/stripe", content=payload,
                    headers={"Stripe-Signature": fresh, "Content-Type": "application/json"})
    assert r.status_code == 200 and r.json()["result"] == "completed"


def _header(payload: str, secret: str, timestamp: int) -> str:
    import hashlib
    import hmac

    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def test_failed_payment_keeps_the_reservation(client, world, db, stripe_admin,
                                              market_webhook_receiver):
    lead_id, rid, purchase = _buy(client, world, db)
    pi_id = purchase["payment_intent_id"]
    stripe_admin.post(f"/payment_intents/{pi_id}/fail").raise_for_status()
    [event] = _events_for(market_webhook_receiver, pi_id, {"payment_intent.payment_failed"}, 1)
    assert _forward(client, [event])[0].status_code == 200
    failed = db[c.PURCHASES].find_one({"_id": purchase["id"]})
    assert failed["status"] == "failed" and failed["failure_message"]
    reservation = db[c.RESERVATIONS].find_one({"_id": rid})
    assert reservation["status"] == "active" and reservation["pending_purchase_id"] is None
    assert db[c.LEADS].find_one({"_id": lead_id})["status"] == "reserved"
    retry = client.post("/v1/marketplace/purchases", json={"reservation_id": rid},
                        headers=world.admin_b.headers)
    assert retry.status_code == 201 and retry.json()["id"] != purchase["id"]
    # The buyer's list describes the lead as its listing does (not yet bought: no title
    # or company) and says in words that nothing was charged; the processor's own
    # message stays a detail. The seller's list names its lead.
    rows = client.get("/v1/marketplace/purchases", headers=world.admin_b.headers).json()
    row = next(p for p in rows["items"] if p["id"] == purchase["id"])
    lead = db[c.LEADS].find_one({"_id": lead_id})
    assert (row["lead_title"], row["lead_company"]) == (None, None)
    assert row["lead_summary"] == "SaaS · 51-200 staff · US"
    sellers = client.get("/v1/marketplace/purchases", headers=world.admin_a.headers).json()
    seller_row = next(p for p in sellers["items"] if p["id"] == purchase["id"])
    assert (seller_row["lead_title"], seller_row["lead_company"]) == (lead["title"],
                                                                      lead["company"])
    assert seller_row["buyer_name"] == db[c.PARTNERS].find_one({"_id": world.partner_b})["name"]
    assert row["seller_name"] == db[c.PARTNERS].find_one({"_id": world.partner_a})["name"]
    assert row["money_outcome"].startswith("The card payment did not go through: nothing "
                                           "was charged")
    assert row["failure_message"] not in row["money_outcome"]


def test_success_for_an_undeliverable_lead_is_refunded(client, world, db, settings,
                                                       stripe_admin, market_webhook_receiver):
    lead_id, rid, purchase = _buy(client, world, db)
    # The reservation lapses (past the pending grace), and someone else reserves.
    report = expire_reservations(db, settings, utcnow() + timedelta(days=8))
    assert report.expired == 1
    other = make_account(db, settings, Role.ADMIN, world.operator)
    assert reserve(client, other, lead_id).status_code == 201
    pi_id = purchase["payment_intent_id"]
    stripe_admin.post(f"/payment_intents/{pi_id}/succeed").raise_for_status()
    [event] = _events_for(market_webhook_receiver, pi_id, {"payment_intent.succeeded"}, 1)
    assert _forward(client, [event])[0].json()["result"] == "refunded"
    refunded = db[c.PURCHASES].find_one({"_id": purchase["id"]})
    assert refunded["status"] == "refunded" and refunded["refund_id"].startswith("re_")
    refunds = stripe.StripeClient(settings.stripe_secret_key,
                                  base_addresses={"api": settings.stripe_api_base}
                                  ).v1.refunds.list(params={"payment_intent": pi_id})
    assert [r.id for r in refunds.data] == [refunded["refund_id"]]
    lead = db[c.LEADS].find_one({"_id": lead_id})
    assert lead["status"] == "reserved" and lead["reservation"]["buyer_partner_id"] == \
        world.operator
    rows = client.get("/v1/marketplace/purchases", headers=world.admin_b.headers).json()
    row = next(p for p in rows["items"] if p["id"] == purchase["id"])
    assert row["lead_title"] is None  # never delivered to this buyer
    assert row["money_outcome"] == (
        "Refunded $120.01 in full: the payment arrived after the lead was no longer "
        "available, so the card was not left charged.")


def test_purchase_needs_an_active_reservation(client, world, db):
    lead_id = listed_lead(db, world.partner_a)
    rid = reserve(client, world.admin_b, lead_id).json()["id"]
    client.delete(f"/v1/marketplace/reservations/{rid}", headers=world.admin_b.headers)
    r = client.post("/v1/marketplace/purchases", json={"reservation_id": rid},
                    headers=world.admin_b.headers)
    assert r.status_code == 409
    assert client.post("/v1/marketplace/purchases", json={"reservation_id": "nope"},
                       headers=world.admin_b.headers).status_code == 404


def test_destination_charge_for_a_connected_seller(client, world, db, settings):
    db[c.PARTNERS].update_one({"_id": world.partner_a},
                              {"$set": {"stripe_account_id": "acct_seller123"}})
    _, _, purchase = _buy(client, world, db, price=5)
    pi = stripe.StripeClient(settings.stripe_secret_key,
                             base_addresses={"api": settings.stripe_api_base}
                             ).v1.payment_intents.retrieve(purchase["payment_intent_id"])
    assert pi.transfer_data.destination == "acct_seller123"
    assert pi.application_fee_amount == 1 == purchase["commission_cents"]
    assert pi.amount == 6


def test_concurrent_redeliveries_complete_once(client, world, db, stripe_admin,
                                               market_webhook_receiver, mailbox):
    from concurrent.futures import ThreadPoolExecutor

    lead_id, _, purchase = _buy(client, world, db)
    pi_id = purchase["payment_intent_id"]
    stripe_admin.post(f"/payment_intents/{pi_id}/succeed").raise_for_status()
    [event] = _events_for(market_webhook_receiver, pi_id, {"payment_intent.succeeded"}, 1)
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda _: _forward(client, [event])[0], range(10)))
    assert all(a.status_code == 200 for a in answers)
    assert [a.json()["result"] for a in answers].count("completed") == 1
    assert db[c.LEADS].find_one({"_id": lead_id})["purchase_id"] == purchase["id"]
    assert len(_messages(mailbox, world.admin_a.email)) == 1
    assert len(_messages(mailbox, world.admin_b.email)) == 1


def test_a_redelivery_finishes_a_completion_that_died_half_way(
        client, world, db, settings, stripe_admin, market_webhook_receiver):
    """The handler died after marking the purchase completed and before converting
    the reservation (the API SIGKILLed, or the database restarted; found by the fault
    soak): Stripe delivers the event again, and that delivery converts the
    reservation and sends the buyer's confirmation instead of stopping at "already
    completed"."""
    lead_id, rid, purchase = _buy(client, world, db)
    pi_id = purchase["payment_intent_id"]
    stripe_admin.post(f"/payment_intents/{pi_id}/succeed").raise_for_status()
    [event] = _events_for(market_webhook_receiver, pi_id, {"payment_intent.succeeded"}, 1)
    assert _forward(client, [event])[0].json()["result"] == "completed"
    # What the dead handler would have left: the reservation still active, no e-mail.
    db[c.RESERVATIONS].update_one({"_id": rid}, {"$set": {"status": "active"},
                                                 "$unset": {"purchase_id": 1}})
    confirmation = f"purchase-confirmed:{purchase['id']}"
    db[c.EMAILS].delete_one({"_id": confirmation})

    intent = json.loads(event.body)["data"]["object"]
    assert fulfilment.payment_succeeded(db, settings, intent) == "already-completed"
    reservation = db[c.RESERVATIONS].find_one({"_id": rid})
    assert reservation["status"] == "converted" and reservation["purchase_id"] == purchase["id"]
    assert db[c.EMAILS].find_one({"_id": confirmation}) is not None
    assert db[c.LEADS].find_one({"_id": lead_id})["buyer_partner_id"] == world.partner_b
