"""Sign-in, refresh-token rotation with reuse detection, and sign-out.

Refresh tokens are opaque ``<id>.<secret>`` strings stored hashed. Each sign-in
starts a *family*; each refresh spends the presented token and issues the next one
in the same family. A spent token presented again means it was stolen (or the
client is confused): the whole family is revoked, and both holders must sign in
again (OAuth 2.0 Security BCP, refresh token rotation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import redis
from pymongo import ReturnDocument
from pymongo.database import Database

from pc_core import collections as c
from pc_core.access import Principal, Role
from pc_core.errors import Unauthorized
from pc_core.identity import partners
from pc_core.identity.login_throttle import LoginThrottle, notify_locked
from pc_core.identity.session_state import publish_user, token_version
from pc_core.identity.users import normalise_email
from pc_core.ids import new_id
from pc_core.models.users import UserOut
from pc_core.security.jwt_tokens import create_access_token
from pc_core.security.opaque_tokens import hash_secret, new_secret, secret_matches, split_token
from pc_core.security.passwords import hash_password, needs_rehash, verify_password
from pc_core.settings import Settings
from pc_core.timeutil import ensure_utc, utcnow

BAD_CREDENTIALS = "incorrect email or password"


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    user: UserOut


def principal_of(user: dict[str, Any]) -> Principal:
    return Principal(
        user_id=user["_id"],
        role=Role(user["role"]),
        partner_id=user.get("partner_id"),
        email=user["email"],
    )


def login(
    db: Database,
    r: redis.Redis,
    settings: Settings,
    *,
    email: str,
    password: str,
    client_ip: str,
) -> IssuedTokens:
    """Check the password, throttled in Redis (``pc_core.identity.login_throttle``).

    Past a limit, attempts answer 429 until the window ends, even with the right
    password: otherwise the throttle would still let a guesser confirm a hit. The
    limits are per (email, client address) and per address, so a guesser elsewhere
    does not lock the owner out; only a distributed guess locks the email for
    everyone, and then its owner is told by email.
    """
    email = normalise_email(email)
    throttle = LoginThrottle.of(settings, r)
    throttle.check(email, client_ip)
    user = db[c.USERS].find_one({"email": email})
    ok = verify_password(password, user["password_hash"] if user else None)
    if not ok or user is None or not user.get("active", True):
        if throttle.failed(email, client_ip) and user is not None:
            notify_locked(db, settings, user, throttle)
        raise Unauthorized(BAD_CREDENTIALS)
    throttle.succeeded(email, client_ip)
    _require_partner_active(db, user)
    publish_user(r, user)  # the first request after sign-in reads no user
    if needs_rehash(user["password_hash"]):
        db[c.USERS].update_one(
            {"_id": user["_id"]}, {"$set": {"password_hash": hash_password(password)}}
        )
    return _issue(db, settings, user, family_id=new_id())


def _require_partner_active(db: Database, user: dict[str, Any]) -> None:
    """A deactivated partner's people cannot sign in (403, said only after the right
    password, so it reveals nothing to a guesser); the owner always can."""
    if user["role"] != Role.OWNER:
        partners.require_active(db, user.get("partner_id"))


def _issue(db: Database, settings: Settings, user: dict[str, Any], family_id: str) -> IssuedTokens:
    version = token_version(user)
    access, access_ttl = create_access_token(settings, user["_id"], version)
    refresh_ttl = int(timedelta(days=settings.refresh_token_days).total_seconds())
    now = utcnow()
    token_id, secret = new_id(), new_secret()
    db[c.REFRESH_TOKENS].insert_one(
        {
            "_id": token_id,
            "secret_hash": hash_secret(secret),
            "family_id": family_id,
            "user_id": user["_id"],
            "created_at": now,
            "expires_at": now + timedelta(seconds=refresh_ttl),
            "spent_at": None,
            "token_version": version,
        }
    )
    if db[c.REFRESH_FAMILIES].find_one({"_id": family_id}, {"_id": 1}) is None:
        db[c.REFRESH_FAMILIES].insert_one(
            {"_id": family_id, "user_id": user["_id"], "created_at": now, "revoked_at": None}
        )
    return IssuedTokens(access, access_ttl, f"{token_id}.{secret}", refresh_ttl,
                        UserOut.from_doc(user))


def _revoke_family(db: Database, family_id: str) -> None:
    family = db[c.REFRESH_FAMILIES].find_one({"_id": family_id})
    if family is not None and family.get("revoked_at") is None:
        db[c.REFRESH_FAMILIES].replace_one(
            {"_id": family_id}, {**family, "revoked_at": utcnow()}
        )


def refresh(db: Database, settings: Settings, token: str) -> IssuedTokens:
    parts = split_token(token)
    if parts is None:
        raise Unauthorized("invalid refresh token")
    token_id, secret = parts
    stored = db[c.REFRESH_TOKENS].find_one({"_id": token_id})
    if stored is None or not secret_matches(secret, stored["secret_hash"]):
        raise Unauthorized("invalid refresh token")
    family = db[c.REFRESH_FAMILIES].find_one({"_id": stored["family_id"]})
    if family is None or family.get("revoked_at") is not None:
        raise Unauthorized("refresh token revoked; sign in again")
    if ensure_utc(stored["expires_at"]) <= utcnow():
        raise Unauthorized("refresh token expired; sign in again")
    # Spend it atomically: of two concurrent refreshes with one token, one wins and
    # the other is treated as reuse.
    spent = db[c.REFRESH_TOKENS].find_one_and_replace(
        {"_id": token_id, "spent_at": None},
        {**stored, "spent_at": utcnow()},
        return_document=ReturnDocument.AFTER,
    )
    if spent is None:
        _revoke_family(db, stored["family_id"])
        raise Unauthorized("refresh token already used; every session of this sign-in is revoked")
    user = db[c.USERS].find_one({"_id": stored["user_id"]})
    if user is None or not user.get("active", True):
        _revoke_family(db, stored["family_id"])
        raise Unauthorized("account no longer active")
    if not partners.is_active(db, user.get("partner_id")) and user["role"] != Role.OWNER:
        _revoke_family(db, stored["family_id"])
        raise Unauthorized("your partner is deactivated; sign in again once it is reactivated")
    if int(stored.get("token_version") or 0) != token_version(user):
        # Issued before a password change, a reset or "sign out everywhere".
        _revoke_family(db, stored["family_id"])
        raise Unauthorized("session revoked; sign in again")
    return _issue(db, settings, user, family_id=stored["family_id"])


def logout(db: Database, token: str | None) -> None:
    """Revoke the sign-in the refresh token belongs to; unknown tokens are ignored."""
    parts = split_token(token) if token else None
    if parts is None:
        return
    stored = db[c.REFRESH_TOKENS].find_one({"_id": parts[0]})
    if stored is not None and secret_matches(parts[1], stored["secret_hash"]):
        _revoke_family(db, stored["family_id"])


def issue_session(db: Database, settings: Settings, user: dict[str, Any]) -> IssuedTokens:
    """A new sign-in for a user whose identity was just proven another way (its
    current password, on a password change): a new refresh family at the user's
    current session version."""
    return _issue(db, settings, user, family_id=new_id())
