"""Partners and their figures."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status

from pc_api.deps import AppSettings, CurrentUser, Db, Redis
from pc_core.analytics import queries as analytics
from pc_core.governance import partner_lifecycle, partner_removal
from pc_core.hubspot.lead_build import stage_mapping
from pc_core.identity import partners as service
from pc_core.models.api import StageMappingIn, StageMappingItem
from pc_core.models.funnel import FunnelOut
from pc_core.models.partners import (
    PartnerCreate,
    PartnerDeleteIn,
    PartnerOut,
    PartnerRemovalOut,
    PartnerStatsOut,
    PartnerUpdate,
)

router = APIRouter(prefix="/v1/partners", tags=["partners"])
_errors = {403: {"description": "Role not allowed"}, 404: {"description": "Not found"}}


@router.get("", response_model=list[PartnerOut])
def list_partners(actor: CurrentUser, db: Db) -> list[PartnerOut]:
    return service.list_partners(db, actor)


@router.post(
    "", response_model=PartnerOut, status_code=status.HTTP_201_CREATED, responses=_errors
)
def create_partner(body: PartnerCreate, actor: CurrentUser, db: Db) -> PartnerOut:
    return service.create_partner(db, actor, **body.model_dump())


@router.get("/{partner_id}", response_model=PartnerOut, responses=_errors)
def get_partner(partner_id: str, actor: CurrentUser, db: Db) -> PartnerOut:
    return PartnerOut.from_doc(service.get_partner_doc(db, actor, partner_id))


@router.patch(
    "/{partner_id}", response_model=PartnerOut,
    responses={**_errors, 409: {"description": "Deactivating the operator's partner"}},
)
def update_partner(partner_id: str, body: PartnerUpdate, actor: CurrentUser, db: Db,
                   r: Redis, settings: AppSettings) -> PartnerOut:
    """An edit. Setting ``active`` (the owner) deactivates or reactivates the partner
    and the answer's ``lifecycle`` says what that did (docs/lifecycle.md)."""
    return partner_lifecycle.update_partner(db, r, settings, actor, partner_id,
                                            body.model_dump(exclude_unset=True))


@router.delete(
    "/{partner_id}", response_model=PartnerRemovalOut,
    responses={**_errors, 400: {"description": "confirm_name is not the partner's name"},
               409: {"description": "The operator's partner, or a payment still pending"}},
)
def delete_partner(partner_id: str, body: PartnerDeleteIn, actor: CurrentUser, db: Db,
                   r: Redis, settings: AppSettings) -> PartnerRemovalOut:
    """The owner deletes a partner for good: its data erased, its financial records
    kept with an anonymised reference; the answer counts what was removed and kept
    (docs/lifecycle.md)."""
    return partner_removal.delete_partner(db, r, settings, actor, partner_id,
                                          body.confirm_name)


@router.get(
    "/{partner_id}/stage-mapping", response_model=list[StageMappingItem], responses=_errors
)
def get_stage_mapping(partner_id: str, actor: CurrentUser, db: Db) -> list[dict]:
    """The partner's HubSpot stages and their canonical stage (``null``: unmapped)."""
    return stage_mapping.get_stage_mapping(db, actor, partner_id)


@router.put(
    "/{partner_id}/stage-mapping", response_model=list[StageMappingItem],
    responses={**_errors, 400: {"description": "Unknown HubSpot stage"}},
)
def put_stage_mapping(
    partner_id: str, body: list[StageMappingIn], actor: CurrentUser, db: Db
) -> list[dict]:
    return stage_mapping.put_stage_mapping(
        db, actor, partner_id, [item.model_dump(mode="json") for item in body]
    )


@router.get("/{partner_id}/stats", response_model=PartnerStatsOut, responses=_errors)
def partner_stats(partner_id: str, actor: CurrentUser, db: Db) -> PartnerStatsOut:
    return service.partner_stats(db, actor, partner_id)


@router.get(
    "/{partner_id}/funnel", response_model=FunnelOut, response_model_by_alias=True,
    responses={**_errors, 400: {"description": "from after to, or a period over 366 days"},
               422: {"description": "A date that is not YYYY-MM-DD"}},
)
def partner_funnel(
    partner_id: str, actor: CurrentUser, db: Db,
    from_: Annotated[date | None, Query(alias="from", description="First day (UTC), "
                                        "default: 29 days before `to`")] = None,
    to: Annotated[date | None, Query(description="Last day (UTC), default: today")] = None,
) -> dict:
    """The partner's funnel over whole UTC days: leads entering each stage, conversion,
    median time in stage, win rate, listed → reserved → sold, days to sell, revenue and
    commission (pc_core/analytics/funnel.py defines each figure)."""
    return analytics.partner_funnel(db, actor, partner_id, from_, to)
