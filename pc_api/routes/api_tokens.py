"""API tokens (api.md "Meetings, billing, public API"): create (shown once), list,
revoke. People manage tokens with their session; tokens cannot manage tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from pc_api.deps import CurrentUser, Db, Redis
from pc_core.identity import api_tokens as service
from pc_core.models.api_tokens import ApiTokenCreated, ApiTokenIn, ApiTokenOut

router = APIRouter(prefix="/v1/api-tokens", tags=["api tokens"])
_errors = {403: {"description": "Role not allowed"}, 404: {"description": "Not found"}}


@router.post("", response_model=ApiTokenCreated, status_code=status.HTTP_201_CREATED,
             responses=_errors)
def create_token(body: ApiTokenIn, actor: CurrentUser, db: Db) -> ApiTokenCreated:
    limit = body.rate_limit_per_minute if actor.is_owner else None
    return service.create_token(db, actor, name=body.name, role=body.role,
                                partner_id=body.partner_id, rate_limit_per_minute=limit)


@router.get("", response_model=list[ApiTokenOut], responses=_errors)
def list_tokens(
    actor: CurrentUser, db: Db,
    partner_id: Annotated[str | None, Query(description="Owner only")] = None,
) -> list[ApiTokenOut]:
    return service.list_tokens(db, actor, partner_id)


@router.delete("/{token_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_errors)
def revoke_token(token_id: str, actor: CurrentUser, db: Db, r: Redis) -> Response:
    service.revoke_token(db, actor, token_id, r)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
