"""Marketplace routes (api.md "Marketplace"): listings, reservations, purchases.

Thin: parse, call ``pc_core.marketplace``, shape the answer. Hot list answers are
built by the services in their final shape and sent with orjson.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from pc_api.deps import AppSettings, CurrentUser, Db, ListingQuery
from pc_api.fast_json import ModelResponse
from pc_core.marketplace import listings, purchases, reservations
from pc_core.models.marketplace import (
    ListingPage,
    PurchaseCreated,
    PurchaseIn,
    PurchasePage,
    ReservationIn,
    ReservationOut,
    ReservationPage,
    ReservationStatus,
)
from pc_core.store.pagination import MAX_LIMIT

router = APIRouter(prefix="/v1/marketplace", tags=["marketplace"])
_errors = {
    403: {"description": "Read-only role"},
    404: {"description": "Not found (or another partner's)"},
    409: {"description": "Not available / not active / over the reservation cap"},
}


@router.get("/listings", response_model=ListingPage)
def list_listings(
    actor: CurrentUser,
    db: Db,
    settings: AppSettings,
    filters: ListingQuery,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: str | None = None,
) -> ModelResponse:
    return ModelResponse(listings.list_listings(db, settings, actor, filters, limit=limit,
                                                cursor=cursor))


@router.post("/reservations", response_model=ReservationOut,
             status_code=status.HTTP_201_CREATED, responses=_errors)
def create_reservation(body: ReservationIn, actor: CurrentUser, db: Db,
                       settings: AppSettings) -> ReservationOut:
    return reservations.reserve(db, settings, actor, body.lead_id, body.days)


@router.get("/reservations", response_model=ReservationPage)
def list_reservations(
    actor: CurrentUser,
    db: Db,
    status_: Annotated[ReservationStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: str | None = None,
) -> ModelResponse:
    return ModelResponse(reservations.list_reservations(db, actor, status=status_, limit=limit,
                                                        cursor=cursor))


@router.delete("/reservations/{reservation_id}", response_model=ReservationOut,
               responses=_errors)
def release_reservation(reservation_id: str, actor: CurrentUser, db: Db,
                        settings: AppSettings) -> ReservationOut:
    """The buyer releases the lead: it is listed again and ``lead-listed`` is emitted."""
    return reservations.release(db, settings, actor, reservation_id)


@router.post("/purchases", response_model=PurchaseCreated,
             status_code=status.HTTP_201_CREATED,
             responses={**_errors, 502: {"description": "Stripe unavailable"}})
def create_purchase(body: PurchaseIn, actor: CurrentUser, db: Db,
                    settings: AppSettings) -> PurchaseCreated:
    return purchases.create_purchase(db, settings, actor, body.reservation_id)


@router.get("/purchases", response_model=PurchasePage)
def list_purchases(
    actor: CurrentUser,
    db: Db,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: str | None = None,
) -> ModelResponse:
    return ModelResponse(purchases.list_purchases(db, actor, limit=limit, cursor=cursor))
