"""Who is connecting: the access token from the Socket.IO ``auth`` payload
(``{"token": ...}``), else the ``Authorization: Bearer`` header, else the
``pc_access`` cookie; and whether it may still: the one session rule of
``pc_core.identity.session_cache``, as for HTTP requests. Database reads run in a worker
thread (pymongo blocks)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any

import redis
from pymongo.database import Database

from pc_api.deps import ACCESS_COOKIE
from pc_core.access import Principal
from pc_core.errors import Unauthorized
from pc_core.identity import session_cache
from pc_core.security.jwt_tokens import decode_access_token
from pc_core.settings import Settings


@dataclass(frozen=True)
class Viewer:
    """A connected caller, as kept in the Socket.IO session."""

    user_id: str
    partner_id: str | None
    is_owner: bool
    version: int  # the session version its token was issued at (pc_core.identity.sessions)
    expires_at: float  # the access token's expiry (epoch seconds)


def token_from(environ: dict[str, Any], auth: Any) -> str | None:
    if isinstance(auth, dict):
        token = auth.get("token")
        if isinstance(token, str) and token.strip():
            return token.strip()
    header = environ.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    raw = environ.get("HTTP_COOKIE")
    if raw:
        cookies = SimpleCookie()
        try:
            cookies.load(raw)
        except CookieError:
            return None
        morsel = cookies.get(ACCESS_COOKIE)
        if morsel is not None and morsel.value:
            return morsel.value
    return None


async def caller(db: Database, r: redis.Redis, user_id: str, version: int) -> Principal:
    """The caller now, by the one session rule HTTP requests follow too
    (``pc_core.identity.session_cache.caller``); the database is read, in a worker thread,
    only when no sign-in state is published."""
    principal = session_cache.caller_if_known(r, user_id, version)
    if principal is None:
        principal = await asyncio.to_thread(session_cache.caller, db, r, user_id, version)
    return principal


async def authenticate(db: Database, r: redis.Redis, settings: Settings,
                       token: str | None) -> Viewer:
    """The viewer behind ``token``; ``Unauthorized`` when missing, bad, inactive or
    revoked."""
    if not token:
        raise Unauthorized("not signed in")
    claims = decode_access_token(settings, token)
    principal = await caller(db, r, claims.user_id, claims.version)
    return Viewer(user_id=principal.user_id, partner_id=principal.partner_id,
                  is_owner=principal.is_owner, version=claims.version,
                  expires_at=claims.expires_at)


async def current_principal(db: Database, r: redis.Redis, viewer: Viewer) -> Principal:
    """The viewer's caller now, at each room join: a revoked session, a deactivation
    or a role change applies at the next join (and the server disconnects the
    connection as soon as it is announced, ``pc_api.realtime.revocation``)."""
    return await caller(db, r, viewer.user_id, viewer.version)
