"""A signed-in user's own account: its name and its password, whatever its role.

Apart from ``users.update_user`` (an admin or the owner managing others), because
the rules differ: anyone may edit itself, but a new password needs the current one,
so a borrowed unlocked screen cannot take the account over. Wrong current passwords
count against the sign-in throttle, like a failed sign-in, so this route is no way
around it.
"""

from __future__ import annotations

from typing import Any

import redis
from pymongo.database import Database

from pc_core import collections as c
from pc_core.errors import BadRequest, Conflict
from pc_core.identity.auth import IssuedTokens, issue_session
from pc_core.identity.login_throttle import LoginThrottle
from pc_core.identity.session_state import bumped_version, publish_user
from pc_core.identity.sessions import revoke_refresh_families
from pc_core.models.users import UserOut
from pc_core.security.passwords import MIN_PASSWORD_LENGTH, hash_password, verify_password
from pc_core.settings import Settings
from pc_core.store import replace_if_unchanged
from pc_core.timeutil import utcnow

WRONG_CURRENT_PASSWORD = "current password is incorrect"


def rename_self(db: Database, r: redis.Redis, user: dict[str, Any], name: str) -> UserOut:
    """Change the caller's display name; sessions are untouched."""
    name = name.strip()
    if not name:
        raise BadRequest("name must not be empty")
    after = replace_if_unchanged(db[c.USERS], user, {"name": name, "updated_at": utcnow()})
    if after is None:
        raise Conflict("your account changed meanwhile; reload and try again")
    publish_user(r, after)
    return UserOut.from_doc(after)


def change_own_password(
    db: Database, r: redis.Redis, settings: Settings, user: dict[str, Any], *,
    current_password: str, new_password: str, client_ip: str,
) -> IssuedTokens:
    """Set a new password and end every other session of the user.

    The session version is bumped in the same compare-and-set write as the hash,
    so every access and refresh token issued before stops working on every replica;
    the caller gets a fresh sign-in in the answer and stays signed in here.
    """
    throttle = LoginThrottle.of(settings, r)
    throttle.check(user["email"], client_ip)
    if not verify_password(current_password, user.get("password_hash")):
        throttle.failed(user["email"], client_ip)
        raise BadRequest(WRONG_CURRENT_PASSWORD)
    if len(new_password) < MIN_PASSWORD_LENGTH:
        raise BadRequest(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if new_password == current_password:
        raise BadRequest("the new password must differ from the current one")
    update = {"password_hash": hash_password(new_password), "updated_at": utcnow(),
              **bumped_version(user)}
    after = replace_if_unchanged(db[c.USERS], user, update)
    if after is None:
        raise Conflict("your account changed meanwhile; reload and try again")
    publish_user(r, after)
    revoke_refresh_families(db, after["_id"])
    return issue_session(db, settings, after)
