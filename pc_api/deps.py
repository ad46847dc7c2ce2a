"""Request dependencies: the app context, the database, and the signed-in caller.

Dependencies that do no I/O are ``async def``: FastAPI runs each sync dependency in
the thread pool, and those hops were most of a list request's own time.

Routes declare what they need with ``Annotated`` aliases (``Db``, ``CurrentUser``),
as in full-stack-fastapi-template.
"""

from __future__ import annotations

from typing import Annotated

import redis
from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pymongo.database import Database
from starlette.concurrency import run_in_threadpool

from pc_api.context import AppContext
from pc_core import collections as c
from pc_core.access import Principal
from pc_core.errors import Unauthorized
from pc_core.identity import session_cache, session_state
from pc_core.marketplace.listings import ListingFilters
from pc_core.models.leads import CompanySize
from pc_core.money import MAX_CENTS
from pc_core.observability import context as log_context
from pc_core.security.jwt_tokens import decode_access_token
from pc_core.settings import Settings
from pc_core.stages import Stage

ACCESS_COOKIE = "pc_access"
REFRESH_COOKIE = "pc_refresh"

_bearer = HTTPBearer(auto_error=False, description="Access token from /v1/auth/login")


async def get_context(request: Request) -> AppContext:
    return request.app.state.pc


async def get_db(ctx: Annotated[AppContext, Depends(get_context)]) -> Database:
    return ctx.db


async def get_redis(ctx: Annotated[AppContext, Depends(get_context)]) -> redis.Redis:
    return ctx.redis


async def get_settings(ctx: Annotated[AppContext, Depends(get_context)]) -> Settings:
    return ctx.settings


Context = Annotated[AppContext, Depends(get_context)]
Db = Annotated[Database, Depends(get_db)]
Redis = Annotated[redis.Redis, Depends(get_redis)]
AppSettings = Annotated[Settings, Depends(get_settings)]


def _access_token(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str:
    token = credentials.credentials if credentials else request.cookies.get(ACCESS_COOKIE)
    if not token:
        raise Unauthorized("not signed in")
    return token


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller of every protected route, by the one session rule
    (``pc_core.identity.session_cache.caller``, which Socket.IO applies too): its access
    token checked against the sign-in state published in Redis
    (``pc_core.identity.session_state``), kept by this process until any process announces
    a change. No database read, mostly no Redis read, and no worker thread unless
    the state must be loaded. A role change, deactivation, password change or
    "sign out everywhere" shows in that state at once, on every replica.

    Reads the context straight from the app rather than through the ``Db`` and
    ``AppSettings`` dependencies: every protected request resolves this, and each
    extra sub-dependency is measurable overhead on hot list routes.
    """
    ctx: AppContext = request.app.state.pc
    claims = decode_access_token(ctx.settings, _access_token(request, credentials))
    principal = session_cache.caller_if_known(ctx.redis, claims.user_id, claims.version)
    if principal is None:
        principal = await run_in_threadpool(session_cache.caller, ctx.db, ctx.redis,
                                            claims.user_id, claims.version)
    log_context.bind_principal(principal.user_id, principal.partner_id)
    return principal


def get_current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> dict:
    """The caller's user document, for the routes about the caller itself (``/me``,
    ``logout-all``): the same session rule as ``get_principal``, applied to the
    document just read rather than to the published state, which this then
    refreshes."""
    ctx: AppContext = request.app.state.pc
    claims = decode_access_token(ctx.settings, _access_token(request, credentials))
    user = ctx.db[c.USERS].find_one({"_id": claims.user_id})
    state = session_state.UserState.of(user) if user else session_state.UserState.gone(
        claims.user_id)
    principal = state.principal(claims.version)
    session_state.publish(ctx.redis, state)
    log_context.bind_principal(principal.user_id, principal.partner_id)
    return user


CurrentUserDoc = Annotated[dict, Depends(get_current_user)]
CurrentUser = Annotated[Principal, Depends(get_principal)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def listing_filters(
    industry: Annotated[str | None, Query(max_length=100)] = None,
    company_size: CompanySize | None = None,
    location: Annotated[str | None, Query(max_length=100)] = None,
    budget_min: Annotated[int | None, Query(ge=0, le=MAX_CENTS, description="cents")] = None,
    price_max: Annotated[int | None, Query(ge=0, le=MAX_CENTS, description="cents")] = None,
    stage: Stage | None = None,
    max_age_days: Annotated[int | None, Query(
        ge=0, le=3650, description="listed at most this many whole days ago")] = None,
) -> ListingFilters:
    """The marketplace filters, shared by the session and the public listings routes
    (the same as a saved search's criteria)."""
    return ListingFilters(
        industry=industry, company_size=company_size.value if company_size else None,
        location=location, budget_min=budget_min, price_max=price_max,
        stage=stage.value if stage else None, max_age_days=max_age_days,
    )


ListingQuery = Annotated[ListingFilters, Depends(listing_filters)]
