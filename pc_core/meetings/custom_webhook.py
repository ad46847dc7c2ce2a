"""ChiliPiper's Custom Webhook body → the meeting event the platform handles.

ChiliPiper (help center: "Custom Webhook Configuration") posts one flat JSON object
per New Meeting / Meeting Update / Canceled Meeting webhook: ``type`` (``Created``,
``Updated``, ``Canceled``...), ``meetingIdChili``, ``meetingTitle``,
``meetingStartTime`` / ``meetingEndTime`` (ISO 8601), ``meetingTypeName``,
``meetingTypeIdChili``, host / assignee / booker e-mails and names,
``primaryGuestEmail``, ``primaryGuestTimeZone``, ``primaryGuestDataFields`` (the
router's form fields by their configured names), ``additionalGuests``,
``workspaceName``, ``productFeatureType``, ``distributionName``... Unknown fields are
ignored; ChiliPiper adds fields without notice.

``parse_webhook`` takes the raw body and accepts that shape and the platform's
earlier one (``meetingId``/``meetingType``/``startTime``/``form``, see
``payload.ChiliPiperPayload``). A body missing what routing needs (the meeting id,
its type, its start) is refused with a pydantic ``ValidationError`` whose ``loc``
is ChiliPiper's own field name, before anything is stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pc_core.meetings.payload import (
    MAX_INT,
    Assignee,
    ChiliPiperPayload,
    FormAnswers,
    decode_object,
)
from pc_core.settings import Settings
from pc_core.settings.form_fields import field_key

# Any of these at the top level means the body is ChiliPiper's Custom Webhook shape.
MARKERS = ("meetingIdChili", "meetingTypeName", "meetingStartTime", "primaryGuestDataFields")
# Kept on the meeting document (``details``) as ChiliPiper sent them.
DETAIL_FIELDS = (
    "type", "meetingTitle", "meetingDescription", "meetingLocation", "meetingTypeIdChili",
    "hostEmail", "hostFullName", "hostIdChili", "assigneeEmail", "assigneeFullName",
    "assigneeIdChili", "primaryGuestEmail", "primaryGuestTimeZone", "bookerEmail",
    "bookerName", "workspaceName", "productFeatureType", "productFeatureName",
    "distributionName", "additionalGuests", "primaryGuestDataFields",
)


class CustomWebhookBody(BaseModel):
    """The fields of ChiliPiper's documented body the platform reads (names as sent)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    type: str | None = None
    meetingIdChili: str = Field(min_length=1, max_length=200)  # noqa: N815 - ChiliPiper's
    meetingStartTime: datetime  # noqa: N815
    meetingEndTime: datetime | None = None  # noqa: N815
    meetingTypeName: str | None = Field(default=None, max_length=200)  # noqa: N815
    meetingTypeIdChili: str | None = Field(default=None, max_length=200)  # noqa: N815
    assigneeEmail: str | None = None  # noqa: N815
    assigneeFullName: str | None = None  # noqa: N815
    assigneeIdChili: str | None = None  # noqa: N815
    primaryGuestEmail: str | None = None  # noqa: N815
    primaryGuestDataFields: dict[str, Any] | list[Any] | None = None  # noqa: N815


def _missing(field: str, data: Any) -> ValidationError:
    return ValidationError.from_exception_data(
        "ChiliPiperCustomWebhook", [{"type": "missing", "loc": (field,), "input": data}])


def _text(value: Any) -> str | None:
    """A form answer as text: lists (multi-selects) joined, blanks → None."""
    if value is None or isinstance(value, dict):
        return None
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value if v not in (None, ""))
    text = str(value).strip()
    return text or None


def data_fields(raw: dict[str, Any] | list[Any] | None) -> dict[str, str]:
    """``primaryGuestDataFields`` as {compared name: answer}. ChiliPiper sends the form
    fields by name; a list of ``{name|fieldName|label|key, value|answer}`` entries is
    read the same way."""
    pairs: list[tuple[Any, Any]] = []
    if isinstance(raw, dict):
        pairs = list(raw.items())
    elif isinstance(raw, list):
        for entry in raw:
            if isinstance(entry, dict):
                name = next((entry[k] for k in ("name", "fieldName", "label", "key", "id")
                             if entry.get(k)), None)
                value = next((entry[k] for k in ("value", "answer", "values")
                              if k in entry), None)
                pairs.append((name, value))
    out: dict[str, str] = {}
    for name, value in pairs:
        text = _text(value)
        if isinstance(name, str) and text is not None:
            out.setdefault(field_key(name), text)
    return out


def form_answers(fields: dict[str, str], mapping: dict[str, list[str]],
                 guest_email: str | None) -> FormAnswers:
    """The booker's answers for routing and the lead, through the configured mapping."""
    def pick(criterion: str) -> str | None:
        return next((fields[field_key(n)] for n in mapping.get(criterion, [])
                     if field_key(n) in fields), None)

    name = pick("name") or " ".join(p for p in (pick("first_name"), pick("last_name")) if p)
    return FormAnswers(
        name=name or None, email=pick("email") or guest_email, phone=pick("phone"),
        company=pick("company"), company_size=pick("company_size"), budget=pick("budget"),
        location=pick("location"), industry=pick("industry"),
    )


def _storable(value: Any, depth: int = 0) -> Any:
    """A value ChiliPiper sent, made safe to store as given: no field names MongoDB
    refuses ($-prefixed, dotted), no integers past 64 bits, bounded size."""
    if isinstance(value, dict) and depth < 4:
        return {k: _storable(v, depth + 1) for k, v in list(value.items())[:100]
                if isinstance(k, str) and k and not k.startswith("$") and "." not in k}
    if isinstance(value, list) and depth < 4:
        return [_storable(v, depth + 1) for v in value[:100]]
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        return value if abs(value) <= MAX_INT else str(value)
    return str(value)[:2000]


def _details(data: dict[str, Any]) -> dict[str, Any]:
    out = {k: _storable(data[k]) for k in DETAIL_FIELDS if data.get(k) not in (None, "")}
    raw = data.get("primaryGuestDataFields")
    if isinstance(raw, dict):  # field names are the operator's: kept as values, not keys
        out["primaryGuestDataFields"] = [{"name": str(k)[:200], "value": _storable(v)}
                                         for k, v in list(raw.items())[:200]]
    return out


def from_custom_webhook(data: dict[str, Any], settings: Settings) -> ChiliPiperPayload:
    """ChiliPiper's body → ``ChiliPiperPayload``; ``ValidationError`` naming the
    ChiliPiper field when the meeting id, start or type is missing or malformed."""
    body = CustomWebhookBody.model_validate(data)
    meeting_type = body.meetingTypeName or body.meetingTypeIdChili
    if not meeting_type:
        raise _missing("meetingTypeName", data)
    assignee = None
    if body.assigneeEmail or body.assigneeFullName or body.assigneeIdChili:
        assignee = Assignee(id=body.assigneeIdChili, name=body.assigneeFullName,
                            email=body.assigneeEmail)
    fields = data_fields(body.primaryGuestDataFields)
    return ChiliPiperPayload.model_validate({
        "event": body.type or "Created",
        "meeting_id": body.meetingIdChili,
        "meeting_type": meeting_type,
        "start_time": body.meetingStartTime,
        "end_time": body.meetingEndTime,
        "assignee": assignee,
        "form": form_answers(fields, settings.chilipiper_form_fields, body.primaryGuestEmail),
        "pc_details": _details(data),
    })


def parse_webhook(body: bytes, settings: Settings) -> ChiliPiperPayload:
    """The raw webhook body in either shape → ``ChiliPiperPayload``.

    ``BadRequest`` for a body that is not UTF-8 JSON or not an object
    (``payload.decode_object``); ``ValidationError`` (the route answers 422) for a
    missing or malformed field, which the error's ``loc`` names.
    """
    data = decode_object(body)
    if any(marker in data for marker in MARKERS):
        return from_custom_webhook(data, settings)
    return ChiliPiperPayload.model_validate(data)
