"""Authenticating ChiliPiper's webhooks.

ChiliPiper's Custom Webhooks are configured with a URL and nothing else: no custom
header, no documented signature. So the shared secret travels in the URL, as the
query parameter ``token`` (``.../v1/meetings/webhooks/chilipiper?token=<secret>``);
that URL is itself a secret and must not be logged (the access log redacts it).
Senders that can set headers may send it as ``X-PC-Webhook-Secret`` instead, or
sign: ``X-PC-Signature`` is the hex HMAC-SHA256 of the raw body (optionally
``sha256=`` prefixed), keyed with ``chilipiper_signing_secret`` or, if that is
empty, a shared secret.

Rotation: ``chilipiper_secret`` and ``chilipiper_secret_previous`` are both valid,
so the new URL can be pasted into ChiliPiper while the old one still works. Every
comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac

from pc_core.errors import Unauthorized
from pc_core.settings import Settings

SECRET_HEADER = "X-PC-Webhook-Secret"
SIGNATURE_HEADER = "X-PC-Signature"
TOKEN_PARAM = "token"


def sign(body: bytes, key: str) -> str:
    return hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


def shared_secrets(settings: Settings) -> list[str]:
    """The secrets valid now: the current one and, during a rotation, the previous."""
    return [s for s in (settings.chilipiper_secret, settings.chilipiper_secret_previous) if s]


def _matches_any(given: str, secrets: list[str]) -> bool:
    # Compare against every secret (no early exit), so the time taken does not tell
    # which one matched.
    hits = [hmac.compare_digest(given.encode(), s.encode()) for s in secrets]
    return any(hits)


def verify(settings: Settings, body: bytes, secret: str | None, signature: str | None,
           token: str | None = None) -> None:
    """Raise 401 unless the URL token, the header secret or the body's signature is right."""
    secrets = shared_secrets(settings)
    if not secrets:
        raise Unauthorized("ChiliPiper webhooks are not configured")
    for given in (token, secret):
        if given and _matches_any(given, secrets):
            return
    if signature:
        given = signature.strip().removeprefix("sha256=").lower()
        keys = [settings.chilipiper_signing_secret] if settings.chilipiper_signing_secret \
            else secrets
        if _matches_any(given, [sign(body, key) for key in keys]):
            return
    raise Unauthorized("bad or missing webhook secret")
