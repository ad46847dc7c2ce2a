"""Invoices as the API shows them, scoped by partner (``access.Principal``): a
partner sees its own; the owner sees all and may filter by partner. Another
partner's invoice is *not found*, so ids cannot be probed."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core.access import Principal
from pc_core.billing.months import check_month
from pc_core.errors import NotFound
from pc_core.models.billing import Invoice, InvoicePage
from pc_core.store.pagination import decode_cursor, fetch_page

Doc = dict[str, Any]


def list_invoices(db: Database, actor: Principal, *, partner_id: str | None = None,
                  month: str | None = None, status: str | None = None, limit: int = 50,
                  cursor: str | None = None) -> InvoicePage:
    """Newest month first; keyset pages on ``sort_key`` (``"{month}|{id}"``)."""
    match: Doc = {}
    scoped = actor.scoped_partner_id(partner_id)
    if scoped is not None:
        match["partner_id"] = scoped
    if month is not None:
        match["month"] = check_month(month)
    if status is not None:
        match["status"] = status
    if cursor:
        match["sort_key"] = {"$lt": decode_cursor(cursor)}
    docs, next_cursor = fetch_page(db[c.INVOICES], match, limit)
    return InvoicePage.from_docs(docs, next_cursor)


def get_invoice(db: Database, actor: Principal, invoice_id: str) -> Invoice:
    doc = db[c.INVOICES].find_one({"_id": invoice_id})
    if doc is None:
        raise NotFound("invoice not found")
    actor.require_partner_visible(doc["partner_id"], "invoice")
    return Invoice.from_doc(doc)
