"""Marketplace routes (api.md "Marketplace"): listings, reservations, purchases.

Thin: parse, call ``pc_core.marketplace``, shape the answer. Hot list answers are
built by the services in their final shape and sent with orjson.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from pc_api.deps import AppSettings, CurrentUser, Db, ListingQuery
from pc_api.fast_json import FastJSONResponse
from pc_core.lead_models import CompanySize
from pc_core.marketplace import listings, purchases, reservations
from pc_core.stages import Stage
from pc_core.store.pagination import MAX_LIMIT

router = APIRouter(prefix="/v1/marketplace", tags=["marketplace"])
_errors = {
    403: {"description": "Read-only role"},
    404: {"description": "Not found (or another partner's)"},
    409: {"description": "Not available / not active / over the reservation cap"},
}


class ListingOut(BaseModel):
    id: str
    own: bool = Field(description="The caller's own partner is the seller")
    seller_partner_id: str
    seller_name: str | None
    seller_rating: float | None
    company_size: CompanySize | None
    industry: str | None
    location: str | None
    budget_cents: int | None
    stage: Stage
    age_days: int
    created_at: datetime
    price_cents: int
    commission_cents: int
    buyer_total_cents: int
    currency: str


class ListingPage(BaseModel):
    items: list[ListingOut]
    next_cursor: str | None


class ReservationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lead_id: str = Field(min_length=1, max_length=64)
    days: int = Field(default=reservations.DEFAULT_DAYS, ge=reservations.MIN_DAYS,
                      le=reservations.MAX_DAYS)


class ReservationOut(BaseModel):
    id: str
    lead_id: str
    status: Literal["active", "released", "expired", "converted"]
    days: int
    buyer_partner_id: str
    seller_partner_id: str
    price_cents: int
    commission_cents: int
    buyer_total_cents: int
    pending_purchase_id: str | None
    purchase_id: str | None
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None


class ReservationPage(BaseModel):
    items: list[ReservationOut]
    next_cursor: str | None


class PurchaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reservation_id: str = Field(min_length=1, max_length=64)


class PurchaseOut(BaseModel):
    id: str
    status: Literal["pending", "completed", "failed", "refunded"]
    reservation_id: str
    lead_id: str
    buyer_partner_id: str
    seller_partner_id: str
    price_cents: int
    commission_cents: int
    amount_cents: int = Field(description="What the buyer pays: price + commission")
    currency: str
    payment_intent_id: str | None
    failure_message: str | None
    refund_id: str | None
    created_at: datetime
    completed_at: datetime | None


class PurchaseCreated(PurchaseOut):
    client_secret: str | None = Field(description="For Stripe.js confirmCardPayment")


class PurchasePage(BaseModel):
    items: list[PurchaseOut]
    next_cursor: str | None


@router.get("/listings", response_model=ListingPage)
def list_listings(
    actor: CurrentUser,
    db: Db,
    settings: AppSettings,
    filters: ListingQuery,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: str | None = None,
) -> FastJSONResponse:
    items, next_cursor = listings.list_listings(db, settings, actor, filters, limit=limit,
                                                cursor=cursor)
    return FastJSONResponse({"items": items, "next_cursor": next_cursor})


@router.post("/reservations", response_model=ReservationOut,
             status_code=status.HTTP_201_CREATED, responses=_errors)
def create_reservation(body: ReservationIn, actor: CurrentUser, db: Db,
                       settings: AppSettings) -> dict:
    return reservations.reserve(db, settings, actor, body.lead_id, body.days)


@router.get("/reservations", response_model=ReservationPage)
def list_reservations(
    actor: CurrentUser,
    db: Db,
    status_: Annotated[
        Literal["active", "released", "expired", "converted"] | None, Query(alias="status")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: str | None = None,
) -> FastJSONResponse:
    items, next_cursor = reservations.list_reservations(db, actor, status=status_, limit=limit,
                                                        cursor=cursor)
    return FastJSONResponse({"items": items, "next_cursor": next_cursor})


@router.delete("/reservations/{reservation_id}", response_model=ReservationOut,
               responses=_errors)
def release_reservation(reservation_id: str, actor: CurrentUser, db: Db,
                        settings: AppSettings) -> dict:
    """The buyer releases the lead: it is listed again and ``lead-listed`` is emitted."""
    return reservations.release(db, settings, actor, reservation_id)


@router.post("/purchases", response_model=PurchaseCreated,
             status_code=status.HTTP_201_CREATED,
             responses={**_errors, 502: {"description": "Stripe unavailable"}})
def create_purchase(body: PurchaseIn, actor: CurrentUser, db: Db,
                    settings: AppSettings) -> dict:
    return purchases.create_purchase(db, settings, actor, body.reservation_id)


@router.get("/purchases", response_model=PurchasePage)
def list_purchases(
    actor: CurrentUser,
    db: Db,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: str | None = None,
) -> FastJSONResponse:
    items, next_cursor = purchases.list_purchases(db, actor, limit=limit, cursor=cursor)
    return FastJSONResponse({"items": items, "next_cursor": next_cursor})
