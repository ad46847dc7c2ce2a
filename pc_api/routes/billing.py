"""Billing routes (api.md "Meetings, billing, public API"): the monthly invoices.

Scoped by partner: a partner's users see its own invoices; the owner sees all and
may filter with ``partner_id``. Another partner's invoice answers 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from pc_api.deps import CurrentUser, Db
from pc_core.billing import queries
from pc_core.store.pagination import MAX_LIMIT

router = APIRouter(prefix="/v1/billing", tags=["billing"])
Status = Literal["draft", "finalizing", "finalized", "paid"]


class SellerStatement(BaseModel):
    sales_count: int
    sales_price_cents: int
    refunded_count: int
    refunded_price_cents: int


class InvoiceLine(BaseModel):
    id: str
    kind: Literal["purchase", "refund", "adjustment"]
    purchase_id: str | None
    lead_id: str | None
    seller_partner_id: str | None
    description: str
    price_cents: int
    commission_cents: int
    total_cents: int
    at: datetime | None
    source_month: str | None
    adjusts: str | None


class InvoiceSummary(BaseModel):
    id: str
    partner_id: str
    month: str
    status: Status
    currency: str
    purchase_count: int
    purchases_cents: int
    price_cents: int
    commission_cents: int
    credits_cents: int
    adjustments_cents: int
    total_cents: int
    line_count: int
    seller_statement: SellerStatement
    stripe_invoice_id: str | None
    stripe_invoice_number: str | None
    created_at: datetime
    updated_at: datetime
    finalized_at: datetime | None
    paid_at: datetime | None


class Invoice(InvoiceSummary):
    lines: list[InvoiceLine]


class InvoicePage(BaseModel):
    items: list[InvoiceSummary]
    next_cursor: str | None


@router.get("/invoices", response_model=InvoicePage)
def list_invoices(
    actor: CurrentUser,
    db: Db,
    partner_id: Annotated[str | None, Query(max_length=64,
                                            description="Owner only: one partner")] = None,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: str | None = None,
) -> dict:
    items, next_cursor = queries.list_invoices(db, actor, partner_id=partner_id, month=month,
                                               status=status, limit=limit, cursor=cursor)
    return {"items": items, "next_cursor": next_cursor}


@router.get("/invoices/{invoice_id}", response_model=Invoice,
            responses={404: {"description": "Not found (or another partner's)"}})
def get_invoice(invoice_id: str, actor: CurrentUser, db: Db) -> dict:
    return queries.get_invoice(db, actor, invoice_id)
