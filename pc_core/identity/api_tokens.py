"""API tokens: how partners' scripts reach their data (``X-API-Key``).

A token is ``pc_<id>.<secret>``: the visible ``pc_`` prefix lets secret scanners and
people recognise it, the id addresses the stored document in one lookup, and only
the secret's SHA-256 is stored (``pc_core/security/opaque_tokens.py``), compared in
constant time. The full token is shown once, at creation.

A token acts for one partner with one role, never more than its creator's: its
caller is an ordinary ``Principal``, so the public routes apply exactly the rules
people get (``pc_core/access.py``). Revoking is immediate: the request reads the token
document, or its check fields kept in Redis for a few seconds and dropped by the
revoke (``pc_core/security/token_cache.py``), so a public list page is one MongoDB
command. ``last_used_at`` is written at most once a minute per token, so a busy
script does not turn every read into a write. Each token is rate-limited in Redis
(shared by API replicas).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import redis
from pymongo.database import Database

from pc_core import collections as c
from pc_core.access import Principal, Role
from pc_core.errors import BadRequest, Forbidden, NotFound, Unauthorized
from pc_core.ids import new_id
from pc_core.models.api_tokens import ApiTokenCreated, ApiTokenOut
from pc_core.security import token_cache
from pc_core.security.opaque_tokens import hash_secret, new_secret, secret_matches, split_token
from pc_core.security.throttle import WindowCounter
from pc_core.settings import Settings
from pc_core.store import replace_if_unchanged, update_with_retry
from pc_core.timeutil import ensure_utc, utcnow

PREFIX = "pc_"
RANK = {Role.USER: 0, Role.ADMIN: 1, Role.OWNER: 2}
LAST_USED_EVERY = timedelta(minutes=1)
PRINCIPAL_PREFIX = "api-token:"


def create_token(db: Database, actor: Principal, *, name: str, role: Role,
                 partner_id: str | None = None,
                 rate_limit_per_minute: int | None = None) -> ApiTokenCreated:
    """Admins and the owner; the role at most the caller's. Returns the token once."""
    own = actor.acting_partner_id(partner_id)  # another partner's: 404, before the 403s
    actor.require_writer()
    if RANK[role] > RANK[actor.role]:
        raise Forbidden("a token cannot have a higher role than its creator")
    # The owner's token without a partner_id is an owner token, not its partner's.
    target = partner_id if actor.is_owner else own
    if role is not Role.OWNER and target is None:
        raise BadRequest("admin and user tokens belong to a partner: partner_id is required")
    if target is not None and db[c.PARTNERS].find_one({"_id": target}, {"_id": 1}) is None:
        raise NotFound("partner not found")
    name = name.strip()
    if not name:
        raise BadRequest("the token name cannot be blank")
    token_id, secret = new_id(), new_secret()
    token = f"{PREFIX}{token_id}.{secret}"
    now = utcnow()
    doc = {
        "_id": token_id, "name": name, "role": role.value, "partner_id": target,
        "prefix": token[: len(PREFIX) + 8], "secret_hash": hash_secret(secret),
        "created_by": actor.user_id, "created_at": now, "last_used_at": None,
        "revoked_at": None, "rate_limit_per_minute": rate_limit_per_minute, "rev": 1,
    }
    db[c.API_TOKENS].insert_one(doc)
    return ApiTokenCreated.issued(doc, token)


def _visible(actor: Principal, doc: dict[str, Any] | None) -> dict[str, Any]:
    if doc is None or not actor.can_see_partner(doc.get("partner_id")) or (
        doc["role"] == Role.OWNER and not actor.is_owner
    ):
        raise NotFound("token not found")
    return doc


def list_tokens(db: Database, actor: Principal,
                partner_id: str | None = None) -> list[ApiTokenOut]:
    """Admins see their partner's tokens; the owner every token (or one partner's)."""
    scoped = actor.scoped_partner_id(partner_id)  # another partner's: 404, before the 403
    actor.require_writer()
    query: dict[str, Any] = {} if scoped is None else {"partner_id": scoped}
    docs = list(db[c.API_TOKENS].find(query).limit(1000))
    docs.sort(key=lambda d: ensure_utc(d["created_at"]), reverse=True)
    return [ApiTokenOut.from_doc(_visible(actor, d)) for d in docs
            if actor.is_owner or d["role"] != Role.OWNER]


def revoke_token(db: Database, actor: Principal, token_id: str,
                 r: redis.Redis | None = None) -> None:
    """Revoked for good (and dropped from ``token_cache`` at once); revoking twice is
    fine."""
    actor.require_writer()
    _visible(actor, db[c.API_TOKENS].find_one({"_id": token_id}))
    now = utcnow()
    update_with_retry(db[c.API_TOKENS], token_id,
                      lambda d: None if d.get("revoked_at") else {"revoked_at": now},
                      what="token")
    token_cache.forget(r, token_id)


def revoke_partner_tokens(db: Database, r: redis.Redis | None, partner_id: str) -> int:
    """Revoke every live token of a partner (its deactivation), each dropped from
    ``token_cache`` at once; returns how many. Revoked for good: a reactivated
    partner's admin creates new ones."""
    now = utcnow()
    revoked: list[str] = []

    def revoke(doc: dict[str, Any]) -> dict[str, Any] | None:
        if doc.get("revoked_at"):
            return None
        revoked.append(doc["_id"])
        return {"revoked_at": now}

    for doc in db[c.API_TOKENS].find({"partner_id": partner_id, "revoked_at": None},
                                     {"_id": 1}).limit(10_000):
        update_with_retry(db[c.API_TOKENS], doc["_id"], revoke, what="token")
        token_cache.forget(r, doc["_id"])
    return len(set(revoked))


def principal_of_token(doc: dict[str, Any]) -> Principal:
    return Principal(user_id=PRINCIPAL_PREFIX + doc["_id"], role=Role(doc["role"]),
                     partner_id=doc.get("partner_id"), email="")


def authenticate(db: Database, r: redis.Redis, settings: Settings,
                 api_key: str | None) -> Principal:
    """The caller behind ``X-API-Key``: 401 unless a live token, 429 past its limit.
    The token's check fields come from Redis when kept there (``token_cache``), so a
    request reads MongoDB only for its own query."""
    if not api_key or not api_key.startswith(PREFIX):
        raise Unauthorized("missing or malformed API key")
    parts = split_token(api_key[len(PREFIX):])
    if parts is None:
        raise Unauthorized("missing or malformed API key")
    token_id, secret = parts
    doc = token_cache.cached(r, token_id)
    from_db = doc is None
    if from_db:
        doc = db[c.API_TOKENS].find_one({"_id": token_id})
        if doc is not None:
            token_cache.keep(r, doc)
    if doc is None or not secret_matches(secret, doc["secret_hash"]) or \
            doc.get("revoked_at") or doc.get("revoked"):
        raise Unauthorized("invalid or revoked API key")
    limit = doc.get("rate_limit_per_minute") or settings.api_token_rate_limit
    WindowCounter(r, "api-token", int(limit), settings.api_token_rate_window_seconds) \
        .hit_and_check(token_id, "rate limit exceeded for this API key")
    first = token_cache.first_use_this_minute(r, token_id)
    if first:
        _record_use(db, token_id)
    elif first is None and from_db:  # no Redis: decide on the stored time, as before
        _touch(db, doc)
    return principal_of_token(doc)


def _record_use(db: Database, token_id: str) -> None:
    now = utcnow()
    update_with_retry(db[c.API_TOKENS], token_id, lambda _: {"last_used_at": now},
                      what="token")


def _touch(db: Database, doc: dict[str, Any]) -> None:
    """Record use at most once a minute; losing the race to another request is fine."""
    now = utcnow()
    last = doc.get("last_used_at")
    if last is not None and now - ensure_utc(last) < LAST_USED_EVERY:
        return
    replace_if_unchanged(db[c.API_TOKENS], doc, {"last_used_at": now})
