"""Moved to ``pc_core.payments.stripe_client``; this re-export stays until every
caller has moved (the coordinator removes it with the store shims)."""

from pc_core.payments.stripe_client import (  # noqa: F401
    PaymentProviderError,
    client,
    create_payment_intent,
    refund,
)
