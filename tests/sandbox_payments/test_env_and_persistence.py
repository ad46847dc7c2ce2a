"""Environment settings and ``PC_SANDBOX_DATA_DIR`` persistence across a restart."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import stripe

from .conftest import WebhookReceiver, run_sandbox


def test_env_settings_and_restart_keeps_state(
    tmp_path: Path, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.clear()
    env = {
        "PC_SANDBOX_DATA_DIR": str(tmp_path),
        "PC_STRIPE_SECRET_KEY": "sk_test_custom",
        "PC_STRIPE_WEBHOOK_SECRET": "whsec_custom",
        "PC_MAILGUN_API_KEY": "key-custom",
        "PC_SANDBOX_STRIPE_WEBHOOK_URL": webhook_receiver.url,
    }
    with run_sandbox(env) as url:
        client = stripe.StripeClient("sk_test_custom", base_addresses={"api": url + "/stripe"})
        pi = client.v1.payment_intents.create(
            params={
                "amount": 800,
                "currency": "usd",
                "payment_method": "pm_card_visa",
                "confirm": True,
            },
            options={"idempotency_key": "persist-1"},
        )
        received = webhook_receiver.wait_for(3)
        last = received[-1]
        event = stripe.Webhook.construct_event(
            last.body, last.headers["Stripe-Signature"], "whsec_custom"
        )
        assert event.type == "payment_intent.succeeded"
        sent = httpx.post(
            f"{url}/mailgun/v3/mg.test/messages",
            auth=("api", "key-custom"),
            data={"from": "a@mg.test", "to": "b@example.com", "subject": "kept", "text": "t"},
        )
        assert sent.status_code == 200
        assert (
            httpx.get(
                url + "/stripe/v1/payment_intents", auth=("sk_test_pc_sandbox", "")
            ).status_code
            == 401
        )
        deadline = time.monotonic() + 10
        while len(httpx.get(url + "/stripe/_sandbox/deliveries").json()["data"]) < 3:
            assert time.monotonic() < deadline, "deliveries were not recorded"
            time.sleep(0.05)

    with run_sandbox(env) as url:
        client = stripe.StripeClient("sk_test_custom", base_addresses={"api": url + "/stripe"})
        assert client.v1.payment_intents.retrieve(pi.id).status == "succeeded"
        replay = client.v1.payment_intents.create(
            params={
                "amount": 800,
                "currency": "usd",
                "payment_method": "pm_card_visa",
                "confirm": True,
            },
            options={"idempotency_key": "persist-1"},
        )
        assert replay.id == pi.id
        assert len(client.v1.events.list(params={"delivery_success": True}).data) == 3
        messages = httpx.get(url + "/mailgun/_sandbox/messages").json()["items"]
        assert [m["subject"] for m in messages] == ["kept"]
    assert (tmp_path / "stripe_sandbox.pickle").exists()
    assert json.loads(last.body)["livemode"] is False
