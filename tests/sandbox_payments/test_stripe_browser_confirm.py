"""The Stripe sandbox takes a PaymentIntent confirmation from a browser as Stripe.js
sends it: form body with the publishable key, the client secret and the typed card;
test cards behave as Stripe documents; CORS lets the app's origin read the answer."""

from __future__ import annotations

import json
import time

import httpx
import pytest
import stripe

from tests.sandbox_payments.conftest import run_sandbox

PK = "pk_test_pc_sandbox"
APP_ORIGIN = "http://127.0.0.1:8000"


def _card(number: str, exp_month="12", exp_year="34", cvc="123") -> dict[str, str]:
    return {"payment_method_data[type]": "card",
            "payment_method_data[card][number]": number,
            "payment_method_data[card][exp_month]": exp_month,
            "payment_method_data[card][exp_year]": exp_year,
            "payment_method_data[card][cvc]": cvc,
            "expected_payment_method_type": "card", "use_stripe_sdk": "true"}


@pytest.fixture
def intent(stripe_client: stripe.StripeClient):
    return stripe_client.v1.payment_intents.create(params={
        "amount": 12_001, "currency": "usd", "metadata": {"purchase_id": "pur_7"},
        "transfer_data": {"destination": "acct_seller"}, "application_fee_amount": 2_000})


def _confirm(url: str, pi, fields: dict[str, str], **extra) -> httpx.Response:
    body = {"key": PK, "client_secret": pi.client_secret, **fields, **extra}
    return httpx.post(f"{url}/stripe/v1/payment_intents/{pi.id}/confirm", data=body,
                      headers={"Origin": APP_ORIGIN})


def test_good_card_succeeds_and_the_browser_sees_no_secrets(payments_sandbox_url, intent,
                                                            stripe_client, webhooks):
    r = _confirm(payments_sandbox_url, intent, _card("4242 4242 4242 4242"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "succeeded" and body["id"] == intent.id
    assert r.headers["access-control-allow-origin"] == "*"
    for hidden in ("metadata", "transfer_data", "application_fee_amount", "customer"):
        assert hidden not in body
    server_side = stripe_client.v1.payment_intents.retrieve(intent.id)
    assert server_side.status == "succeeded" and server_side.amount_received == 12_001
    # The server hears about it the usual way: a signed webhook.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        types = [json.loads(r.body)["type"] for r in list(webhooks.requests)]
        if "payment_intent.succeeded" in types:
            break
        time.sleep(0.05)
    assert "payment_intent.succeeded" in types


def test_declined_card_answers_like_stripe(payments_sandbox_url, intent, stripe_client):
    r = _confirm(payments_sandbox_url, intent, _card("4000000000000002"))
    assert r.status_code == 402
    error = r.json()["error"]
    assert error["type"] == "card_error" and error["code"] == "card_declined"
    assert error["decline_code"] == "generic_decline"
    assert error["message"] == "Your card was declined."
    assert error["payment_intent"]["status"] == "requires_payment_method"
    assert "metadata" not in error["payment_intent"]
    assert error["payment_method"]["card"]["last4"] == "0002"
    assert r.headers["access-control-allow-origin"] == "*"
    # The buyer may try again with another card.
    again = _confirm(payments_sandbox_url, intent, _card("4242424242424242"))
    assert again.json()["status"] == "succeeded"
    assert stripe_client.v1.payment_intents.retrieve(intent.id).status == "succeeded"


@pytest.mark.parametrize(("fields", "code"), [
    (_card("4242424242424241"), "incorrect_number"),
    (_card("4242"), "incorrect_number"),
    (_card("4242424242424242", exp_month="13"), "invalid_expiry_month"),
    (_card("4242424242424242", exp_year="2001"), "invalid_expiry_year"),
    (_card("4242424242424242", cvc="1"), "invalid_cvc"),
    (_card("4000000000009995"), "card_declined"),
])
def test_bad_card_details_are_card_errors(payments_sandbox_url, intent, fields, code):
    r = _confirm(payments_sandbox_url, intent, fields)
    assert r.status_code == 402
    assert r.json()["error"]["code"] == code


def test_publishable_key_needs_the_client_secret(payments_sandbox_url, intent):
    url = f"{payments_sandbox_url}/stripe/v1/payment_intents/{intent.id}"
    wrong = httpx.post(url + "/confirm", data={"key": PK, "client_secret": "pi_x_secret_y",
                                               **_card("4242424242424242")})
    assert wrong.status_code == 400 and wrong.json()["error"]["param"] == "client_secret"
    missing = httpx.post(url + "/confirm", data={"key": PK, **_card("4242424242424242")})
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "parameter_missing"
    # Reading the intent back, as Stripe.js does after a confirmation.
    seen = httpx.get(url, params={"key": PK, "client_secret": intent.client_secret})
    assert seen.status_code == 200 and seen.json()["status"] == "requires_payment_method"
    assert "metadata" not in seen.json()
    assert httpx.get(url, params={"key": PK}).status_code == 400


def test_publishable_key_cannot_do_server_calls(payments_sandbox_url, intent):
    base = f"{payments_sandbox_url}/stripe/v1"
    for r in (
        httpx.post(f"{base}/payment_intents", data={"key": PK, "amount": "100",
                                                    "currency": "usd"}),
        httpx.post(f"{base}/payment_intents/{intent.id}", data={"key": PK, "amount": "1"}),
        httpx.get(f"{base}/customers", headers={"Authorization": f"Bearer {PK}"}),
        httpx.post(f"{base}/refunds", data={"key": PK, "payment_intent": intent.id}),
    ):
        assert r.status_code == 401
        assert "publishable API key" in r.json()["error"]["message"]
    bad_key = httpx.post(f"{base}/payment_intents/{intent.id}/confirm",
                         data={"key": "pk_test_other", "client_secret": intent.client_secret})
    assert bad_key.status_code == 401


def test_preflight_and_configured_origins():
    with run_sandbox({"PC_SANDBOX_STRIPE_CORS_ORIGINS": APP_ORIGIN}) as url:
        path = f"{url}/stripe/v1/payment_intents/pi_123/confirm"
        ok = httpx.options(path, headers={"Origin": APP_ORIGIN,
                                          "Access-Control-Request-Method": "POST",
                                          "Access-Control-Request-Headers": "authorization"})
        assert ok.status_code == 204
        assert ok.headers["access-control-allow-origin"] == APP_ORIGIN
        assert "POST" in ok.headers["access-control-allow-methods"]
        foreign = httpx.options(path, headers={"Origin": "http://evil.example",
                                               "Access-Control-Request-Method": "POST"})
        assert foreign.status_code == 403
        assert "access-control-allow-origin" not in foreign.headers
        answer = httpx.post(path, data={"key": PK}, headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in answer.headers
