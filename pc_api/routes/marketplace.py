"""Marketplace routes (api.md "Marketplace"): listings, reservations, purchases.

Thin: parse, call ``pc_core.marketplace``, shape the answer. Hot list answers are
built by the services in their final shape and sent with orjson.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from pc_api.deps import AppSettings, CurrentUser, Db, ListingQuery
from pc_api.fast_json import ModelResponse
from pc_core.analytics import price_guidance
from pc_core.errors import NotFound
from pc_core.marketplace import aging, listings, purchases, reservations
from pc_core.models.buyer_alerts import PriceGuidanceOut
from pc_core.models.leads import CompanySize
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


@router.get("/price-guidance", response_model=PriceGuidanceOut,
            responses={404: {"description": "No guidance computed yet"}})
def get_price_guidance(
    actor: CurrentUser,
    db: Db,
    industry: Annotated[str | None, Query(max_length=100)] = None,
    company_size: CompanySize | None = None,
    location: Annotated[str | None, Query(max_length=100)] = None,
    price_cents: Annotated[int | None, Query(ge=0, le=10_000_000_000)] = None,
) -> PriceGuidanceOut:
    """What leads like this one sold for and how fast (the daily ``price_guidance``
    asset): the narrowest segment with enough sales; ``at_price_sold_7`` for
    ``price_cents``."""
    found = price_guidance.lookup(db, industry, company_size.value if company_size else None,
                                  location, price_cents)
    if found is None:
        raise NotFound("no price guidance yet: it is computed daily from sales")
    seg = found.segment
    return PriceGuidanceOut(
        level=found.level, enough_sales=found.enough_sales,
        minimum_sales=price_guidance.MIN_SALES, at_price_sold_7=found.at_price_sold_7,
        **{k: seg.get(k) for k in PriceGuidanceOut.model_fields
           if k not in {"level", "enough_sales", "minimum_sales", "at_price_sold_7"}})


@router.get("/price-aging", response_model=aging.PriceAging, responses=_errors)
def get_price_aging(actor: CurrentUser, db: Db, partner_id: str | None = None
                    ) -> aging.PriceAging:
    """The seller's aging rule (owner: any partner's)."""
    return aging.get_rule(db, actor, partner_id)


@router.put("/price-aging", response_model=aging.PriceAging, responses=_errors)
def put_price_aging(body: aging.PriceAging, actor: CurrentUser, db: Db,
                    partner_id: str | None = None) -> aging.PriceAging:
    """Turn aging on or off: every week a listed lead's price falls by ``percent``
    down to ``floor_cents``; listings show the next drop."""
    return aging.set_rule(db, actor, partner_id, body)


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
