"""Corrections to months whose invoice can no longer change.

A finalised or paid invoice is never rewritten. When building month N, each
partner's locked invoices of the ``LOOKBACK_MONTHS`` before N are compared with
what their month's purchases say now; a difference becomes adjustment lines on
N (``adj:{month}:{line}``), a debit or a credit per changed line.

Where a correction lands: the first month after the locked one whose invoice
exists and is still a draft, or else the month being built. Everything already
carried for a month on any *other* invoice counts as billed, so rebuilding N
again, or building another month, never carries the same correction twice.

Detection compares each partner's net amount for the month (the server sums it,
cheap at 100,000 purchases); only partners that differ are diffed line by line.
A change that leaves a partner's net unchanged, or one older than the lookback,
is not carried automatically; the asset check of that month reports it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core.billing import sources
from pc_core.billing.lines import (
    ADJUSTMENT,
    Line,
    adjustment_line,
    base_net,
    purchase_line,
    refund_line,
)
from pc_core.billing.months import between, shift
from pc_core.billing.status import LOCKED

LOOKBACK_MONTHS = 2
Doc = dict[str, Any]
Window = dict[str, dict[str, Doc]]


# Every invoice field but ``lines``: an aggregation ``$project`` of these reads
# 1,000 invoices in under a second on the embedded store, where a ``find`` (with or without
# a projection) takes ~8 s because each document's lines are decoded.
SUMMARY_FIELDS = ("partner_id", "month", "status", "currency", "seller_statement",
                  "purchase_count", "purchases_cents", "price_cents", "commission_cents",
                  "credits_cents", "adjustments_cents", "adjustments_by_month",
                  "total_cents", "line_count", "content_hash", "stripe_customer_id",
                  "stripe_invoice_id", "stripe_invoice_number", "created_at", "updated_at",
                  "built_at", "finalized_at", "paid_at", "sort_key", "rev")


def summaries(db: Database, months: list[str]) -> list[Doc]:
    """The invoices of ``months`` without their lines."""
    return list(db[c.INVOICES].aggregate([
        {"$match": {"month": {"$in": months}}},
        {"$project": {f: 1 for f in SUMMARY_FIELDS}},
    ]))


def load_window(db: Database, month: str, before: int = LOOKBACK_MONTHS,
                after: int = LOOKBACK_MONTHS) -> Window:
    """Invoice summaries of the months around ``month``, by partner then month."""
    window: Window = defaultdict(dict)
    for doc in summaries(db, between(shift(month, -before), shift(month, after))):
        window[doc["partner_id"]][doc["month"]] = doc
    return window


def expected_net(db: Database, month: str) -> dict[str, int]:
    """Per buyer: purchases completed in ``month`` minus refunds recorded in it."""
    net = {p: t["paid"] for p, t in sources.charged_in(db, month).items()}
    for row in sources.refunded_in(db, month):
        partner = row["buyer_partner_id"]
        net[partner] = net.get(partner, 0) + refund_line(row)["total_cents"]
    return net


def carried(docs: dict[str, Doc], source_month: str, *, excluding: str | None) -> int:
    """What other invoices already carry as corrections to ``source_month``."""
    return sum(int((d.get("adjustments_by_month") or {}).get(source_month, 0))
               for m, d in docs.items() if m not in (source_month, excluding))


def _target(docs: dict[str, Doc], source_month: str, building: str) -> str:
    for m in between(shift(source_month, 1), shift(building, -1)):
        doc = docs.get(m)
        if doc is not None and doc["status"] not in LOCKED:
            return m
    return building


def _line_diff(db: Database, partner_id: str, source_month: str, locked: Doc,
               docs: dict[str, Doc], building: str) -> list[Line]:
    # Only here (a partner whose locked month changed) are whole invoices read.
    full = {d["_id"]: d for d in db[c.INVOICES].find(
        {"_id": {"$in": [d["_id"] for d in docs.values()]}})}
    locked = full.get(locked["_id"], locked)
    docs = {m: full.get(d["_id"], d) for m, d in docs.items()}
    now_lines = {ln["id"]: ln for ln in
                 [purchase_line(r) for r in sources.bought_by(db, source_month, partner_id)]
                 + [refund_line(r) for r in sources.refunded_by(db, source_month, partner_id)]}
    billed: dict[str, list[int]] = {}
    originals: dict[str, Line] = {}
    for ln in locked.get("lines") or []:
        if ln["kind"] != ADJUSTMENT:
            billed[ln["id"]] = [ln["total_cents"], ln["price_cents"], ln["commission_cents"],
                                ln["count_delta"]]
            originals[ln["id"]] = ln
    for m, doc in docs.items():
        if m in (source_month, building):
            continue
        for ln in doc.get("lines") or []:
            if ln["kind"] == ADJUSTMENT and ln["source_month"] == source_month:
                acc = billed.setdefault(ln["adjusts"], [0, 0, 0, 0])
                for i, key in enumerate(("total_cents", "price_cents", "commission_cents",
                                         "count_delta")):
                    acc[i] += ln[key]
    out: list[Line] = []
    for line_id in sorted(set(now_lines) | set(billed)):
        now = now_lines.get(line_id)
        want = ([now["total_cents"], now["price_cents"], now["commission_cents"],
                 now["count_delta"]] if now else [0, 0, 0, 0])
        have = billed.get(line_id, [0, 0, 0, 0])
        delta = [w - h for w, h in zip(want, have, strict=True)]
        if any(delta):
            out.append(adjustment_line(source_month, now or originals.get(line_id), line_id,
                                       delta[0], delta[1], delta[2], delta[3]))
    return out


def corrections(db: Database, building: str, window: Window) -> dict[str, list[Line]]:
    """Adjustment lines for invoice ``building``, per partner."""
    out: dict[str, list[Line]] = defaultdict(list)
    for source_month in between(shift(building, -LOOKBACK_MONTHS), shift(building, -1)):
        locked = {p: docs for p, docs in window.items()
                  if docs.get(source_month, {}).get("status") in LOCKED}
        if not locked:
            continue
        expected = expected_net(db, source_month)
        for partner_id, docs in locked.items():
            current = docs.get(building)
            if current is not None and current["status"] in LOCKED:
                continue
            if _target(docs, source_month, building) != building:
                continue
            billed = base_net(docs[source_month]) + carried(docs, source_month,
                                                            excluding=building)
            if expected.get(partner_id, 0) == billed:
                continue
            out[partner_id] += _line_diff(db, partner_id, source_month, docs[source_month],
                                          docs, building)
    # Partners with no locked invoice in a month can still have purchases there:
    # those months are open (or unbuilt) and get their own lines when built.
    return dict(out)
