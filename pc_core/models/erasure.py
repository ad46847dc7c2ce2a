"""A contact's erasure (issue 18): the request, what was removed, and the proof."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field


class ErasureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr = Field(description="The contact's e-mail (matched case-insensitively)")
    partner_id: str | None = Field(
        None, description="The owner only: erase from this partner's leads alone; "
                          "default every partner's. An admin always erases its own.")


class ErasureCheckOut(BaseModel):
    """The data-quality check run right after the erasure: where a trace is left."""

    passed: bool
    traces: dict[str, int] = Field(description="Place → matching records; empty when passed")


class ErasureOut(BaseModel):
    id: str = Field(description="The audit record's id")
    at: datetime
    removed: dict[str, int]
    check: ErasureCheckOut


class ErasureAuditOut(BaseModel):
    """Who erased, when and how many; the e-mail and the data are not kept."""

    id: str
    at: datetime
    actor_user_id: str
    actor_role: str
    partner_id: str | None
    removed: dict[str, int]
    check_passed: bool
