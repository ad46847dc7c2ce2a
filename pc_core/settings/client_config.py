"""What the web client needs to know before anyone signs in (``GET /v1/client-config``).

Only public values: the environment, the Stripe *publishable* key, how to take a
card, and where the Dagster UI is (``dagster_url``, for links to sync runs; empty
when not configured). Against real Stripe the client loads Stripe.js and its Payment Element
(``stripe_js``); against the sandbox it confirms the PaymentIntent the way Stripe.js
does, by a form POST to ``{stripe_api_base}/v1/payment_intents/{id}/confirm`` with the
publishable key and the client secret (``sandbox``).
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pc_core.settings import Settings

REAL_STRIPE_HOST = "api.stripe.com"
StripeMode = Literal["stripe_js", "sandbox"]


def stripe_mode(settings: Settings) -> StripeMode:
    """``stripe_js`` when the API talks to Stripe itself, ``sandbox`` otherwise."""
    host = (urlsplit(settings.stripe_api_base).hostname or "").lower()
    return "stripe_js" if host == REAL_STRIPE_HOST else "sandbox"


def client_config(settings: Settings) -> dict[str, Any]:
    return {
        "env": "production" if settings.is_production else "development",
        "stripe_publishable_key": settings.stripe_publishable_key,
        "stripe_mode": stripe_mode(settings),
        "stripe_api_base": settings.stripe_api_base.rstrip("/"),
        "dagster_url": settings.dagster_url.rstrip("/"),
    }
