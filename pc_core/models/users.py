"""Users: who signs in, with which role, on which partner. ``UserBase`` holds the
rules of what an admin or the owner may set; the answer never has the password."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from pc_core.access import Role
from pc_core.models.base import all_optional


class UserBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    password: str = Field(min_length=8, max_length=1024)
    name: str = Field(default="", max_length=200)
    role: Role = Role.USER
    partner_id: str | None = None


class UserCreate(UserBase):
    pass


UserUpdate = all_optional(
    UserBase, "UserUpdate",
    doc="An edit: only the fields sent change; a new password or a deactivation ends "
        "every session of the user.",
    active=(bool | None, None),
)


class UserOut(BaseModel):
    id: str
    email: str
    name: str
    role: Role
    partner_id: str | None
    active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> UserOut:
        return cls.model_validate({
            "id": doc["_id"],
            "email": doc["email"],
            "name": doc.get("name", ""),
            "role": doc["role"],
            "partner_id": doc.get("partner_id"),
            "active": doc.get("active", True),
            "created_at": doc["created_at"],
            "updated_at": doc.get("updated_at", doc["created_at"]),
        })


class ProfileUpdate(BaseModel):
    """What any signed-in user may change about itself without a manager."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=8, max_length=1024)
