"""Customers, refunds and monthly invoices through the official stripe SDK."""

from __future__ import annotations

import json

import pytest
import stripe

from .conftest import WEBHOOK_SECRET, WebhookReceiver


def test_customer_roundtrip(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create(
        params={"email": "partner@example.com", "name": "Acme", "metadata": {"partner_id": "p1"}}
    )
    assert customer.id.startswith("cus_")
    assert customer.object == "customer"
    fetched = stripe_client.v1.customers.retrieve(customer.id)
    assert fetched.email == "partner@example.com"
    assert fetched.metadata["partner_id"] == "p1"
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.customers.retrieve("cus_missing")


def test_refund_partial_then_rest(
    stripe_client: stripe.StripeClient, webhooks: WebhookReceiver
) -> None:
    pi = stripe_client.v1.payment_intents.create(
        params={
            "amount": 3000,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )
    partial = stripe_client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 1000})
    assert partial.object == "refund"
    assert partial.status == "succeeded"
    assert partial.amount == 1000
    assert partial.payment_intent == pi.id
    assert stripe_client.v1.refunds.retrieve(partial.id).amount == 1000

    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 5000})

    rest = stripe_client.v1.refunds.create(params={"payment_intent": pi.id})
    assert rest.amount == 2000
    charge = stripe_client.v1.charges.retrieve(pi.latest_charge)
    assert charge.refunded is True
    assert charge.amount_refunded == 3000
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.refunds.create(params={"payment_intent": pi.id})
    assert info.value.code == "charge_already_refunded"

    listed = stripe_client.v1.refunds.list(params={"payment_intent": pi.id})
    assert [r.id for r in listed.data] == [rest.id, partial.id]

    received = webhooks.wait_for(7)
    refunded = [r for r in received if json.loads(r.body)["type"] == "charge.refunded"]
    assert len(refunded) == 2
    event = stripe.Webhook.construct_event(
        refunded[-1].body, refunded[-1].headers["Stripe-Signature"], WEBHOOK_SECRET
    )
    assert event.data.object.object == "charge"
    assert event.data.object.refunded is True


def test_refund_needs_a_succeeded_payment(stripe_client: stripe.StripeClient) -> None:
    pi = stripe_client.v1.payment_intents.create(params={"amount": 100, "currency": "usd"})
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.refunds.create(params={"payment_intent": pi.id})


def test_invoice_with_items_finalize_and_pay(
    stripe_client: stripe.StripeClient, webhooks: WebhookReceiver
) -> None:
    customer = stripe_client.v1.customers.create(params={"email": "billing@example.com"})
    pending = stripe_client.v1.invoice_items.create(
        params={"customer": customer.id, "amount": 1500, "currency": "usd", "description": "Lead A"}
    )
    assert pending.object == "invoiceitem"
    assert pending.invoice is None
    invoice = stripe_client.v1.invoices.create(
        params={
            "customer": customer.id,
            "metadata": {"month": "2026-10", "partner_id": "p1"},
            "auto_advance": False,
            "collection_method": "charge_automatically",
            "pending_invoice_items_behavior": "include",
        }
    )
    assert invoice.status == "draft"
    assert invoice.total == 1500
    item = stripe_client.v1.invoice_items.create(
        params={
            "customer": customer.id,
            "amount": 2500,
            "currency": "usd",
            "description": "Lead B",
            "invoice": invoice.id,
            "metadata": {"purchase_id": "pur_b"},
        }
    )
    assert item.invoice == invoice.id

    draft = stripe_client.v1.invoices.retrieve(invoice.id)
    assert draft.subtotal == draft.total == draft.amount_due == 4000
    assert sorted(line.amount for line in draft.lines.data) == [1500, 2500]
    assert draft.metadata["month"] == "2026-10"

    final = stripe_client.v1.invoices.finalize_invoice(invoice.id)
    assert final.status == "open"
    assert final.number
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.invoice_items.create(
            params={"customer": customer.id, "amount": 1, "currency": "usd", "invoice": invoice.id}
        )

    paid = stripe_client.v1.invoices.pay(invoice.id)
    assert paid.status == "paid"
    assert paid.amount_paid == 4000
    assert paid.amount_remaining == 0
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.invoices.pay(invoice.id)

    listed = stripe_client.v1.invoices.list(params={"customer": customer.id, "status": "paid"})
    assert [i.id for i in listed.data] == [invoice.id]

    types = [json.loads(r.body)["type"] for r in webhooks.wait_for(7)]
    assert "invoice.finalized" in types
    assert "invoice.paid" in types
    assert types.index("invoice.finalized") < types.index("invoice.paid")
    paid_events = stripe_client.v1.events.list(params={"type": "invoice.paid"})
    assert paid_events.data[0].data.object.id == invoice.id


def test_invoice_payment_declined(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create(params={"email": "d@example.com"})
    invoice = stripe_client.v1.invoices.create(params={"customer": customer.id})
    stripe_client.v1.invoice_items.create(
        params={"customer": customer.id, "amount": 900, "currency": "usd", "invoice": invoice.id}
    )
    stripe_client.v1.invoices.finalize_invoice(invoice.id)
    with pytest.raises(stripe.CardError):
        stripe_client.v1.invoices.pay(
            invoice.id, params={"payment_method": "pm_card_chargeDeclined"}
        )
    assert stripe_client.v1.invoices.retrieve(invoice.id).status == "open"
    out_of_band = stripe_client.v1.invoices.pay(invoice.id, params={"paid_out_of_band": True})
    assert out_of_band.status == "paid"
