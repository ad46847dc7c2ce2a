"""OAuth ``state`` values: signed, bound to the browser that started the flow, and
good for one callback only.

A signed state alone proves that *we* issued it, not that the browser bringing it
back is the one that asked: an admin could send the consent link to someone at
another company and have their CRM attached to the admin's partner, and a state
seen once (in a log, a proxy, the browser history) could be replayed until it
expires. RFC 6749 §10.12 and the OAuth 2.0 Security BCP (RFC 9700 §4.7) ask for a
state tied to the user agent: the flow's start sets a random nonce in an HttpOnly
cookie and puts its SHA-256 in the signed state; the callback requires the cookie
to match, then marks the state spent in Redis (``SET NX`` with a TTL past the
state's expiry), so a second use fails even from the same browser.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import redis

from pc_core.errors import Unauthorized
from pc_core.ids import new_id
from pc_core.security.jwt_tokens import decode_signed, encode_signed
from pc_core.settings import Settings

NONCE_BYTES = 32
SPENT_KEY = "pc:oauth-state-spent:{}"
# Kept past the state's own expiry, so a spent state can never be taken for new.
SPENT_MARGIN_SECONDS = 60


@dataclass(frozen=True)
class IssuedState:
    state: str  # goes to the provider in the consent URL
    nonce: str  # goes to the browser in an HttpOnly cookie; only its hash is in the state


class StateRejected(Exception):
    """The callback must end with ``?error=<code>``: ``invalid_state`` or ``state_expired``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _digest(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def issue(settings: Settings, purpose: str, claims: dict[str, Any], ttl: timedelta) -> IssuedState:
    """A new state carrying ``claims``, and the nonce its browser must send back."""
    nonce = secrets.token_urlsafe(NONCE_BYTES)
    state = encode_signed(settings, purpose, {**claims, "sid": new_id(), "nh": _digest(nonce)},
                          ttl)
    return IssuedState(state=state, nonce=nonce)


def redeem(settings: Settings, r: redis.Redis, purpose: str, state: str, nonce: str | None,
           ttl: timedelta) -> dict[str, Any]:
    """The state's claims, once: the signature, expiry and purpose must hold, the
    browser's ``nonce`` cookie must be the one the state was issued with, and the
    state must not have been redeemed before. Otherwise ``StateRejected``."""
    try:
        claims = decode_signed(settings, state, purpose)
    except Unauthorized as exc:
        raise StateRejected("state_expired" if "expired" in exc.detail else "invalid_state")
    expected, sid = claims.get("nh"), claims.get("sid")
    if not (nonce and isinstance(expected, str) and isinstance(sid, str)):
        raise StateRejected("invalid_state")
    if not hmac.compare_digest(_digest(nonce), expected):
        raise StateRejected("invalid_state")
    spent_for = int(ttl.total_seconds()) + SPENT_MARGIN_SECONDS
    if not r.set(SPENT_KEY.format(sid), 1, nx=True, ex=spent_for):
        raise StateRejected("invalid_state")
    return claims
