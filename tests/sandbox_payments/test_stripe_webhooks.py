"""Events and webhook delivery: signatures, filters and the misbehaviour switches."""

from __future__ import annotations

import json
import time

import httpx
import pytest
import stripe

from .conftest import WEBHOOK_SECRET, WebhookReceiver


def _types(received: list) -> list[str]:
    return [json.loads(r.body)["type"] for r in received]


def _pay(client: stripe.StripeClient, amount: int = 1000) -> stripe.PaymentIntent:
    return client.v1.payment_intents.create(
        params={
            "amount": amount,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )


def test_events_are_delivered_signed(
    stripe_client: stripe.StripeClient, webhooks: WebhookReceiver
) -> None:
    pi = _pay(stripe_client)
    received = webhooks.wait_for(3)
    assert _types(received) == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
    ]

    last = received[-1]
    header = last.headers["Stripe-Signature"]
    assert header.startswith("t=") and ",v1=" in header
    event = stripe.Webhook.construct_event(last.body, header, WEBHOOK_SECRET)
    assert event.type == "payment_intent.succeeded"
    assert event.id.startswith("evt_")
    assert event.livemode is False
    assert event.api_version
    assert event.data.object.id == pi.id
    assert event.data.object.status == "succeeded"

    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(last.body, header, "whsec_wrong")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            last.body.replace(b"succeeded", b"canceled"), header, WEBHOOK_SECRET
        )


def test_events_listing_and_delivery_success(
    stripe_client: stripe.StripeClient,
    stripe_admin: httpx.Client,
    webhook_receiver: WebhookReceiver,
) -> None:
    # No webhook URL yet: events exist but are not delivered.
    pi = _pay(stripe_client)
    events = stripe_client.v1.events.list(params={"type": "payment_intent.succeeded"})
    assert [e.data.object.id for e in events.data] == [pi.id]
    undelivered = stripe_client.v1.events.list(params={"delivery_success": False})
    assert len(undelivered.data) == 3
    wildcard = stripe_client.v1.events.list(params={"type": "payment_intent.*"})
    assert {e.type for e in wildcard.data} == {"payment_intent.created", "payment_intent.succeeded"}
    assert stripe_client.v1.events.retrieve(events.data[0].id).type == "payment_intent.succeeded"

    # Point webhooks at the receiver and redeliver the missed one.
    webhook_receiver.clear()
    stripe_admin.put("/config", json={"webhook_url": webhook_receiver.url}).raise_for_status()
    assert stripe_admin.post(f"/events/{events.data[0].id}/redeliver").status_code == 200
    webhook_receiver.wait_for(1)
    _wait(lambda: len(stripe_client.v1.events.list(params={"delivery_success": True}).data) == 1)
    assert len(stripe_client.v1.events.list(params={"delivery_success": False}).data) == 2


def _wait(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.05)


def test_failed_delivery_is_recorded_and_retried(
    stripe_client: stripe.StripeClient, stripe_admin: httpx.Client, webhooks: WebhookReceiver
) -> None:
    webhooks.status = 500
    customer = stripe_client.v1.customers.create(params={"email": "x@example.com"})
    webhooks.wait_for(2)  # first attempt + one retry (retry_delays_ms=[200])
    _wait(lambda: len(stripe_admin.get("/deliveries").json()["data"]) == 2)
    rows = stripe_admin.get("/deliveries").json()["data"]
    assert [r["attempt"] for r in rows] == [1, 2]
    assert all(r["ok"] is False and r["status_code"] == 500 for r in rows)
    failed = stripe_client.v1.events.list(params={"delivery_success": False})
    assert [e.data.object.id for e in failed.data] == [customer.id]


def test_deliver_twice(
    stripe_client: stripe.StripeClient, stripe_admin: httpx.Client, webhooks: WebhookReceiver
) -> None:
    stripe_admin.put("/config", json={"deliver_twice": True}).raise_for_status()
    stripe_client.v1.customers.create(params={"email": "twice@example.com"})
    received = webhooks.wait_for(2)
    time.sleep(0.3)
    assert len(webhooks.requests) == 2
    ids = [json.loads(r.body)["id"] for r in received]
    assert ids[0] == ids[1]
    for r in received:
        stripe.Webhook.construct_event(r.body, r.headers["Stripe-Signature"], WEBHOOK_SECRET)


def test_out_of_order_holds_then_reverses(
    stripe_client: stripe.StripeClient, stripe_admin: httpx.Client, webhooks: WebhookReceiver
) -> None:
    stripe_admin.put("/config", json={"out_of_order": True}).raise_for_status()
    pi = _pay(stripe_client)
    time.sleep(0.3)
    assert webhooks.requests == []
    assert len(stripe_admin.get("/config").json()["held_events"]) == 3
    assert stripe_admin.post("/flush").json() == {"flushed": 3}
    received = webhooks.wait_for(3)
    assert _types(received) == [
        "payment_intent.succeeded",
        "charge.succeeded",
        "payment_intent.created",
    ]
    assert json.loads(received[0].body)["data"]["object"]["id"] == pi.id


def test_out_of_order_batch_releases_automatically(
    stripe_client: stripe.StripeClient, stripe_admin: httpx.Client, webhooks: WebhookReceiver
) -> None:
    stripe_admin.put(
        "/config", json={"out_of_order": True, "out_of_order_batch": 3}
    ).raise_for_status()
    _pay(stripe_client)
    assert _types(webhooks.wait_for(3))[0] == "payment_intent.succeeded"


def test_delay_ms_delivers_late(
    stripe_client: stripe.StripeClient, stripe_admin: httpx.Client, webhooks: WebhookReceiver
) -> None:
    stripe_admin.put("/config", json={"delay_ms": 800}).raise_for_status()
    started = time.time()
    stripe_client.v1.customers.create(params={"email": "late@example.com"})
    assert time.time() - started < 0.5  # the API call itself is not delayed
    assert webhooks.requests == []
    received = webhooks.wait_for(1)
    assert received[0].at - started >= 0.75
    # Signed at send time, so the default 300 s tolerance still accepts it.
    stripe.Webhook.construct_event(
        received[0].body, received[0].headers["Stripe-Signature"], WEBHOOK_SECRET
    )


def test_config_rejects_bad_values(stripe_admin: httpx.Client) -> None:
    assert stripe_admin.put("/config", json={"delay_ms": "soon"}).status_code == 400
    assert stripe_admin.put("/config", json={"nope": 1}).status_code == 400
