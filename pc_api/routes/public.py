"""The public API for partners' scripts: ``X-API-Key`` instead of a session.

Each route calls the same service as its session twin with the token's
``Principal``, so scoping and role rules are the ones people get; only the
authentication (and the per-token rate limit, 429 + ``Retry-After``) differs.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Security, status
from fastapi.security import APIKeyHeader
from starlette.concurrency import run_in_threadpool

from pc_api.deps import AppSettings, Context, Db, ListingQuery
from pc_api.fast_json import ModelResponse
from pc_core.access import Principal
from pc_core.identity import api_tokens
from pc_core.leads import inventory as leads_service
from pc_core.marketplace import listings
from pc_core.models.leads import LeadCreate, LeadOrigin, LeadOut, LeadPage
from pc_core.models.marketplace import ListingPage
from pc_core.stages import LeadStatus, Stage
from pc_core.store.pagination import MAX_LIMIT

_api_key = APIKeyHeader(name="X-API-Key", auto_error=False,
                        description="An API token from POST /v1/api-tokens")


async def get_api_principal(
    ctx: Context, api_key: Annotated[str | None, Security(_api_key)]
) -> Principal:
    return await run_in_threadpool(api_tokens.authenticate, ctx.db, ctx.redis, ctx.settings,
                                   api_key)


ApiCaller = Annotated[Principal, Depends(get_api_principal)]
router = APIRouter(prefix="/v1/public", tags=["public api"], responses={
    401: {"description": "Missing, invalid or revoked API key"},
    429: {"description": "Rate limit; see Retry-After"},
})


@router.get("/leads", response_model=LeadPage)
def list_leads(
    actor: ApiCaller,
    db: Db,
    status_: Annotated[LeadStatus | None, Query(alias="status")] = None,
    stage: Stage | None = None,
    origin: LeadOrigin = LeadOrigin.OWN,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: str | None = None,
) -> ModelResponse:
    """The token's partner's leads, newest first (the owner's token: all);
    ``origin`` as on ``GET /v1/leads``."""
    return ModelResponse(leads_service.list_leads(
        db, actor, status=status_, stage=stage, origin=origin, limit=limit, cursor=cursor))


@router.post("/leads", response_model=LeadOut, status_code=status.HTTP_201_CREATED,
             responses={403: {"description": "Read-only token"}})
def create_lead(body: LeadCreate, actor: ApiCaller, db: Db, settings: AppSettings) -> LeadOut:
    """A lead on the token's partner, ``source: api``; needs an admin (or owner) token."""
    return leads_service.create_lead(db, actor, body, source="api", settings=settings)


@router.get("/marketplace/listings", response_model=ListingPage)
def list_listings(
    actor: ApiCaller,
    db: Db,
    settings: AppSettings,
    filters: ListingQuery,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: str | None = None,
) -> ModelResponse:
    """Marketplace listings as on ``GET /v1/marketplace/listings`` (no personal data)."""
    return ModelResponse(listings.list_listings(db, settings, actor, filters, limit=limit,
                                                cursor=cursor))
