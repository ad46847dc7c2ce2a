"""Send a month's invoices to Stripe through the SDK and close them.

Per invoice: lock it (``draft`` → ``finalizing``, a compare-and-set, so its lines
no longer change), make sure the partner has a Stripe customer (stored on the
partner as ``stripe_customer_id``), create the Stripe invoice, one invoice item
per line, finalise it and, because every purchase was already charged by its
PaymentIntent, pay it out of band: the Stripe invoice is the month's statement.
Each call carries an idempotency key derived from our invoice id
(``pc-invoice:{id}:...``), so a run that died half-way is finished by the next
one without duplicate items or invoices.

A month that has not ended (UTC) is never sent: ``finalize_month`` refuses it, as
locking it would push the rest of the month's purchases into corrections.
An invoice with no lines (a seller-only month) is closed without Stripe.
Stripe allows 250 items per invoice; above ``MAX_ITEMS`` lines, the lines are
sent summed per kind (the per-line detail stays on our invoice and the API).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import stripe
from pymongo.database import Database

from pc_core import collections as c
from pc_core.billing.months import has_ended
from pc_core.billing.status import DRAFT, FINALIZED, FINALIZING, PAID
from pc_core.errors import BadRequest
from pc_core.payments.stripe_client import client
from pc_core.settings import Settings
from pc_core.store import update_with_retry
from pc_core.timeutil import utcnow

log = logging.getLogger(__name__)
MAX_ITEMS = 250
Doc = dict[str, Any]


class MonthStillOpen(BadRequest):
    """Sending (and so locking) a month that is still taking purchases."""


@dataclass
class FinalizeReport:
    month: str
    finalized: int = 0
    paid: int = 0
    closed_empty: int = 0
    already: int = 0
    errors: list[str] = field(default_factory=list)


def ensure_customer(db: Database, settings: Settings, partner_id: str) -> str:
    """The partner's Stripe customer, created once (idempotency key per partner)."""
    partner = db[c.PARTNERS].find_one({"_id": partner_id}) or {"_id": partner_id}
    if partner.get("stripe_customer_id"):
        return partner["stripe_customer_id"]
    customer = client(settings).v1.customers.create(
        params={"name": partner.get("name") or partner_id,
                "metadata": {"partner_id": partner_id}},
        options={"idempotency_key": f"pc-customer:{partner_id}"},
    )

    def store(current: Doc) -> Doc | None:
        if current.get("stripe_customer_id"):
            return None
        return {"stripe_customer_id": customer.id, "updated_at": utcnow()}

    return update_with_retry(db[c.PARTNERS], partner_id, store,
                             what="partner")["stripe_customer_id"]


def _items(doc: Doc) -> list[Doc]:
    lines = doc.get("lines") or []
    if len(lines) <= MAX_ITEMS:
        return [{"key": ln["id"], "amount": ln["total_cents"], "description": ln["description"],
                 "metadata": {"line_id": ln["id"], "purchase_id": ln.get("purchase_id") or ""}}
                for ln in lines]
    sums: dict[str, list[int]] = {}
    for ln in lines:
        acc = sums.setdefault(ln["kind"], [0, 0])
        acc[0] += ln["total_cents"]
        acc[1] += 1
    return [{"key": f"sum:{kind}", "amount": total, "description": f"{count} {kind} lines",
             "metadata": {"kind": kind, "lines": str(count)}}
            for kind, (total, count) in sorted(sums.items())]


def _lock(db: Database, doc_id: str) -> Doc:
    def lock(current: Doc) -> Doc | None:
        if current["status"] != DRAFT:
            return None
        return {"status": FINALIZING, "updated_at": utcnow()}

    return update_with_retry(db[c.INVOICES], doc_id, lock, what="invoice")


def _record(db: Database, doc_id: str, changes: Doc) -> Doc:
    def apply(current: Doc) -> Doc | None:
        if current["status"] == PAID:
            return None  # invoice.paid got here first
        return {**changes, "updated_at": utcnow()}

    return update_with_retry(db[c.INVOICES], doc_id, apply, what="invoice")


def mark_paid(db: Database, doc_id: str, *, paid_at: datetime,
              stripe_invoice_id: str | None, number: str | None) -> Doc:
    """Stripe says the invoice was paid (``invoice.paid``): → paid, once; whatever
    this module recorded already (Stripe ids, finalisation time) is kept."""
    def mark(current: Doc) -> Doc | None:
        if current["status"] == PAID:
            return None
        return {"status": PAID, "paid_at": paid_at, "updated_at": utcnow(),
                "stripe_invoice_id": current.get("stripe_invoice_id") or stripe_invoice_id,
                "stripe_invoice_number": number or current.get("stripe_invoice_number"),
                "finalized_at": current.get("finalized_at") or paid_at}

    return update_with_retry(db[c.INVOICES], doc_id, mark, what="invoice")


def finalize_invoice(db: Database, settings: Settings, doc_id: str, *,
                     settle_out_of_band: bool = True) -> Doc:
    """Lock, send, finalise (and settle) one invoice; safe to call again."""
    doc = _lock(db, doc_id)
    if doc["status"] not in (FINALIZING,):
        return doc
    if not doc.get("lines"):
        return _record(db, doc_id, {"status": FINALIZED, "finalized_at": utcnow()})
    key = f"pc-invoice:{doc_id}"
    sdk = client(settings)
    customer = ensure_customer(db, settings, doc["partner_id"])
    invoice = sdk.v1.invoices.create(params={
        "customer": customer, "currency": doc["currency"], "auto_advance": False,
        "collection_method": "send_invoice", "days_until_due": 30,
        "description": f"Partner Connector, {doc['month']}",
        "metadata": {"pc_invoice_id": doc_id, "partner_id": doc["partner_id"],
                     "month": doc["month"]},
    }, options={"idempotency_key": f"{key}:invoice"})
    doc = _record(db, doc_id, {"stripe_customer_id": customer, "stripe_invoice_id": invoice.id})
    if invoice.status == "draft":
        for item in _items(doc):
            sdk.v1.invoice_items.create(params={
                "customer": customer, "invoice": invoice.id, "currency": doc["currency"],
                "amount": item["amount"], "description": item["description"],
                "metadata": item["metadata"],
            }, options={"idempotency_key": f"{key}:item:{item['key']}"})
        invoice = sdk.v1.invoices.finalize_invoice(
            invoice.id, options={"idempotency_key": f"{key}:finalize"})
    if settle_out_of_band and invoice.status == "open":
        invoice = sdk.v1.invoices.pay(invoice.id, params={"paid_out_of_band": True},
                                      options={"idempotency_key": f"{key}:pay"})
    changes: Doc = {"status": PAID if invoice.status == "paid" else FINALIZED,
                    "stripe_invoice_number": invoice.number,
                    "finalized_at": doc.get("finalized_at") or utcnow()}
    if invoice.status == "paid":
        changes["paid_at"] = utcnow()
    return _record(db, doc_id, changes)


def finalize_month(db: Database, settings: Settings, month: str, *,
                   settle_out_of_band: bool = True) -> FinalizeReport:
    """Every draft (or half-sent) invoice of ``month``; one failure does not stop
    the others (the next run retries it under the same idempotency keys). A month
    that has not ended is refused (``MonthStillOpen``)."""
    if not has_ended(month):
        raise MonthStillOpen(f"{month} has not ended; its invoices stay drafts until it has")
    report = FinalizeReport(month)
    for doc in db[c.INVOICES].find({"month": month}, {"status": 1, "lines": 1}):
        if doc["status"] not in (DRAFT, FINALIZING):
            report.already += 1
            continue
        try:
            after = finalize_invoice(db, settings, doc["_id"],
                                     settle_out_of_band=settle_out_of_band)
        except stripe.StripeError as exc:
            log.warning("invoice %s not sent: %s", doc["_id"], exc)
            report.errors.append(f"{doc['_id']}: {exc.user_message or exc}")
            continue
        if not doc.get("lines"):
            report.closed_empty += 1
        elif after["status"] == PAID:
            report.paid += 1
        else:
            report.finalized += 1
    return report
