"""Who is connecting: the access token from the Socket.IO ``auth`` payload
(``{"token": ...}``), else the ``Authorization: Bearer`` header, else the
``pc_access`` cookie. Database reads run in a worker thread (pymongo blocks)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any

from pymongo.database import Database

from pc_api.deps import ACCESS_COOKIE
from pc_core import collections as c
from pc_core.access import Principal
from pc_core.errors import Unauthorized
from pc_core.identity.auth import authenticate_access_token, principal_of
from pc_core.security.jwt_tokens import decode_signed
from pc_core.settings import Settings


@dataclass(frozen=True)
class Viewer:
    """A connected caller, as kept in the Socket.IO session."""

    user_id: str
    partner_id: str | None
    is_owner: bool
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


def _authenticate(db: Database, settings: Settings, token: str) -> Viewer:
    user = authenticate_access_token(db, settings, token)
    principal = principal_of(user)
    return Viewer(
        user_id=principal.user_id,
        partner_id=principal.partner_id,
        is_owner=principal.is_owner,
        expires_at=float(decode_signed(settings, token, purpose="access")["exp"]),
    )


async def authenticate(db: Database, settings: Settings, token: str | None) -> Viewer:
    """The viewer behind ``token``; ``Unauthorized`` when missing, bad or inactive."""
    if not token:
        raise Unauthorized("not signed in")
    return await asyncio.to_thread(_authenticate, db, settings, token)


def _current_principal(db: Database, user_id: str) -> Principal:
    user = db[c.USERS].find_one({"_id": user_id})
    if user is None or not user.get("active", True):
        raise Unauthorized("user no longer active")
    return principal_of(user)


async def current_principal(db: Database, user_id: str) -> Principal:
    """Re-read the user, so role changes and deactivation apply at the next join."""
    return await asyncio.to_thread(_current_principal, db, user_id)
