"""Billing routes (api.md "Meetings, billing, public API"): the monthly invoices.

Scoped by partner: a partner's users see its own invoices; the owner sees all and
may filter with ``partner_id``. Another partner's invoice answers 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from pc_api.deps import CurrentUser, Db
from pc_core.billing import queries
from pc_core.models.billing import Invoice, InvoicePage, InvoiceStatus
from pc_core.store.pagination import MAX_LIMIT

router = APIRouter(prefix="/v1/billing", tags=["billing"])


@router.get("/invoices", response_model=InvoicePage)
def list_invoices(
    actor: CurrentUser,
    db: Db,
    partner_id: Annotated[str | None, Query(max_length=64,
                                            description="Owner only: one partner")] = None,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None,
    status: InvoiceStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: str | None = None,
) -> InvoicePage:
    return queries.list_invoices(db, actor, partner_id=partner_id, month=month,
                                 status=status, limit=limit, cursor=cursor)


@router.get("/invoices/{invoice_id}", response_model=Invoice,
            responses={404: {"description": "Not found (or another partner's)"}})
def get_invoice(invoice_id: str, actor: CurrentUser, db: Db) -> Invoice:
    return queries.get_invoice(db, actor, invoice_id)
