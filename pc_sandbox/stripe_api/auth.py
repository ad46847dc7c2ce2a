"""Secret-key check: ``Authorization: Bearer sk_...`` or basic auth ``sk_...:``."""

from __future__ import annotations

import base64
import binascii
import hmac

from fastapi import Request

from .errors import StripeError
from .settings import SETTINGS


def _presented_key(request: Request) -> str | None:
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


def _masked(key: str) -> str:
    return key[:8] + "*" * max(len(key) - 12, 4) + key[-4:] if len(key) > 12 else "****"


def check_api_key(request: Request) -> None:
    """Raise Stripe's 401 unless the request carries the sandbox secret key."""
    key = _presented_key(request)
    if key is None:
        raise StripeError(
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth "
            "(e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            status=401,
        )
    if not hmac.compare_digest(key.encode(), SETTINGS.secret_key.encode()):
        raise StripeError(f"Invalid API Key provided: {_masked(key)}", status=401)
