"""The asset check: each partner's billed total for a month equals its purchases
completed in that month minus the refunds recorded in it.

Computed independently of the builder: the expected side is summed by the
server (``$group`` on the indexed ``month``), the billed side is each invoice's
own-month total plus the corrections to that month carried on later invoices.
A month that changed after its invoices were locked fails until the correction
has been carried (by building the next open month).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pymongo.database import Database

from pc_core.billing.adjustments import LOOKBACK_MONTHS, expected_net, summaries
from pc_core.billing.lines import base_net
from pc_core.billing.months import between, check_month, shift


@dataclass
class CheckReport:
    month: str
    partners: int = 0
    expected_cents: int = 0
    billed_cents: int = 0
    mismatches: list[dict[str, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.mismatches


def billed_net(db: Database, month: str) -> dict[str, int]:
    """Per partner: what the invoices bill for ``month``, wherever it is carried."""
    billed: dict[str, int] = {}
    for doc in summaries(db, [month]):
        billed[doc["partner_id"]] = billed.get(doc["partner_id"], 0) + base_net(doc)
    later = between(shift(month, 1), shift(month, LOOKBACK_MONTHS))
    for doc in summaries(db, later):
        carried = int((doc.get("adjustments_by_month") or {}).get(month, 0))
        if carried:
            billed[doc["partner_id"]] = billed.get(doc["partner_id"], 0) + carried
    return billed


def check_month_totals(db: Database, month: str) -> CheckReport:
    check_month(month)
    expected = expected_net(db, month)
    billed = billed_net(db, month)
    report = CheckReport(month)
    for partner_id in sorted(set(expected) | set(billed)):
        want, have = expected.get(partner_id, 0), billed.get(partner_id, 0)
        report.partners += 1
        report.expected_cents += want
        report.billed_cents += have
        if want != have:
            report.mismatches.append({"partner_id": partner_id, "expected_cents": want,
                                      "billed_cents": have, "difference_cents": want - have})
    return report
