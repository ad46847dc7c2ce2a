"""The validated shape of a lead's editable fields.

One model serves the API's request bodies and each row of a CSV import, so a lead
is held to the same rules however it arrives.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from pc_core.stages import LeadStatus, Stage


class CompanySize(StrEnum):
    S1_10 = "1-10"
    S11_50 = "11-50"
    S51_200 = "51-200"
    S201_500 = "201-500"
    S501_1000 = "501-1000"
    S1000_PLUS = "1000+"


class LeadOrigin(StrEnum):
    """Which of a partner's leads a list shows: the ones it brought (``own``, also
    when sold on), the ones it bought on the marketplace (``purchased``), or both."""

    OWN = "own"
    PURCHASED = "purchased"
    ALL = "all"


Cents = Field(default=None, ge=0, le=10_000_000_000)


class LeadFields(BaseModel):
    """Fields a person may set on a lead."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=200)
    company: str | None = Field(default=None, max_length=200)
    contact_name: str | None = Field(default=None, max_length=200)
    contact_email: EmailStr | None = None
    contact_phone: str | None = Field(default=None, max_length=50)
    company_size: CompanySize | None = None
    industry: str | None = Field(default=None, max_length=100)
    location: str | None = Field(default=None, max_length=100)
    budget_cents: int | None = Cents
    amount_cents: int | None = Cents
    price_cents: int | None = Cents
    stage: Stage = Stage.NEW
    external_id: str | None = Field(default=None, max_length=100)

    @field_validator("contact_email", mode="before")
    @classmethod
    def _blank_email_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("contact_email", mode="after")
    @classmethod
    def _lower_email(cls, value: str | None) -> str | None:
        return value.lower() if value else value


class LeadCreate(LeadFields):
    partner_id: str | None = Field(
        default=None, description="Owner only: the partner the lead belongs to."
    )
    status: LeadStatus | None = Field(
        default=None, description="open, listed or archived; non_fit leads are listed."
    )


NOT_NULLABLE = ("title", "stage", "status")


class LeadUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str | None = Field(default=None, min_length=1, max_length=200)
    company: str | None = Field(default=None, max_length=200)
    contact_name: str | None = Field(default=None, max_length=200)
    contact_email: EmailStr | None = None
    contact_phone: str | None = Field(default=None, max_length=50)
    company_size: CompanySize | None = None
    industry: str | None = Field(default=None, max_length=100)
    location: str | None = Field(default=None, max_length=100)
    budget_cents: int | None = Cents
    amount_cents: int | None = Cents
    price_cents: int | None = Cents
    stage: Stage | None = None
    status: LeadStatus | None = None

    @model_validator(mode="after")
    def _required_fields_are_not_cleared(self) -> LeadUpdate:
        given = self.model_fields_set
        cleared = [f for f in NOT_NULLABLE if f in given and getattr(self, f) is None]
        if cleared:
            raise ValueError(f"{', '.join(cleared)} cannot be null")
        return self
