"""What ChiliPiper sends: the meeting (id, type, start, assignee) and the booker's
form answers. Unknown fields are ignored (ChiliPiper adds fields without notice);
both camelCase and snake_case names are accepted, since the custom webhook body is
whatever the operator configured in ChiliPiper.

Form answers arrive as people typed or picked them ("$5,000+", "201-500", 250), so
budget and company size are normalised here into the lead's vocabulary (cents and
``CompanySize`` buckets); the raw answers are kept on the meeting.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from pc_core.errors import BadRequest
from pc_core.models.leads import CompanySize
from pc_core.timeutil import ensure_utc

#: Integers past this do not fit MongoDB's 64-bit integers; such answers are kept as text.
MAX_INT = 2**63 - 1


class MeetingEvent(StrEnum):
    BOOKED = "booked"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"


def _alias(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, str_strip_whitespace=True)


class Assignee(_Lenient):
    id: str | None = None
    name: str | None = None
    email: str | None = None


class FormAnswers(_Lenient):
    """No length limits here: an over-long answer is cut when the lead is built,
    rather than refusing the webhook and losing the meeting."""

    name: str | None = Field(default=None,
                             validation_alias=_alias("name", "full_name", "fullName"))
    email: str | None = None
    phone: str | None = None
    company: str | None = Field(
        default=None, validation_alias=_alias("company", "company_name", "companyName"))
    company_size: str | int | None = Field(
        default=None, validation_alias=_alias("company_size", "companySize", "employees"))
    budget: str | float | int | None = None
    location: str | None = Field(default=None,
                                 validation_alias=_alias("location", "country"))
    industry: str | None = None

    @field_validator("company_size", "budget", mode="before")
    @classmethod
    def _huge_numbers_as_text(cls, value: Any) -> Any:
        """An answer like 10**30 is kept (as text: the meeting is stored with it)."""
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            return str(value)
        return value


class ChiliPiperPayload(_Lenient):
    event: MeetingEvent = Field(default=MeetingEvent.BOOKED,
                                validation_alias=_alias("event", "event_type", "eventType"))
    meeting_id: str = Field(min_length=1, max_length=200,
                            validation_alias=_alias("meeting_id", "meetingId"))
    meeting_type: str = Field(min_length=1, max_length=200,
                              validation_alias=_alias("meeting_type", "meetingType"))
    start_time: datetime = Field(validation_alias=_alias("start_time", "startTime", "start"))
    end_time: datetime | None = Field(default=None,
                                      validation_alias=_alias("end_time", "endTime", "end"))
    assignee: Assignee | None = None
    form: FormAnswers = Field(default_factory=FormAnswers,
                              validation_alias=_alias("form", "form_answers", "formAnswers",
                                                      "answers", "booker"))
    # What else ChiliPiper said about the meeting (title, host, workspace, router, the
    # raw form fields...), kept on the meeting document for people, never routed on.
    details: dict[str, Any] = Field(default_factory=dict,
                                    validation_alias=_alias("pc_details"))

    @field_validator("start_time", "end_time")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        """In UTC, as stored; a time with no UTC equivalent (0001-01-01T00:00+14:00)
        is refused here rather than crashing when it is stored."""
        if value is None:
            return None
        try:
            return ensure_utc(value)
        except OverflowError:
            raise ValueError("date out of range in UTC")

    @field_validator("event", mode="before")
    @classmethod
    def _event_name(cls, value: Any) -> Any:
        """``meeting.booked``, ``Created``, ``MeetingRescheduled``, ``Updated``,
        ``canceled``, ``Deleted``... → our three. An update of a meeting (ChiliPiper's
        Meeting Update: rescheduled or reassigned) is a reschedule; one that leaves the
        time as it was changes nothing here."""
        if not isinstance(value, str):
            return value
        text = value.lower()
        if "cancel" in text or "delet" in text:
            return MeetingEvent.CANCELLED
        if "resched" in text or "updat" in text or "reassign" in text:
            return MeetingEvent.RESCHEDULED
        return MeetingEvent.BOOKED


def parse_payload(body: bytes) -> ChiliPiperPayload:
    """The payload from the raw body. ``BadRequest`` (naming the problem) for a body
    that is not UTF-8 JSON or not an object; pydantic's ``ValidationError`` for an
    object that is not a meeting (the route answers 422 with its details)."""
    return ChiliPiperPayload.model_validate(decode_object(body))


def decode_object(body: bytes) -> dict[str, Any]:
    """The raw body as a JSON object; ``BadRequest`` naming what is wrong otherwise."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"body is not valid UTF-8 (byte {exc.start})")
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise BadRequest("body is not valid JSON")
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object (a ChiliPiper meeting event)")
    return data


_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?\s*[kKmM]?")


def _first_number(text: str) -> float | None:
    match = _NUMBER.search(text)
    if not match:
        return None
    token = match.group(0).replace(",", "").replace(" ", "")
    factor = 1
    if token[-1] in "kK":
        factor, token = 1_000, token[:-1]
    elif token[-1] in "mM":
        factor, token = 1_000_000, token[:-1]
    return float(token) * factor


def budget_cents(value: str | float | int | None) -> int | None:
    """Dollars as answered ("$5,000+", "5k-10k", 7500) → cents of the lower bound."""
    if value is None or isinstance(value, bool):
        return None
    amount = float(value) if isinstance(value, int | float) else _first_number(value)
    if amount is None or amount < 0:
        return None
    cents = amount * 100
    return 10_000_000_000 if cents >= 10_000_000_000 else int(round(cents))


_BUCKETS = ((10, CompanySize.S1_10), (50, CompanySize.S11_50), (200, CompanySize.S51_200),
            (500, CompanySize.S201_500), (1000, CompanySize.S501_1000))


def company_size(value: str | int | None) -> CompanySize | None:
    """"201-500" stays; 250 or "250 employees" → its bucket; "1000+" / "5000" → 1000+."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        try:
            return CompanySize(text)
        except ValueError:
            pass
        number = _first_number(text)
        if number is None:
            return None
        if text.endswith("+") and number >= 1000:
            return CompanySize.S1000_PLUS
    else:
        number = float(value)
    for upper, bucket in _BUCKETS:
        if number <= upper:
            return bucket
    return CompanySize.S1000_PLUS
