"""ChiliPiper meetings: the webhook, the owner's routing rules and preview, and the
operator's unassigned queue with manual assignment (pc_core/meetings/unassigned.py).

The webhook reads the raw body itself (the HMAC is over the exact bytes), answers
as soon as the lead is stored and assigned, and sends the partner's email and
real-time event afterwards (FastAPI background task), so ChiliPiper's wait does
not include Mailgun.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from pc_api.deps import AppSettings, Context, CurrentUser, Db
from pc_api.fast_json import ModelResponse
from pc_core.errors import PayloadTooLarge
from pc_core.meetings import agenda, auth, routing, unassigned, webhook
from pc_core.meetings.agenda import MeetingView
from pc_core.meetings.criteria import RoutingConfig
from pc_core.meetings.custom_webhook import parse_webhook
from pc_core.meetings.payload import FormAnswers
from pc_core.models.leads import CompanySize, LeadPage
from pc_core.models.meetings import AssignIn, AssignOut, UnassignedPage
from pc_core.store.pagination import MAX_LIMIT

router = APIRouter(tags=["meetings"])
MAX_BODY = 256 * 1024
_errors = {403: {"description": "Owner only"}, 404: {"description": "Not found"}}


class WebhookOut(BaseModel):
    status: str = Field(description="created, duplicate, rescheduled, cancelled or unchanged")
    meeting_id: str
    meeting_status: str
    lead_id: str | None
    partner_id: str | None
    unassigned: bool


class RoutingOut(RoutingConfig):
    model_config = ConfigDict(extra="ignore")
    partner_id: str
    active: bool
    month_count: int = Field(description="Leads routed to the partner this month")


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    meeting_type: str = Field(min_length=1, max_length=200)
    form: FormAnswers = Field(default_factory=FormAnswers)


class CandidateOut(BaseModel):
    partner_id: str
    name: str
    weight: int
    eligible: bool
    reasons: list[str]
    month_count: int
    monthly_cap: int | None


class NormalisedOut(BaseModel):
    meeting_type: str
    company_size: CompanySize | None
    budget_cents: int | None
    location: str | None
    industry: str | None


class PreviewOut(BaseModel):
    partner_id: str | None
    partner_name: str | None
    unassigned: bool
    reason: str
    normalised: NormalisedOut
    candidates: list[CandidateOut]


@router.post(
    "/v1/meetings/webhooks/chilipiper", response_model=WebhookOut,
    responses={400: {"description": "Body not UTF-8 JSON, or not an object"},
               401: {"description": "Bad or missing secret / signature"},
               413: {"description": "Body over 256 KB"},
               422: {"description": "Not a ChiliPiper meeting payload"}},
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"type": "object", "description": "ChiliPiper's Custom Webhook body "
                   "(type, meetingIdChili, meetingStartTime, meetingTypeName, "
                   "primaryGuestDataFields, ...) or the earlier shape (event, meetingId, "
                   "meetingType, startTime, assignee, form); see README"}}}}},
)
async def chilipiper_webhook(
    request: Request,
    background: BackgroundTasks,
    ctx: Context,
    x_pc_webhook_secret: Annotated[str | None, Header()] = None,
    x_pc_signature: Annotated[str | None, Header()] = None,
    token: Annotated[str | None, Query(
        alias=auth.TOKEN_PARAM, description="The shared secret, for ChiliPiper's Custom "
        "Webhooks (configured with a URL only); never logged")] = None,
) -> dict:
    """A meeting booked, rescheduled or cancelled in ChiliPiper; idempotent on its id."""
    body = await request.body()
    if len(body) > MAX_BODY:
        raise PayloadTooLarge("webhook body over 256 KB")
    auth.verify(ctx.settings, body, x_pc_webhook_secret, x_pc_signature, token)
    try:
        # 400: not UTF-8 JSON, or not an object; 422 naming a missing field
        payload = parse_webhook(body, ctx.settings)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_context=False))
    outcome = await run_in_threadpool(webhook.handle, ctx.db, ctx.settings, payload)
    if outcome.after:
        background.add_task(webhook.run_after, outcome)
    return outcome.answer()


@router.get("/v1/partners/{partner_id}/routing", response_model=RoutingOut, responses=_errors)
def get_routing(partner_id: str, actor: CurrentUser, db: Db) -> dict:
    """A partner's ChiliPiper routing rules (its own users may read them)."""
    return routing.get_routing(db, actor, partner_id)


@router.put("/v1/partners/{partner_id}/routing", response_model=RoutingOut, responses=_errors)
def put_routing(partner_id: str, body: RoutingConfig, actor: CurrentUser, db: Db) -> dict:
    """Owner only: meeting types, criteria, weight and monthly cap, replaced whole."""
    return routing.put_routing(db, actor, partner_id, body)


@router.post("/v1/meetings/routing/preview", response_model=PreviewOut, responses=_errors)
def preview(body: PreviewIn, actor: CurrentUser, db: Db) -> dict:
    """Owner only: which partner would get this form now, and why. Creates nothing
    and does not advance the round-robin."""
    return routing.explain(db, actor, body.meeting_type, body.form)


@router.get("/v1/meetings/agenda", response_model=LeadPage, responses=_errors)
def meeting_agenda(
    actor: CurrentUser,
    db: Db,
    view: MeetingView = MeetingView.UPCOMING,
    partner_id: Annotated[str | None, Query(description="Owner only")] = None,
    meeting_type: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> ModelResponse:
    """The partner's leads with a meeting: ``upcoming`` (soonest first), ``past``,
    ``no_show`` (past, and the lead still at "meeting scheduled") or ``cancelled``."""
    return ModelResponse(agenda.list_meetings(db, actor, view=view, partner_id=partner_id,
                                              meeting_type=meeting_type, limit=limit))


@router.get("/v1/meetings/unassigned", response_model=UnassignedPage, responses=_errors)
def unassigned_queue(
    actor: CurrentUser,
    db: Db,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: str | None = None,
) -> ModelResponse:
    """Owner only: booked meetings no partner's rules matched (open leads on the
    operator partner), newest first, with the answers routing decides on."""
    return ModelResponse(unassigned.queue_page(db, actor, limit=limit, cursor=cursor))


@router.post(
    "/v1/meetings/unassigned/{lead_id}/assign", response_model=AssignOut,
    responses={**_errors, 409: {"description": "Assigned to another partner already, the "
                                "lead is not open, the partner is inactive or at its "
                                "monthly cap (without override_cap)"}},
)
def assign_unassigned(lead_id: str, body: AssignIn, actor: CurrentUser, db: Db,
                      settings: AppSettings, background: BackgroundTasks) -> AssignOut:
    """Owner only: give the booking to a partner. Counted against the partner's
    monthly cap like automatic routing (a partner at its cap is a 409 unless
    ``override_cap``, which assigns and counts it anyway); the partner gets the
    lead-assigned email and event after the answer. Asking again for the same
    partner answers ``unchanged``."""
    done = unassigned.assign(db, settings, actor, lead_id, body)
    if done.after:
        background.add_task(webhook.run_jobs, done.after)
    return done.answer
