"""The lead inventory: list, create, edit, notes, CSV import."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, Header, Query, Response, UploadFile, status
from starlette.concurrency import run_in_threadpool

from pc_api.conditional import revisions_matching, set_etag
from pc_api.deps import AppSettings, CurrentUser, Db
from pc_api.fast_json import ModelResponse
from pc_core.errors import PayloadTooLarge
from pc_core.leads import inventory as service
from pc_core.leads.csv_import import import_leads_csv
from pc_core.leads.seller_quote import QuoteOut, seller_quote
from pc_core.models.api import ImportResult
from pc_core.models.leads import (
    LeadChanged,
    LeadCreate,
    LeadOrigin,
    LeadOut,
    LeadPage,
    LeadUpdate,
    NoteIn,
    NoteOut,
)
from pc_core.stages import LeadStatus, Stage
from pc_core.store.pagination import MAX_LIMIT

router = APIRouter(prefix="/v1/leads", tags=["leads"])
_errors = {
    403: {"description": "Role not allowed"},
    404: {"description": "Not found"},
    409: {"description": "The lead changed or is reserved/sold"},
}
_READ_CHUNK = 1024 * 1024


@router.get("", response_model=LeadPage)
def list_leads(
    actor: CurrentUser,
    db: Db,
    status_: Annotated[LeadStatus | None, Query(alias="status")] = None,
    stage: Stage | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    partner_id: Annotated[str | None, Query(description="Owner only")] = None,
    origin: Annotated[LeadOrigin, Query(
        description="own (default): the partner's leads; purchased: the leads it bought; "
        "all: both")] = LeadOrigin.OWN,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: str | None = None,
) -> ModelResponse:
    return ModelResponse(service.list_leads(
        db, actor, status=status_, stage=stage, q=q, created_from=created_from,
        created_to=created_to, partner_id=partner_id, origin=origin, limit=limit,
        cursor=cursor,
    ))


@router.post("", response_model=LeadOut, status_code=status.HTTP_201_CREATED, responses=_errors)
def create_lead(body: LeadCreate, actor: CurrentUser, db: Db, settings: AppSettings) -> LeadOut:
    return service.create_lead(db, actor, body, settings=settings)


@router.post(
    "/import",
    response_model=ImportResult,
    responses={**_errors, 400: {"description": "Empty file or wrong header"},
               413: {"description": "File or row count over the limit"}},
)
async def import_leads(
    actor: CurrentUser,
    db: Db,
    settings: AppSettings,
    file: Annotated[UploadFile, File(description="CSV with a header row; see README")],
    partner_id: Annotated[str | None, Form(description="Owner only")] = None,
) -> dict:
    target = await run_in_threadpool(service.target_partner, db, actor, partner_id)
    content = bytearray()
    while chunk := await file.read(_READ_CHUNK):
        content.extend(chunk)
        if len(content) > settings.import_max_bytes:
            raise PayloadTooLarge(
                f"file too large: the limit is {settings.import_max_bytes // (1024 * 1024)} MB"
            )
    report = await run_in_threadpool(
        import_leads_csv, db, target, bytes(content), created_by=actor.user_id,
        max_rows=settings.import_max_rows, settings=settings,
    )
    return {"created": report.created, "updated": report.updated, "errors": report.errors}


_etag_header = {"ETag": {"description": "The lead's revision (a strong validator): send it "
                          "back as If-Match to edit only that version",
                          "schema": {"type": "string"}}}


@router.get("/{lead_id}", response_model=LeadOut, responses={
    **_errors, 200: {"description": "The lead", "headers": _etag_header}})
def get_lead(lead_id: str, actor: CurrentUser, db: Db, response: Response) -> LeadOut:
    """The seller's or the buyer's view of one lead; anyone else gets 404. The
    ``ETag`` names the version shown."""
    lead = service.get_lead(db, actor, lead_id)
    set_etag(response, lead.revision)
    return lead


@router.patch("/{lead_id}", response_model=LeadOut, responses={
    **_errors, 200: {"description": "The lead as saved", "headers": _etag_header},
    412: {"model": LeadChanged, "headers": _etag_header,
          "description": "If-Match names a version the lead is no longer at: nothing was "
                         "saved; the body holds the current lead"}})
def update_lead(
    lead_id: str, body: LeadUpdate, actor: CurrentUser, db: Db, settings: AppSettings,
    response: Response,
    if_match: Annotated[str | None, Header(
        description="The ETag of the version this edit was made on (from GET); a "
                    "stale one answers 412. Without it the edit is unconditional.")] = None,
) -> LeadOut:
    lead = service.update_lead(db, actor, lead_id, body, settings,
                               expected_revisions=revisions_matching(if_match))
    set_etag(response, lead.revision)
    return lead


@router.get("/{lead_id}/quote", response_model=QuoteOut, responses=_errors)
def quote_lead(lead_id: str, actor: CurrentUser, db: Db, settings: AppSettings,
               price_cents: Annotated[int | None, Query(ge=0, le=10_000_000_000)] = None,
               ) -> QuoteOut:
    """What a buyer would pay at ``price_cents`` (default: the lead's current price):
    the seller's share, the commission and the total. The lead's seller only."""
    return seller_quote(db, actor, lead_id, price_cents, settings)


@router.post(
    "/{lead_id}/notes", response_model=NoteOut, status_code=status.HTTP_201_CREATED,
    responses=_errors,
)
def add_note(lead_id: str, body: NoteIn, actor: CurrentUser, db: Db,
             settings: AppSettings) -> NoteOut:
    return service.add_note(db, actor, lead_id, body.body, settings)
