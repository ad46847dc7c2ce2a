"""Revoking every session of a user at once.

Each user document carries ``token_version``; every access token carries the
version it was issued at (``ver`` claim) and every refresh token stores it too.
``authenticate_access_token`` already reads the user document on each request (so
role changes apply at once), so comparing the versions costs no extra round trip.
Bumping the version therefore kills every outstanding access token on its next
use, and every refresh token at its next refresh; the refresh families are also
marked revoked so the stored state says what happened.

The version is bumped on a password change or reset, on deactivation and by
"sign out everywhere" (``POST /v1/auth/logout-all``).
"""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core.store import update_with_retry
from pc_core.timeutil import utcnow

VERSION_FIELD = "token_version"


def token_version(user: dict[str, Any]) -> int:
    """The user's current session version; users stored before versions were kept
    are at 0, which is also what their existing tokens carry."""
    return int(user.get(VERSION_FIELD) or 0)


def bumped_version(user: dict[str, Any]) -> dict[str, int]:
    """The change that invalidates every token issued to ``user`` so far; merged
    into the same compare-and-set write as the password or ``active`` change."""
    return {VERSION_FIELD: token_version(user) + 1}


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


def sign_out_everywhere(db: Database, user_id: str) -> dict[str, Any]:
    """Bump the user's version and revoke its refresh families; returns the user."""
    user = update_with_retry(db[c.USERS], user_id, bumped_version, what="user")
    revoke_refresh_families(db, user_id)
    return user
