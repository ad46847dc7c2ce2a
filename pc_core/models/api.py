"""Request and response models: the documented HTTP contract (see /docs)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from pc_core.models.sync_tasks import Advice
from pc_core.models.users import UserOut
from pc_core.stages import Stage


class HealthOut(BaseModel):
    status: str
    mongo: str
    redis: str


class LoginIn(BaseModel):
    email: EmailStr
    password: str = Field(min_length=1, max_length=1024)


class RefreshIn(BaseModel):
    refresh_token: str | None = Field(default=None, max_length=512)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    refresh_token: str = Field(
        description="Also set as the HttpOnly pc_refresh cookie; scripts without cookies use this."
    )
    user: UserOut


class ImportError_(BaseModel):
    row: int = Field(description="CSV record number, counting the header as row 1.")
    error: str


class ImportResult(BaseModel):
    created: int
    updated: int
    errors: list[ImportError_]


class AuthorizeOut(BaseModel):
    url: str


class HubSpotStatusOut(BaseModel):
    connected: bool
    portal_id: str | None
    scopes: list[str]
    last_synced_at: datetime | None
    sync_status: Literal["ok", "failed", "needs_reconnect"] | None = Field(
        None, description="`failed` after a failed HubSpot run for the partner, until the "
        "next successful sync; `needs_reconnect` once HubSpot refused the refresh token "
        "(syncs stop until the partner reconnects); null when not connected.")
    last_sync_error: str | None = None
    last_sync_failed_at: datetime | None = None
    last_failed_job: str | None = None
    sync_failure: Advice | None = Field(
        None, description="While the sync is failed: what went wrong in words and the one "
        "action that helps (pc_core/hubspot/connection/failure_advice.py).")
    needs_reconnect: bool = Field(
        False, description="HubSpot refused the refresh token: the partner must reconnect.")
    needs_reconnect_since: datetime | None = None


class SyncQueuedOut(BaseModel):
    run_id: str | None = Field(description="The Dagster run id once launched; null while queued.")
    sync_task_id: str
    status: str


class StageMappingItem(BaseModel):
    pipeline_id: str
    pipeline_label: str | None = None
    stage_id: str
    stage_label: str | None = None
    canonical_stage: Stage | None
    suggested_stage: Stage | None = None


class StageMappingIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    pipeline_id: str = Field(min_length=1, max_length=100)
    stage_id: str = Field(min_length=1, max_length=100)
    canonical_stage: Stage | None
