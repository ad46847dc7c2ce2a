"""API tokens as the public API checks them, kept in Redis for a short while, so a
public list page costs one MongoDB command (its query), like a session's.

What is kept is only what the check needs (id, role, partner, the secret's hash,
revoked or not, the rate limit), never the secret; for ``TTL_S`` at most. Revoking
deletes the entry after the database write, so the next request reads the revoked
document: revocation stays immediate. If that delete fails (Redis unreachable), the
entry still expires within ``TTL_S``. ``last_used_at`` is written at most once a
minute per token, decided by a Redis key (``SET NX EX``) instead of the stored value.
Without Redis every request reads the document, as before.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import orjson
import redis

log = logging.getLogger(__name__)

TTL_S = 30
USED_EVERY_S = 60
FIELDS = ("_id", "role", "partner_id", "secret_hash", "rate_limit_per_minute")


def _key(token_id: str) -> str:
    return f"api-token-doc:{token_id}"


def cached(r: redis.Redis, token_id: str) -> dict[str, Any] | None:
    """The kept check fields of the token, or ``None`` (not kept, or Redis down)."""
    try:
        raw = r.get(_key(token_id))
    except redis.RedisError:
        return None
    return orjson.loads(raw) if raw else None


def keep(r: redis.Redis, doc: dict[str, Any]) -> None:
    """Keep the check fields of ``doc`` (read from the database) for ``TTL_S``."""
    entry = {k: doc.get(k) for k in FIELDS}
    entry["revoked"] = bool(doc.get("revoked_at"))
    with contextlib.suppress(redis.RedisError):
        r.set(_key(doc["_id"]), orjson.dumps(entry), ex=TTL_S)


def forget(r: redis.Redis | None, token_id: str) -> None:
    """Drop the kept entry (after a revoke); logged if Redis cannot be reached."""
    if r is None:
        return
    try:
        r.delete(_key(token_id))
    except redis.RedisError:
        log.warning("API token %s revoked; its cached check expires within %d s",
                    token_id, TTL_S)


def first_use_this_minute(r: redis.Redis, token_id: str) -> bool | None:
    """``True`` once a minute per token (then record ``last_used_at``); ``None``
    without Redis."""
    try:
        return bool(r.set(f"api-token-used:{token_id}", "1", nx=True, ex=USED_EVERY_S))
    except redis.RedisError:
        return None
