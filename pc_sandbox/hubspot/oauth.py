"""HubSpot OAuth 2.0 for the one sandbox app: authorize (auto-approved), token, token info.

Paths match the SDK with ``host=".../hubspot"``: ``oauth.tokens_api.create`` posts to
``{host}/oauth/v1/token`` and ``access_tokens_api.get`` reads ``{host}/oauth/v1/access-tokens/{t}``.
The authorize page lives at ``/hubspot/oauth/authorize`` (HubSpot's is on app.hubspot.com, so
clients build that URL from settings, not from the SDK's ``get_auth_url``).
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from . import clock, config, errors, generator, persistence
from .routing import HubSpotRoute
from .state import AccessToken, AuthCode, Portal, RefreshToken, SandboxState, get_state

router = APIRouter(route_class=HubSpotRoute)

ACCESS_TTL_S = 1800
CODE_TTL_MS = 10 * 60 * 1000
#: size of the portal generated when every existing portal is already connected
AUTO_PORTAL = {"contacts": 200, "deals": 150, "pipelines": 2}


def _scopes(raw: str) -> list[str]:
    return [s for s in raw.replace("+", " ").replace(",", " ").split() if s]


def _pick_portal(state: SandboxState, portal_id: str | None) -> Portal:
    """The requested portal, else the first one nobody connected yet, else a new one."""
    if portal_id:
        try:
            portal = state.portals.get(int(portal_id))
        except ValueError:
            portal = None
        if portal is None:
            raise errors.api_error(400, f"Unknown portal_id {portal_id}", "VALIDATION_ERROR")
        return portal
    now = clock.now_ms()
    taken = state.oauth.connected_portals() | {
        c.portal_id for c in state.oauth.codes.values() if not c.used and c.expires_at > now}
    for pid in sorted(state.portals):
        if pid not in taken:
            return state.portals[pid]
    return generator.generate_portal(state, **AUTO_PORTAL)  # type: ignore[arg-type]


def _with_query(url: str, extra: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(extra.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


@router.get("/oauth/authorize")
async def authorize(request: Request) -> Response:
    """Auto-approve the install and redirect (302) to ``redirect_uri`` with code and state."""
    q = request.query_params
    if q.get("client_id") != config.client_id():
        raise errors.oauth_error("BAD_CLIENT_ID", "missing or invalid client_id")
    redirect_uri = q.get("redirect_uri") or ""
    if not redirect_uri.startswith(("http://", "https://")):
        raise errors.oauth_error("BAD_REDIRECT_URI", "missing or invalid redirect_uri")
    scopes = _scopes(q.get("scope") or "")
    optional = [s for s in _scopes(q.get("optional_scope") or "") if s in config.KNOWN_SCOPES]
    unknown = [s for s in scopes if s not in config.KNOWN_SCOPES]
    if unknown or not scopes:
        raise errors.oauth_error("BAD_SCOPES", f"invalid or missing scopes: {unknown or scopes}")
    state = get_state()
    portal = _pick_portal(state, q.get("portal_id"))
    request.state.hs_portal = portal.id
    code = str(uuid.uuid4())
    state.oauth.codes[code] = AuthCode(
        code=code, portal_id=portal.id, client_id=config.client_id(),
        redirect_uri=redirect_uri, scopes=sorted(set(scopes + optional)),
        expires_at=clock.now_ms() + CODE_TTL_MS)
    persistence.mark_dirty()
    extra = {"code": code}
    if q.get("state") is not None:
        extra["state"] = q.get("state") or ""
    return RedirectResponse(_with_query(redirect_uri, extra), status_code=302)


def _prune(state: SandboxState) -> None:
    """Forget long-expired access tokens and spent codes so a long demo does not grow."""
    if len(state.oauth.access) + len(state.oauth.codes) < 5000:
        return
    cutoff = clock.now_ms() - 24 * 3600 * 1000
    for key in [k for k, v in state.oauth.access.items() if v.expires_at < cutoff]:
        del state.oauth.access[key]
    for key in [k for k, v in state.oauth.codes.items() if v.used or v.expires_at < cutoff]:
        del state.oauth.codes[key]


def _issue_access(state: SandboxState, refresh: RefreshToken) -> dict[str, Any]:
    _prune(state)
    token = "CP" + secrets.token_urlsafe(120)
    state.oauth.access[token] = AccessToken(
        token=token, portal_id=refresh.portal_id, scopes=refresh.scopes, user=refresh.user,
        user_id=refresh.user_id, refresh_token=refresh.token,
        expires_at=clock.now_ms() + ACCESS_TTL_S * 1000)
    persistence.mark_dirty()
    return {"token_type": "bearer", "refresh_token": refresh.token, "access_token": token,
            "expires_in": ACCESS_TTL_S}


@router.post("/oauth/v1/token")
async def token(request: Request) -> dict[str, Any]:
    """Exchange a code or a refresh token (form-encoded), HubSpot's error codes on failure."""
    form = await request.form()
    grant = str(form.get("grant_type") or "")
    if form.get("client_id") != config.client_id():
        raise errors.oauth_error("BAD_CLIENT_ID", "missing or invalid client_id")
    if form.get("client_secret") != config.client_secret():
        raise errors.oauth_error("BAD_CLIENT_SECRET", "missing or invalid client_secret")
    state = get_state()
    if grant == "authorization_code":
        code = state.oauth.codes.get(str(form.get("code") or ""))
        if code is None or code.used:
            raise errors.oauth_error("BAD_AUTH_CODE", "missing or unknown auth code")
        if code.expires_at <= clock.now_ms():
            raise errors.oauth_error("BAD_AUTH_CODE", "auth code expired")
        if form.get("redirect_uri") != code.redirect_uri:
            raise errors.oauth_error("BAD_REDIRECT_URI", "redirect_uri does not match the "
                                     "redirect_uri of the authorization request")
        code.used = True
        request.state.hs_portal = code.portal_id
        refresh = RefreshToken(
            token=f"na1-{uuid.uuid4()}", portal_id=code.portal_id, client_id=code.client_id,
            scopes=code.scopes, user=f"demo-user@portal{code.portal_id}.example.com",
            user_id=code.portal_id % 1_000_000 + 1_000_000)
        state.oauth.refresh[refresh.token] = refresh
        return _issue_access(state, refresh)
    if grant == "refresh_token":
        refresh_token = state.oauth.refresh.get(str(form.get("refresh_token") or ""))
        if refresh_token is None or refresh_token.revoked:
            raise errors.oauth_error("BAD_REFRESH_TOKEN", "missing or invalid refresh token")
        request.state.hs_portal = refresh_token.portal_id
        return _issue_access(state, refresh_token)
    raise errors.oauth_error("UNSUPPORTED_GRANT_TYPE",
                             "grant_type must be authorization_code or refresh_token")


def _hub_domain(portal_id: int) -> str:
    return f"portal{portal_id}.example.com"


@router.get("/oauth/v1/access-tokens/{token}")
async def access_token_info(token: str, request: Request) -> dict[str, Any]:
    """Token metadata (``AccessTokenInfoResponse``); an expired token reports expires_in 0."""
    info = get_state().oauth.access.get(token)
    if info is None:
        raise errors.api_error(404, "Token not found", "OBJECT_NOT_FOUND")
    request.state.hs_portal = info.portal_id
    return {
        "token": token,
        "user": info.user,
        "hub_domain": _hub_domain(info.portal_id),
        "scopes": info.scopes,
        "hub_id": info.portal_id,
        "app_id": config.app_id(),
        "expires_in": max(0, (info.expires_at - clock.now_ms()) // 1000),
        "user_id": info.user_id,
        "token_type": "access",
    }


@router.get("/oauth/v1/refresh-tokens/{token}")
async def refresh_token_info(token: str) -> dict[str, Any]:
    """Refresh-token metadata (``RefreshTokenInfoResponse``)."""
    info = get_state().oauth.refresh.get(token)
    if info is None or info.revoked:
        raise errors.api_error(404, "Token not found", "OBJECT_NOT_FOUND")
    return {
        "token": token, "user": info.user, "hub_domain": _hub_domain(info.portal_id),
        "scopes": info.scopes, "hub_id": info.portal_id, "client_id": info.client_id,
        "user_id": info.user_id, "token_type": "refresh",
    }


@router.delete("/oauth/v1/refresh-tokens/{token}", status_code=204)
async def revoke_refresh_token(token: str) -> Response:
    """Revoke (what an uninstall does); its access tokens stop working too."""
    state = get_state()
    info = state.oauth.refresh.get(token)
    if info is None or info.revoked:
        raise errors.api_error(404, "Token not found", "OBJECT_NOT_FOUND")
    info.revoked = True
    now = clock.now_ms()
    for access in state.oauth.access.values():
        if access.refresh_token == token:
            access.expires_at = min(access.expires_at, now)
    persistence.mark_dirty()
    return Response(status_code=204)


def mint(state: SandboxState, portal_id: int, scopes: list[str] | None = None) -> dict[str, Any]:
    """Issue tokens without the browser dance (admin shortcut for tests and benchmarks)."""
    refresh = RefreshToken(
        token=f"na1-{uuid.uuid4()}", portal_id=portal_id, client_id=config.client_id(),
        scopes=scopes or list(config.KNOWN_SCOPES),
        user=f"demo-user@{_hub_domain(portal_id)}", user_id=portal_id % 1_000_000 + 1_000_000)
    state.oauth.refresh[refresh.token] = refresh
    return _issue_access(state, refresh)
