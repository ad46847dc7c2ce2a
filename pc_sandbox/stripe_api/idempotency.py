"""Idempotency-Key handling: replay the first answer, refuse reuse with other params.

Stripe keeps results for at least 24 h, saves successes and card errors (not
validation errors), and compares the endpoint and parameters of a reused key.
"""

from __future__ import annotations

import hashlib
import time
from urllib.parse import parse_qsl

from . import state
from .errors import StripeError

TTL_S = 24 * 3600
MAX_KEY_LENGTH = 255


def fingerprint(method: str, path: str, body: bytes) -> str:
    """Endpoint plus parameters, order-insensitive."""
    pairs = sorted(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    return hashlib.sha256(repr((method, path, pairs)).encode()).hexdigest()


def validate_key(key: str) -> None:
    """Stripe caps keys at 255 characters."""
    if len(key) > MAX_KEY_LENGTH:
        raise StripeError(
            f"Idempotency-Key must be at most {MAX_KEY_LENGTH} characters.",
            type="idempotency_error",
        )


def lookup(key: str, print_: str) -> state.IdempotencyRecord | None:
    """The stored answer for ``key``; raises if it was used with other parameters."""
    with state.reading() as st:
        cutoff = time.time() - TTL_S
        for old in [k for k, r in st.idempotency.items() if r.created < cutoff]:
            del st.idempotency[old]
        record = st.idempotency.get(key)
    if record is None:
        return None
    if record.fingerprint != print_:
        raise StripeError(
            "Keys for idempotent requests can only be used with the same parameters they "
            f"were first used with. Try using a key other than '{key}' if you meant to "
            "execute a different request.",
            type="idempotency_error",
        )
    return record


def should_save(status: int) -> bool:
    """Successes and card declines are final; validation failures are not saved."""
    return 200 <= status < 300 or status == 402


def save(key: str, print_: str, status: int, body: bytes) -> None:
    """Remember the first answer for ``key``."""
    with state.changing() as st:
        st.idempotency[key] = state.IdempotencyRecord(print_, status, body, time.time())
