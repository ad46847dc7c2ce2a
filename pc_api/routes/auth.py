"""Sign-in, token refresh with rotation, sign-out, and who am I."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from pc_api.cookies import clear_auth_cookies, set_auth_cookies
from pc_api.deps import REFRESH_COOKIE, AppSettings, CurrentUserDoc, Db, Redis, client_ip
from pc_core.errors import Unauthorized
from pc_core.identity import auth as auth_service
from pc_core.identity import profile
from pc_core.identity.sessions import sign_out_everywhere
from pc_core.models.api import LoginIn, RefreshIn, TokenOut
from pc_core.models.users import PasswordChange, ProfileUpdate, UserOut

router = APIRouter(prefix="/v1/auth", tags=["auth"])

_401 = {401: {"description": "Bad credentials or token"}}


def _token_out(tokens: auth_service.IssuedTokens) -> TokenOut:
    return TokenOut(
        access_token=tokens.access_token,
        expires_in=tokens.expires_in,
        refresh_token=tokens.refresh_token,
        user=tokens.user,
    )


@router.post(
    "/login",
    response_model=TokenOut,
    responses={**_401, 429: {"description": "Too many failures for this email or IP"}},
)
def login(
    body: LoginIn, request: Request, response: Response, db: Db, r: Redis, settings: AppSettings
) -> TokenOut:
    tokens = auth_service.login(
        db, r, settings, email=body.email, password=body.password, client_ip=client_ip(request)
    )
    set_auth_cookies(response, settings, tokens)
    return _token_out(tokens)


@router.post("/refresh", response_model=TokenOut, responses=_401)
def refresh(
    request: Request, response: Response, db: Db, settings: AppSettings,
    body: RefreshIn | None = None,
) -> TokenOut:
    token = (body.refresh_token if body else None) or request.cookies.get(REFRESH_COOKIE)
    if not token:
        raise Unauthorized("no refresh token")
    tokens = auth_service.refresh(db, settings, token)
    set_auth_cookies(response, settings, tokens)
    return _token_out(tokens)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def logout(
    request: Request, db: Db, settings: AppSettings, body: RefreshIn | None = None
) -> Response:
    token = (body.refresh_token if body else None) or request.cookies.get(REFRESH_COOKIE)
    auth_service.logout(db, token)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_auth_cookies(response, settings)
    return response


@router.post(
    "/logout-all", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
    responses=_401,
)
def logout_all(user: CurrentUserDoc, db: Db, r: Redis, settings: AppSettings) -> Response:
    """Sign out everywhere: every refresh token of the caller is revoked and every
    access token issued so far stops working at once (this one included)."""
    sign_out_everywhere(db, r, user["_id"])
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_auth_cookies(response, settings)
    return response


@router.get("/me", response_model=UserOut, responses=_401)
def me(user: CurrentUserDoc) -> UserOut:
    return UserOut.from_doc(user)


@router.patch("/me", response_model=UserOut,
              responses={**_401, 409: {"description": "Changed meanwhile"}})
def update_me(body: ProfileUpdate, user: CurrentUserDoc, db: Db, r: Redis) -> UserOut:
    """Change your own name: open to every role, a read-only user included."""
    return profile.rename_self(db, r, user, body.name)


@router.post(
    "/me/password", response_model=TokenOut,
    responses={**_401, 400: {"description": "Wrong current password or a weak new one"},
               429: {"description": "Too many wrong current passwords"}},
)
def change_my_password(body: PasswordChange, request: Request, response: Response,
                       user: CurrentUserDoc, db: Db, r: Redis,
                       settings: AppSettings) -> TokenOut:
    """Change your own password (the current one is required). Every other session of
    yours ends at once; this one continues with the sign-in in the answer."""
    tokens = profile.change_own_password(
        db, r, settings, user, current_password=body.current_password,
        new_password=body.new_password, client_ip=client_ip(request),
    )
    set_auth_cookies(response, settings, tokens)
    return _token_out(tokens)
