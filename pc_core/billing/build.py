"""Materialise one month's invoices: every partner that bought, sold, got a
refund or has a correction carried, in one pass over the month's purchases.

Idempotent by construction: ``_id`` is ``"{partner}:{month}"``, lines have natural
ids and a fixed order, and an invoice whose content would not change is not
written at all (same ``rev``, same ``updated_at``), so rebuilding a month twice
leaves every document as it was. A draft is replaced whole under its revision
(``pc_core.store`` rules: the embedded store keeps dates and sub-documents only on
whole-document writes); a locked invoice (finalising, finalised, paid) is skipped, and if one is
locked between our read and our write the revision filter makes the write miss,
which is counted as a conflict rather than overwriting it.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo import InsertOne, ReplaceOne
from pymongo.database import Database
from pymongo.errors import BulkWriteError

from pc_core import collections as c
from pc_core.billing import adjustments, sources
from pc_core.billing.lines import ordered, purchase_line, refund_line, totals
from pc_core.billing.months import check_month
from pc_core.billing.status import DRAFT, LOCKED, invoice_id
from pc_core.marketplace.pricing import CURRENCY
from pc_core.store import sort_key
from pc_core.timeutil import utcnow

BULK = 100  # the storage rule: at most 100 operations per bulk write
Doc = dict[str, Any]


@dataclass
class BuildReport:
    month: str
    partners: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    locked: int = 0
    conflicts: int = 0
    lines: int = 0
    adjustment_lines: int = 0
    total_cents: int = 0
    invoice_ids: list[str] = field(default_factory=list)


def _seller_statements(bought: dict[str, list[Doc]], refunds: list[Doc]) -> dict[str, Doc]:
    """Informational: what each seller sold and earned (paid out at sale time),
    from the rows already read (no second pass over the month)."""
    out: dict[str, Doc] = defaultdict(lambda: {"sales_count": 0, "sales_price_cents": 0,
                                               "refunded_count": 0, "refunded_price_cents": 0})
    for rows in bought.values():
        for row in rows:
            seller = row.get("seller_partner_id")
            if seller:
                out[seller]["sales_count"] += 1
                out[seller]["sales_price_cents"] += int(row["price_cents"])
    for row in refunds:
        seller = row.get("seller_partner_id")
        if seller:
            out[seller]["refunded_count"] += 1
            out[seller]["refunded_price_cents"] += -refund_line(row)["price_cents"]
    return dict(out)


def invoice_content(bought: list[Doc], refunded: list[Doc], carried: list[Doc],
                    statement: Doc | None) -> Doc:
    """Lines, totals and seller statement of one invoice (pure: same input, same doc)."""
    lines = ordered([purchase_line(r) for r in bought] + [refund_line(r) for r in refunded]
                    + list(carried))
    empty = {"sales_count": 0, "sales_price_cents": 0, "refunded_count": 0,
             "refunded_price_cents": 0}
    content = {"lines": lines, **totals(lines), "seller_statement": statement or empty}
    return {**content, "content_hash": content_hash(content)}


def content_hash(content: Doc) -> str:
    """A fingerprint of the invoice's content: a rebuild compares it instead of
    reading every stored line back (reading lines is the slow part on the embedded
    store)."""
    text = json.dumps(content, sort_keys=True, default=lambda v: v.isoformat()
                      if isinstance(v, datetime) else str(v), separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _new_doc(partner_id: str, month: str, content: Doc, now: datetime) -> Doc:
    doc_id = invoice_id(partner_id, month)
    return {
        "_id": doc_id, "partner_id": partner_id, "month": month, "status": DRAFT,
        "currency": CURRENCY, **content,
        "stripe_customer_id": None, "stripe_invoice_id": None, "stripe_invoice_number": None,
        "created_at": now, "updated_at": now, "built_at": now,
        "finalized_at": None, "paid_at": None, "sort_key": sort_key(month, doc_id), "rev": 1,
    }


def _write(db: Database, ops: list[Any], report: BuildReport) -> None:
    for start in range(0, len(ops), BULK):
        chunk = ops[start:start + BULK]
        replaces = sum(isinstance(op, ReplaceOne) for op in chunk)
        try:
            result = db[c.INVOICES].bulk_write(chunk, ordered=False)
        except BulkWriteError as exc:
            details = exc.details
            report.conflicts += len(details.get("writeErrors") or [])
            report.conflicts += replaces - int(details.get("nMatched") or 0)
            continue
        report.conflicts += replaces - result.matched_count


def build_month(db: Database, month: str, now: datetime | None = None) -> BuildReport:
    """Build (or rebuild) every partner's invoice for ``month``."""
    check_month(month)
    now = now or utcnow()
    report = BuildReport(month)
    bought = sources.bought_in(db, month)
    refund_rows = sources.refunded_in(db, month)
    refunded = sources.by_buyer(refund_rows)
    statements = _seller_statements(bought, refund_rows)
    window = adjustments.load_window(db, month)
    carried = adjustments.corrections(db, month, window)
    existing = {p: docs[month] for p, docs in window.items() if month in docs}
    partners = sorted(set(bought) | set(refunded) | set(statements) | set(carried)
                      | set(existing))
    ops: list[Any] = []
    for partner_id in partners:
        current = existing.get(partner_id)
        if current is not None and current["status"] in LOCKED:
            report.locked += 1
            continue
        content = invoice_content(bought.get(partner_id, []), refunded.get(partner_id, []),
                                  carried.get(partner_id, []), statements.get(partner_id))
        report.partners += 1
        report.lines += content["line_count"]
        report.adjustment_lines += len(carried.get(partner_id, []))
        report.total_cents += content["total_cents"]
        report.invoice_ids.append(invoice_id(partner_id, month))
        if current is None:
            ops.append(InsertOne(_new_doc(partner_id, month, content, now)))
            report.created += 1
        elif all(current.get(k) == v for k, v in content.items() if k != "lines"):
            # Same fingerprint of the lines and same stored totals: nothing to write.
            report.unchanged += 1
        else:
            new = {**current, **content, "updated_at": now, "built_at": now,  # whole doc
                   "rev": int(current.get("rev") or 0) + 1}
            ops.append(ReplaceOne({"_id": current["_id"], "rev": current.get("rev")}, new))
            report.updated += 1
    _write(db, ops, report)
    return report
