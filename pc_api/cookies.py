"""The auth cookies: HttpOnly, SameSite=Lax, Secure outside development; and the
``pc_csrf`` double-submit cookie (not HttpOnly: the web client copies it into the
``X-CSRF-Token`` header; see pc_api/csrf.py)."""

from __future__ import annotations

from fastapi import Response

from pc_api.csrf import CSRF_COOKIE, CSRF_HEADER, new_csrf_token
from pc_api.deps import ACCESS_COOKIE, REFRESH_COOKIE
from pc_core.identity.auth import IssuedTokens
from pc_core.settings import Settings

# The refresh cookie only travels to the auth routes that use it.
REFRESH_COOKIE_PATH = "/v1/auth"


def set_auth_cookies(response: Response, settings: Settings, tokens: IssuedTokens) -> None:
    common = {"httponly": True, "secure": settings.secure_cookies, "samesite": "lax"}
    response.set_cookie(
        ACCESS_COOKIE, tokens.access_token, max_age=tokens.expires_in, path="/", **common
    )
    response.set_cookie(
        REFRESH_COOKIE,
        tokens.refresh_token,
        max_age=tokens.refresh_expires_in,
        path=REFRESH_COOKIE_PATH,
        **common,
    )
    # As long-lived as the refresh cookie, so the refresh call can carry it. Also in a
    # header: a PC_CORS_ORIGINS client cannot read our cookie (pc_api/browser_headers.py).
    csrf_token = new_csrf_token()
    response.headers[CSRF_HEADER] = csrf_token
    response.set_cookie(
        CSRF_COOKIE, csrf_token, max_age=tokens.refresh_expires_in, path="/",
        httponly=False, secure=settings.secure_cookies, samesite="lax",
    )


def clear_auth_cookies(response: Response, settings: Settings) -> None:
    common = {"httponly": True, "secure": settings.secure_cookies, "samesite": "lax"}
    response.delete_cookie(ACCESS_COOKIE, path="/", **common)
    response.delete_cookie(REFRESH_COOKIE, path=REFRESH_COOKIE_PATH, **common)
    response.delete_cookie(
        CSRF_COOKIE, path="/", httponly=False, secure=settings.secure_cookies, samesite="lax"
    )
