"""API tokens: what a partner's script signs in with. ``ApiTokenIn`` holds the
rules; the answer never has the secret or its hash, except the token itself once,
in ``ApiTokenCreated``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pc_core.access import Role


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

    @classmethod
    def fields_of(cls, doc: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": doc["_id"],
            "name": doc["name"],
            "role": doc["role"],
            "partner_id": doc.get("partner_id"),
            "prefix": doc["prefix"],
            "created_by": doc.get("created_by"),
            "created_at": doc["created_at"],
            "last_used_at": doc.get("last_used_at"),
            "revoked_at": doc.get("revoked_at"),
            "active": doc.get("revoked_at") is None,
            "rate_limit_per_minute": doc.get("rate_limit_per_minute"),
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> ApiTokenOut:
        return cls.model_validate(cls.fields_of(doc))


class ApiTokenCreated(ApiTokenOut):
    token: str = Field(description="Send as X-API-Key. Shown this once; only its hash is kept")

    @classmethod
    def issued(cls, doc: dict[str, Any], token: str) -> ApiTokenCreated:
        return cls.model_validate({**cls.fields_of(doc), "token": token})
