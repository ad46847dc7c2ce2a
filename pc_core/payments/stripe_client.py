"""Stripe through the official SDK, pointed at ``settings.stripe_api_base`` (the
sandbox in development, https://api.stripe.com in production).

Every money-moving call carries an idempotency key derived from our own ids, so a
retry (ours, or the SDK's own ``max_network_retries``) never charges or refunds
twice.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import stripe

from pc_core.errors import DomainError
from pc_core.observability.vendor_calls import MeteredStripeHTTPClient
from pc_core.settings import Settings


class PaymentProviderError(DomainError):
    """Stripe could not be reached or refused the call: 502 to the caller."""

    status_code = 502


@lru_cache(maxsize=4)
def _client(api_key: str, api_base: str) -> stripe.StripeClient:
    return stripe.StripeClient(api_key, base_addresses={"api": api_base},
                               max_network_retries=2, http_client=MeteredStripeHTTPClient())


def client(settings: Settings) -> stripe.StripeClient:
    return _client(settings.stripe_secret_key, settings.stripe_api_base)


def create_payment_intent(settings: Settings, purchase: dict[str, Any],
                          destination: str | None) -> stripe.PaymentIntent:
    """The PaymentIntent for a purchase: the buyer pays price + commission.

    With a seller's connected account it is a destination charge: the platform
    keeps ``application_fee_amount`` = commission, the rest goes to the seller.
    """
    params: dict[str, Any] = {
        "amount": purchase["amount_cents"],
        "currency": purchase["currency"],
        "description": f"Partner Connector lead {purchase['lead_id']}",
        "automatic_payment_methods": {"enabled": True},
        "metadata": {
            "purchase_id": purchase["_id"],
            "reservation_id": purchase["reservation_id"],
            "lead_id": purchase["lead_id"],
            "buyer_partner_id": purchase["buyer_partner_id"],
            "seller_partner_id": purchase["seller_partner_id"],
        },
    }
    if destination:
        params["transfer_data"] = {"destination": destination}
        params["application_fee_amount"] = purchase["commission_cents"]
    try:
        return client(settings).v1.payment_intents.create(
            params=params, options={"idempotency_key": purchase["_id"]}
        )
    except stripe.StripeError as exc:
        raise PaymentProviderError(f"the payment provider refused: {exc.user_message or exc}")


def refund(settings: Settings, payment_intent_id: str, purchase_id: str,
           reason: str, *, destination_charge: bool = False) -> stripe.Refund:
    """Refund a whole PaymentIntent, once per purchase (idempotency key).

    A destination charge's refund also takes the seller's share back
    (``reverse_transfer``) and gives the platform's commission back
    (``refund_application_fee``), both in proportion, as Stripe documents it.
    """
    params: dict[str, Any] = {"payment_intent": payment_intent_id,
                              "reason": "requested_by_customer",
                              "metadata": {"purchase_id": purchase_id, "why": reason}}
    if destination_charge:
        params["reverse_transfer"] = True
        params["refund_application_fee"] = True
    return client(settings).v1.refunds.create(
        params=params, options={"idempotency_key": f"refund-{purchase_id}"},
    )


def create_express_account(settings: Settings, partner_id: str,
                           email: str | None) -> stripe.Account:
    """The seller's Express connected account, once per partner (idempotency key)."""
    params: dict[str, Any] = {"type": "express",
                              "capabilities": {"transfers": {"requested": True},
                                               "card_payments": {"requested": True}},
                              "metadata": {"partner_id": partner_id}}
    if email:
        params["email"] = email
    try:
        return client(settings).v1.accounts.create(
            params=params, options={"idempotency_key": f"connect-account-{partner_id}"})
    except stripe.StripeError as exc:
        raise PaymentProviderError(f"the payment provider refused: {exc.user_message or exc}")


def create_account_link(settings: Settings, account_id: str, return_url: str,
                        refresh_url: str) -> stripe.AccountLink:
    """A single-use onboarding URL (expires within minutes: never stored or logged)."""
    try:
        return client(settings).v1.account_links.create(params={
            "account": account_id, "type": "account_onboarding",
            "return_url": return_url, "refresh_url": refresh_url})
    except stripe.StripeError as exc:
        raise PaymentProviderError(f"the payment provider refused: {exc.user_message or exc}")


def connected_balance(settings: Settings, account_id: str) -> stripe.Balance:
    """The connected account's own balance (``Stripe-Account`` header)."""
    try:
        return client(settings).v1.balance.retrieve(options={"stripe_account": account_id})
    except stripe.StripeError as exc:
        raise PaymentProviderError(f"the payment provider refused: {exc.user_message or exc}")


def connected_payouts(settings: Settings, account_id: str, limit: int = 20) -> list[Any]:
    """The connected account's latest payouts to its bank, newest first."""
    try:
        return list(client(settings).v1.payouts.list(
            params={"limit": limit}, options={"stripe_account": account_id}).data)
    except stripe.StripeError as exc:
        raise PaymentProviderError(f"the payment provider refused: {exc.user_message or exc}")
