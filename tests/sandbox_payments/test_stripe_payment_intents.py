"""PaymentIntents through the official stripe SDK."""

from __future__ import annotations

import re

import httpx
import pytest
import stripe


def test_create_and_confirm_succeeds(stripe_client: stripe.StripeClient) -> None:
    pi = stripe_client.v1.payment_intents.create(
        params={
            "amount": 4900,
            "currency": "usd",
            "metadata": {"purchase_id": "pur_1", "lead_id": "lead_9"},
            "transfer_data": {"destination": "acct_seller"},
            "application_fee_amount": 490,
            "automatic_payment_methods": {"enabled": True},
        }
    )
    assert isinstance(pi, stripe.PaymentIntent)
    assert pi.object == "payment_intent"
    assert pi.status == "requires_payment_method"
    assert re.fullmatch(rf"{pi.id}_secret_\w+", pi.client_secret)
    assert pi.metadata.to_dict() == {"purchase_id": "pur_1", "lead_id": "lead_9"}
    assert pi.transfer_data.destination == "acct_seller"
    assert pi.application_fee_amount == 490

    confirmed = stripe_client.v1.payment_intents.confirm(
        pi.id, params={"payment_method": "pm_card_visa", "expand": ["latest_charge"]}
    )
    assert confirmed.status == "succeeded"
    assert confirmed.amount_received == 4900
    assert isinstance(confirmed.latest_charge, stripe.Charge)
    assert confirmed.latest_charge.paid is True
    assert stripe_client.v1.payment_intents.retrieve(pi.id).status == "succeeded"


def test_create_with_confirm_true(stripe_client: stripe.StripeClient) -> None:
    pi = stripe_client.v1.payment_intents.create(
        params={"amount": 100, "currency": "eur", "payment_method": "pm_card_visa", "confirm": True}
    )
    assert pi.status == "succeeded"
    assert pi.currency == "eur"


def test_declined_card(stripe_client: stripe.StripeClient) -> None:
    pi = stripe_client.v1.payment_intents.create(params={"amount": 2500, "currency": "usd"})
    with pytest.raises(stripe.CardError) as info:
        stripe_client.v1.payment_intents.confirm(
            pi.id, params={"payment_method": "pm_card_chargeDeclined"}
        )
    assert info.value.http_status == 402
    assert info.value.code == "card_declined"
    assert info.value.error.payment_intent.status == "requires_payment_method"

    after = stripe_client.v1.payment_intents.retrieve(pi.id)
    assert after.status == "requires_payment_method"
    assert after.last_payment_error.code == "card_declined"
    assert after.last_payment_error.decline_code == "generic_decline"

    # The customer tries again with a good card.
    retried = stripe_client.v1.payment_intents.confirm(
        pi.id, params={"payment_method": "pm_card_visa"}
    )
    assert retried.status == "succeeded"
    assert retried.last_payment_error is None


def test_confirm_without_payment_method_is_invalid(stripe_client: stripe.StripeClient) -> None:
    pi = stripe_client.v1.payment_intents.create(params={"amount": 100, "currency": "usd"})
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.payment_intents.confirm(pi.id)
    assert info.value.code == "payment_intent_unexpected_state"


def test_cancel_and_list(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create(params={"email": "buyer@example.com"})
    first = stripe_client.v1.payment_intents.create(
        params={"amount": 100, "currency": "usd", "customer": customer.id}
    )
    second = stripe_client.v1.payment_intents.create(
        params={"amount": 200, "currency": "usd", "customer": customer.id}
    )
    canceled = stripe_client.v1.payment_intents.cancel(first.id)
    assert canceled.status == "canceled"
    assert canceled.canceled_at is not None
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.payment_intents.confirm(
            first.id, params={"payment_method": "pm_card_visa"}
        )

    listed = stripe_client.v1.payment_intents.list(params={"customer": customer.id})
    assert [pi.id for pi in listed.data] == [second.id, first.id]  # newest first
    page = stripe_client.v1.payment_intents.list(params={"customer": customer.id, "limit": 1})
    assert page.has_more is True
    assert [pi.id for pi in page.auto_paging_iter()] == [second.id, first.id]


def test_missing_amount_and_unknown_id(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.payment_intents.create(params={"currency": "usd"})
    assert info.value.param == "amount"
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.payment_intents.retrieve("pi_does_not_exist")
    assert info.value.http_status == 404
    assert info.value.code == "resource_missing"


def test_idempotency_replay_and_conflict(stripe_client: stripe.StripeClient) -> None:
    params = {"amount": 1234, "currency": "usd", "metadata": {"purchase_id": "pur_idem"}}
    first = stripe_client.v1.payment_intents.create(
        params=params, options={"idempotency_key": "purchase-pur_idem"}
    )
    again = stripe_client.v1.payment_intents.create(
        params=params, options={"idempotency_key": "purchase-pur_idem"}
    )
    assert again.id == first.id
    assert again.last_response.headers.get("Idempotent-Replayed") == "true"
    assert len(stripe_client.v1.payment_intents.list().data) == 1

    with pytest.raises(stripe.IdempotencyError) as info:
        stripe_client.v1.payment_intents.create(
            params={**params, "amount": 999}, options={"idempotency_key": "purchase-pur_idem"}
        )
    assert info.value.http_status == 400


def test_idempotency_replays_card_errors(stripe_client: stripe.StripeClient) -> None:
    params = {
        "amount": 500,
        "currency": "usd",
        "payment_method": "pm_card_chargeDeclined",
        "confirm": True,
    }
    with pytest.raises(stripe.CardError) as first:
        stripe_client.v1.payment_intents.create(
            params=params, options={"idempotency_key": "k-decl"}
        )
    with pytest.raises(stripe.CardError) as second:
        stripe_client.v1.payment_intents.create(
            params=params, options={"idempotency_key": "k-decl"}
        )
    assert first.value.error.payment_intent.id == second.value.error.payment_intent.id


def test_wrong_api_key_is_401(payments_sandbox_url: str, stripe_admin: httpx.Client) -> None:
    client = stripe.StripeClient(
        "sk_test_wrong", base_addresses={"api": payments_sandbox_url + "/stripe"}
    )
    with pytest.raises(stripe.AuthenticationError) as info:
        client.v1.payment_intents.create(params={"amount": 100, "currency": "usd"})
    assert info.value.http_status == 401

    raw = httpx.get(payments_sandbox_url + "/stripe/v1/payment_intents")
    assert raw.status_code == 401
    assert raw.json()["error"]["type"] == "invalid_request_error"
    assert raw.json()["error"]["message"]

    basic = httpx.get(
        payments_sandbox_url + "/stripe/v1/payment_intents", auth=("sk_test_pc_sandbox", "")
    )
    assert basic.status_code == 200


def test_admin_succeed_and_fail(
    stripe_client: stripe.StripeClient, stripe_admin: httpx.Client
) -> None:
    good = stripe_client.v1.payment_intents.create(params={"amount": 700, "currency": "usd"})
    bad = stripe_client.v1.payment_intents.create(params={"amount": 700, "currency": "usd"})
    assert stripe_admin.post(f"/payment_intents/{good.id}/succeed").json()["status"] == "succeeded"
    failed = stripe_admin.post(f"/payment_intents/{bad.id}/fail").json()
    assert failed["status"] == "requires_payment_method"
    assert failed["last_payment_error"]["code"] == "card_declined"
    assert stripe_admin.post(f"/payment_intents/{good.id}/fail").status_code == 409


def test_concurrent_retries_with_one_key_create_one_intent(
    stripe_client: stripe.StripeClient,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def create(_: int) -> str:
        return stripe_client.v1.payment_intents.create(
            params={"amount": 300, "currency": "usd"}, options={"idempotency_key": "race-1"}
        ).id

    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(create, range(8)))
    assert len(ids) == 1
    assert len(stripe_client.v1.payment_intents.list().data) == 1
