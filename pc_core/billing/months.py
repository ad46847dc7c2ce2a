"""Month keys: ``"YYYY-MM"`` strings, UTC.

Purchases carry the month they completed in as a string (``month``) and refunds
the month they were recorded in (``refund_month``): an equality on an indexed
string is what both real MongoDB and nx-27017 answer fast, where date ranges and
``$month`` grouping are unreliable on the embedded store.
"""

from __future__ import annotations

import re
from datetime import datetime

from pc_core.errors import BadRequest
from pc_core.timeutil import ensure_utc, utcnow

MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def month_of(moment: datetime) -> str:
    return f"{ensure_utc(moment):%Y-%m}"


def has_ended(month: str, now: datetime | None = None) -> bool:
    """Whether ``month`` is over (UTC): only then may its invoices be locked and sent;
    the current month still gains purchases and refunds."""
    return month < month_of(now or utcnow())


def check_month(month: str) -> str:
    if not MONTH_RE.match(month or ""):
        raise BadRequest("month must look like YYYY-MM")
    return month


def shift(month: str, delta: int) -> str:
    """``month`` moved by ``delta`` months (negative: earlier)."""
    year, mon = int(month[:4]), int(month[5:7])
    index = year * 12 + (mon - 1) + delta
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def between(first: str, last: str) -> list[str]:
    """Months from ``first`` to ``last`` inclusive (empty if ``first`` > ``last``)."""
    out: list[str] = []
    month = first
    while month <= last:
        out.append(month)
        month = shift(month, 1)
    return out
