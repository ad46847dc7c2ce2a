"""The Stripe events billing acts on, registered with the payments layer when this
module is imported.

- ``invoice.paid``: the Stripe invoice of one of our monthly invoices was paid.
  Found by the ``pc_invoice_id`` metadata we wrote, else by the Stripe invoice id,
  and marked paid by ``stripe_invoices.mark_paid``. Purchases are paid by
  PaymentIntents; invoices are the monthly invoices'.
- ``charge.refunded``: money given back in Stripe (the Dashboard), credited on the
  buyer's next invoice (``stripe_refunds``).

Both decide by state, so redeliveries and any arrival order are harmless.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import StrictStr
from pymongo.database import Database

from pc_core import collections as c
from pc_core.billing.status import PAID
from pc_core.billing.stripe_invoices import mark_paid
from pc_core.billing.stripe_refunds import charge_refunded
from pc_core.payments.events import Epoch, Shape, register
from pc_core.settings import Settings
from pc_core.timeutil import utcnow

INVOICE_PAID, CHARGE_REFUNDED = "invoice.paid", "charge.refunded"
#: The Stripe event types handled here.
EVENTS = (INVOICE_PAID, CHARGE_REFUNDED)


class _PaidAt(Shape):
    paid_at: Epoch | None = None


class InvoiceShape(Shape):
    id: StrictStr | None = None
    number: StrictStr | None = None
    metadata: dict[str, StrictStr] | None = None
    status_transitions: _PaidAt | None = None


def invoice_paid(db: Database, obj: dict[str, Any]) -> str:
    doc_id = (obj.get("metadata") or {}).get("pc_invoice_id")
    doc = db[c.INVOICES].find_one({"_id": doc_id}) if doc_id else None
    if doc is None and obj.get("id"):
        doc = db[c.INVOICES].find_one({"stripe_invoice_id": obj["id"]})
    if doc is None:
        return "unknown-invoice"
    if doc["status"] == PAID:
        return "invoice-already-paid"
    paid_epoch = (obj.get("status_transitions") or {}).get("paid_at")
    paid_at = datetime.fromtimestamp(paid_epoch, UTC) if paid_epoch else utcnow()
    mark_paid(db, doc["_id"], paid_at=paid_at, stripe_invoice_id=obj.get("id"),
              number=obj.get("number"))
    return "invoice-paid"


def _invoice_paid(db: Database, settings: Settings, obj: dict[str, Any]) -> str:
    return invoice_paid(db, obj)


def _charge_refunded(db: Database, settings: Settings, obj: dict[str, Any]) -> str:
    return charge_refunded(db, obj)


register(INVOICE_PAID, _invoice_paid, shape=InvoiceShape)
register(CHARGE_REFUNDED, _charge_refunded)
