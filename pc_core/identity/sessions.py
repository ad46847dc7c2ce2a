"""Revoking every session of a user at once.

Each user document carries ``token_version``; every access token carries the
version it was issued at (``ver`` claim) and every refresh token stores it too.
Bumping the version (``session_state.bumped_version``) kills every outstanding
access token on its next use, on every API replica (requests check the version in
the sign-in state ``pc_core.identity.session_state`` publishes to Redis, so the check costs
no user read), and every refresh token at its next refresh; the refresh families
are also marked revoked so the stored state says what happened.

The version is bumped on a password change or reset, on deactivation and by
"sign out everywhere" (``POST /v1/auth/logout-all``).
"""

from __future__ import annotations

from typing import Any

import redis
from pymongo.database import Database

from pc_core import collections as c
from pc_core.identity.session_state import bumped_version, publish_user, token_version
from pc_core.store import update_with_retry
from pc_core.timeutil import utcnow

__all__ = ["bumped_version", "revoke_refresh_families", "sign_out_everywhere",
           "token_version"]


def revoke_refresh_families(db: Database, user_id: str) -> int:
    """Mark every live sign-in (refresh family) of the user revoked; returns how many.

    Whole-document replaces, not ``$set``: the embedded store keeps a date written
    by ``$set`` as a string.
    """
    now = utcnow()
    revoked = 0
    for family in db[c.REFRESH_FAMILIES].find({"user_id": user_id, "revoked_at": None}):
        db[c.REFRESH_FAMILIES].replace_one(
            {"_id": family["_id"], "revoked_at": None}, {**family, "revoked_at": now}
        )
        revoked += 1
    return revoked


def sign_out_everywhere(db: Database, r: redis.Redis, user_id: str) -> dict[str, Any]:
    """Bump the user's version, publish it and revoke its refresh families; returns
    the user."""
    user = update_with_retry(db[c.USERS], user_id, bumped_version, what="user")
    publish_user(r, user)
    revoke_refresh_families(db, user_id)
    return user
