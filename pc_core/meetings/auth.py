"""Authenticating ChiliPiper's webhooks.

ChiliPiper documents no signing, so the operator configures a custom header with a
shared secret (``X-PC-Webhook-Secret``). Senders that can sign may instead send
``X-PC-Signature``: the hex HMAC-SHA256 of the raw body (optionally ``sha256=``
prefixed), keyed with ``chilipiper_signing_secret`` or, if that is empty, the shared
secret. Both comparisons are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac

from pc_core.errors import Unauthorized
from pc_core.settings import Settings

SECRET_HEADER = "X-PC-Webhook-Secret"
SIGNATURE_HEADER = "X-PC-Signature"


def sign(body: bytes, key: str) -> str:
    return hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


def verify(settings: Settings, body: bytes, secret: str | None, signature: str | None) -> None:
    """Raise 401 unless the shared secret or the body's signature is right."""
    expected = settings.chilipiper_secret
    if not expected:
        raise Unauthorized("ChiliPiper webhooks are not configured")
    if secret and hmac.compare_digest(secret.encode(), expected.encode()):
        return
    if signature:
        given = signature.strip().removeprefix("sha256=").lower()
        key = settings.chilipiper_signing_secret or expected
        if hmac.compare_digest(given.encode(), sign(body, key).encode()):
            return
    raise Unauthorized("bad or missing webhook secret")
