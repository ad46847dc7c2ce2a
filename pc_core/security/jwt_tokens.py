"""Short-lived access tokens (JWT, HS256) and small signed blobs such as OAuth states."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt

from pc_core.errors import Unauthorized
from pc_core.ids import new_id
from pc_core.settings import Settings
from pc_core.timeutil import utcnow

ALGORITHM = "HS256"


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    version: int  # the user's session version at issue (pc_core.identity.sessions)
    expires_at: float = 0.0  # epoch seconds


def create_access_token(settings: Settings, user_id: str, version: int = 0) -> tuple[str, int]:
    """Return the token and its lifetime in seconds.

    Only the subject and the session version are trusted from the token: role and
    partner are re-read from the user document on each request, so a demotion takes
    effect at once, and a version behind the user's means its sessions were revoked.
    """
    lifetime = int(timedelta(minutes=settings.access_token_minutes).total_seconds())
    now = utcnow()
    claims = {
        "sub": user_id,
        "typ": "access",
        "ver": version,
        "iat": now,
        "exp": now + timedelta(seconds=lifetime),
        "jti": new_id(),
    }
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM), lifetime


def decode_access_token(settings: Settings, token: str) -> AccessClaims:
    """The user id and session version in a valid access token, else ``Unauthorized``.

    Tokens from before versions were issued carry none: version 0, as their users.
    """
    claims = decode_signed(settings, token, purpose="access")
    version = claims.get("ver", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise Unauthorized("invalid token")
    return AccessClaims(user_id=str(claims["sub"]), version=version,
                        expires_at=float(claims["exp"]))


def encode_signed(settings: Settings, purpose: str, payload: dict[str, Any], ttl: timedelta) -> str:
    """A signed, expiring token for ``purpose`` (``typ`` claim), e.g. an OAuth state."""
    now = utcnow()
    claims = {**payload, "typ": purpose, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM)


def decode_signed(settings: Settings, token: str, purpose: str) -> dict[str, Any]:
    try:
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "iat", "typ"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token expired")
    except jwt.PyJWTError:
        raise Unauthorized("invalid token")
    if claims.get("typ") != purpose:
        raise Unauthorized("invalid token")
    return claims
