"""API keys: the secret key (``Authorization: Bearer sk_...`` or basic auth ``sk_...:``)
for everything, and the publishable key for the few calls Stripe.js makes from a
customer's browser (``key=pk_...`` in the form body, as Stripe.js sends it, or a
Bearer header); which routes accept it is decided in :mod:`routing`."""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Literal
from urllib.parse import parse_qs

from fastapi import Request

from .errors import StripeError
from .settings import SETTINGS

KeyKind = Literal["secret", "publishable"]


def _header_key(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip()).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[0] or None
    return None


async def _form_key(request: Request) -> str | None:
    """``key=pk_...`` from the query string or the form body (Stripe.js's way)."""
    key = request.query_params.get("key")
    if key or request.method != "POST":
        return key
    body = parse_qs((await request.body()).decode("utf-8", "replace"))
    return (body.get("key") or [None])[0]


def _masked(key: str) -> str:
    return key[:8] + "*" * max(len(key) - 12, 4) + key[-4:] if len(key) > 12 else "****"


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


async def authenticate(request: Request) -> KeyKind:
    """Which key the request carries; Stripe's 401 unless it is one of ours."""
    key = _header_key(request) or await _form_key(request)
    if key is None:
        raise StripeError(
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth "
            "(e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            status=401,
        )
    if _same(key, SETTINGS.secret_key):
        return "secret"
    if _same(key, SETTINGS.publishable_key):
        return "publishable"
    raise StripeError(f"Invalid API Key provided: {_masked(key)}", status=401)


def publishable_refused() -> StripeError:
    """A publishable key on a secret-key call, in Stripe's words."""
    return StripeError(
        "This API call cannot be made with a publishable API key. Please use a secret API "
        "key. You can find a list of your API keys at https://dashboard.stripe.com/account/apikeys.",
        status=401,
    )
