"""API tokens (api.md "Meetings, billing, public API"): create (shown once), list,
revoke. People manage tokens with their session; tokens cannot manage tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from pc_api.deps import CurrentUser, Db
from pc_core import api_tokens as service
from pc_core.access import Role

router = APIRouter(prefix="/v1/api-tokens", tags=["api tokens"])
_errors = {403: {"description": "Role not allowed"}, 404: {"description": "Not found"}}


class ApiTokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=100)
    role: Role = Role.USER
    partner_id: str | None = Field(default=None, description="Owner only")
    rate_limit_per_minute: int | None = Field(
        default=None, ge=1, le=100_000, description="Owner only; default PC_API_TOKEN_RATE_LIMIT")


class ApiTokenOut(BaseModel):
    id: str
    name: str
    role: Role
    partner_id: str | None
    prefix: str = Field(description="The token's first characters, to recognise it")
    created_by: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    active: bool
    rate_limit_per_minute: int | None


class ApiTokenCreated(ApiTokenOut):
    token: str = Field(description="Send as X-API-Key. Shown this once; only its hash is kept")


@router.post("", response_model=ApiTokenCreated, status_code=status.HTTP_201_CREATED,
             responses=_errors)
def create_token(body: ApiTokenIn, actor: CurrentUser, db: Db) -> dict:
    limit = body.rate_limit_per_minute if actor.is_owner else None
    return service.create_token(db, actor, name=body.name, role=body.role,
                                partner_id=body.partner_id, rate_limit_per_minute=limit)


@router.get("", response_model=list[ApiTokenOut], responses=_errors)
def list_tokens(
    actor: CurrentUser, db: Db,
    partner_id: Annotated[str | None, Query(description="Owner only")] = None,
) -> list[dict]:
    return service.list_tokens(db, actor, partner_id)


@router.delete("/{token_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_errors)
def revoke_token(token_id: str, actor: CurrentUser, db: Db) -> Response:
    service.revoke_token(db, actor, token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
