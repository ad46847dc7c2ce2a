"""The ``Stripe-Signature`` header, made with the SDK's own helper.

Using ``stripe.WebhookSignature`` guarantees ``stripe.Webhook.construct_event``
accepts what we send: ``t=<unix>,v1=<hmac-sha256("{t}.{body}")>``.
"""

from __future__ import annotations

import time

import stripe


def signature_header(payload: str, secret: str, timestamp: int | None = None) -> str:
    """Sign the exact body that will be POSTed, at send time."""
    return stripe.WebhookSignature.generate_signature_header(
        payload, secret, timestamp=timestamp if timestamp is not None else int(time.time())
    )
