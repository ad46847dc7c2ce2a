"""Each user's sign-in state in Redis, so an authenticated request reads no user
document: one database round trip for a list page instead of two.

What a request needs of its caller is small: role, partner, email, whether the
account is active, and its session version (``token_version``: bumped to end every
session at once, ``pc_core.identity.sessions``). Every write of
a user that can change one of them (an edit, a password change or reset, a
deactivation, "sign out everywhere", a deletion) publishes the new state to
Redis, which every API replica shares, so the change applies to the very next
request everywhere, as when each request re-read the user. A missing entry
(first use, expired, Redis restarted) is filled from the user document.

Two writers can race (a request filling a miss with what it read, an edit
publishing what it wrote): the state carries the document's revision (``rev``,
bumped by every revision-checked write) and a script in Redis keeps the newer, so
a stale fill can never replace a newer state. Entries expire after ``TTL_S``: a
change made by a writer that could not reach this Redis (e.g. ``pc create-owner``
pointed at another one) is seen within that time at the latest. When Redis
cannot be read, requests read the user document instead.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import redis
from pymongo.database import Database

from pc_core import collections as c
from pc_core.access import Principal, Role
from pc_core.errors import Unauthorized

log = logging.getLogger(__name__)

VERSION_FIELD = "token_version"

KEY_PREFIX = "pc:user-state:"
CHANNEL = "pc:user-state"  # each published state's user id (``pc_core.identity.session_cache``)
TTL_S = 60
GONE_REV = 2**53  # a deleted user: newer than any revision the document had

# KEYS[1]: the entry; ARGV: the state (JSON), its revision, the TTL, the channel and
# the user id. Keeps the newer, and announces it.
_KEEP_NEWER = """
local current = redis.call('GET', KEYS[1])
if current then
  local ok, state = pcall(cjson.decode, current)
  if ok and type(state) == 'table' and tonumber(state['rev']) and
     tonumber(state['rev']) > tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[3]))
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
"""
_hooks: list[Callable[[redis.Redis, str], None]] = []


def on_publish(hook: Callable[[redis.Redis, str], None]) -> None:
    """Call ``hook(r, user_id)`` whenever this process has published a state, before
    ``publish`` returns (``pc_core.identity.session_cache`` drops its copy there)."""
    _hooks.append(hook)


def token_version(user: dict[str, Any]) -> int:
    """The user's current session version (``pc_core.identity.sessions``); users stored before
    versions were kept are at 0, which is also what their existing tokens carry."""
    return int(user.get(VERSION_FIELD) or 0)


def bumped_version(user: dict[str, Any]) -> dict[str, int]:
    """The change that invalidates every token issued to ``user`` so far; merged
    into the same compare-and-set write as the password or ``active`` change."""
    return {VERSION_FIELD: token_version(user) + 1}


@dataclass(frozen=True, slots=True)
class UserState:
    """What a request needs of its caller; ``active`` is false for a deleted user."""

    user_id: str
    role: str
    partner_id: str | None
    email: str
    active: bool
    version: int
    rev: int

    @classmethod
    def of(cls, user: dict[str, Any]) -> UserState:
        return cls(user_id=user["_id"], role=user["role"], partner_id=user.get("partner_id"),
                   email=user["email"], active=bool(user.get("active", True)),
                   version=token_version(user), rev=int(user.get("rev") or 0))

    @classmethod
    def gone(cls, user_id: str) -> UserState:
        return cls(user_id=user_id, role=Role.USER.value, partner_id=None, email="",
                   active=False, version=-1, rev=GONE_REV)

    def principal(self, token_version_: int) -> Principal:
        """The caller, if its access token (issued at ``token_version_``) is still good."""
        if not self.active:
            raise Unauthorized("invalid token")
        if token_version_ != self.version:
            raise Unauthorized("session revoked; sign in again")
        return Principal(user_id=self.user_id, role=Role(self.role),
                         partner_id=self.partner_id, email=self.email)


def key(user_id: str) -> str:
    return KEY_PREFIX + user_id


def publish(r: redis.Redis, state: UserState) -> bool:
    """Make ``state`` the one every replica sees, unless a newer one is there. A
    Redis failure is logged and returns ``False``, not raised: the write it follows
    is done already, and the old state expires within ``TTL_S``."""
    try:
        r.eval(_KEEP_NEWER, 1, key(state.user_id), json.dumps(asdict(state)), state.rev,
               TTL_S, CHANNEL, state.user_id)
    except redis.RedisError:
        log.exception("could not publish the sign-in state of user %s", state.user_id)
        return False
    finally:
        for hook in _hooks:
            hook(r, state.user_id)
    return True


def publish_user(r: redis.Redis, user: dict[str, Any]) -> bool:
    return publish(r, UserState.of(user))


def publish_deleted(r: redis.Redis, user_id: str) -> bool:
    return publish(r, UserState.gone(user_id))


def cached(r: redis.Redis, user_id: str) -> UserState | None:
    """The published state; ``None`` when there is none or Redis cannot say."""
    try:
        raw = r.get(key(user_id))
    except redis.RedisError:
        log.warning("sign-in state of user %s unreadable; reading the user", user_id)
        return None
    if not raw:
        return None
    try:
        return UserState(**json.loads(raw))
    except (TypeError, ValueError):
        return None


def load(db: Database, r: redis.Redis, user_id: str) -> UserState:
    """The state of a user whose state was not cached: read, then published."""
    user = db[c.USERS].find_one({"_id": user_id})
    state = UserState.of(user) if user is not None else UserState.gone(user_id)
    publish(r, state)
    return state
