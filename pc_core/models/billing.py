"""Invoices: one per partner and month, as the billing pages and API show them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

InvoiceStatus = Literal["draft", "finalizing", "finalized", "paid"]
SUMMARY_KEYS = ("partner_id", "month", "status", "currency", "purchase_count",
                "purchases_cents", "price_cents", "commission_cents", "credits_cents",
                "adjustments_cents", "total_cents", "line_count", "seller_statement",
                "stripe_invoice_id", "stripe_invoice_number", "created_at", "updated_at",
                "finalized_at", "paid_at")


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
    status: InvoiceStatus
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

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Invoice:
        return cls.model_validate({**_summary(doc), "lines": doc.get("lines") or []})


class InvoicePage(BaseModel):
    items: list[InvoiceSummary]
    next_cursor: str | None

    @classmethod
    def from_docs(cls, docs: list[dict[str, Any]], next_cursor: str | None) -> InvoicePage:
        return cls.model_validate({"items": [_summary(d) for d in docs],
                                   "next_cursor": next_cursor})


def _summary(doc: dict[str, Any]) -> dict[str, Any]:
    return {"id": doc["_id"], **{k: doc.get(k) for k in SUMMARY_KEYS}}
