"""Stripe's test PaymentMethods and what confirming with them does.

``pm_card_visa`` and friends succeed; the ``pm_card_chargeDeclined*`` family
declines with Stripe's codes. Any other ``pm_...`` id is treated as a working card
so app-created test methods keep working.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    """What the card network says about a charge attempt."""

    ok: bool
    brand: str = "visa"
    last4: str = "4242"
    decline_code: str | None = None
    code: str | None = None
    message: str | None = None


_DECLINES: dict[str, Outcome] = {
    "pm_card_chargeDeclined": Outcome(
        False,
        last4="0002",
        decline_code="generic_decline",
        code="card_declined",
        message="Your card was declined.",
    ),
    "pm_card_visa_chargeDeclined": Outcome(
        False,
        last4="0002",
        decline_code="generic_decline",
        code="card_declined",
        message="Your card was declined.",
    ),
    "pm_card_chargeDeclinedInsufficientFunds": Outcome(
        False,
        last4="9995",
        decline_code="insufficient_funds",
        code="card_declined",
        message="Your card has insufficient funds.",
    ),
    "pm_card_chargeDeclinedFraudulent": Outcome(
        False,
        last4="0019",
        decline_code="fraudulent",
        code="card_declined",
        message="Your card was declined.",
    ),
    "pm_card_chargeDeclinedExpiredCard": Outcome(
        False,
        last4="0069",
        decline_code="expired_card",
        code="expired_card",
        message="Your card has expired.",
    ),
    "pm_card_chargeDeclinedIncorrectCvc": Outcome(
        False,
        last4="0127",
        decline_code="incorrect_cvc",
        code="incorrect_cvc",
        message="Your card's security code is incorrect.",
    ),
    "pm_card_chargeDeclinedProcessingError": Outcome(
        False,
        last4="0119",
        decline_code="processing_error",
        code="processing_error",
        message="An error occurred while processing your card. Try again in a little bit.",
    ),
}

_BRANDS: dict[str, Outcome] = {
    "pm_card_visa": Outcome(True, "visa", "4242"),
    "pm_card_visa_debit": Outcome(True, "visa", "5556"),
    "pm_card_mastercard": Outcome(True, "mastercard", "4444"),
    "pm_card_amex": Outcome(True, "amex", "8431"),
}


# Stripe's documented test card numbers → the test PaymentMethod that behaves the same,
# for card details typed into the browser (``payment_method_data[card][number]``).
CARD_NUMBERS: dict[str, str] = {
    "4242424242424242": "pm_card_visa",
    "4000056655665556": "pm_card_visa_debit",
    "5555555555554444": "pm_card_mastercard",
    "378282246310005": "pm_card_amex",
    "4000000000000002": "pm_card_chargeDeclined",
    "4000000000009995": "pm_card_chargeDeclinedInsufficientFunds",
    "4100000000000019": "pm_card_chargeDeclinedFraudulent",
    "4000000000000069": "pm_card_chargeDeclinedExpiredCard",
    "4000000000000127": "pm_card_chargeDeclinedIncorrectCvc",
    "4000000000000119": "pm_card_chargeDeclinedProcessingError",
}


def outcome_for(payment_method: str) -> Outcome:
    """Result of charging ``payment_method``."""
    return _DECLINES.get(payment_method) or _BRANDS.get(payment_method) or Outcome(True)


def payment_method_object(payment_method: str) -> dict[str, object]:
    """The small PaymentMethod shape embedded in ``last_payment_error``."""
    result = outcome_for(payment_method)
    return {
        "id": payment_method,
        "object": "payment_method",
        "type": "card",
        "card": {"brand": result.brand, "last4": result.last4},
        "livemode": False,
    }
