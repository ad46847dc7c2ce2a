"""Billing months: ``"YYYY-MM"`` month keys (``pc_core.store.keys.month_key``), UTC.

Purchases carry the month they completed in (``month``) and refunds the month they
were recorded in (``refund_month``), so a month's purchases are an equality on an
indexed string (see ``pc_core.store.keys``). This module checks and moves months.
"""

from __future__ import annotations

import re
from datetime import datetime

from pc_core.errors import BadRequest
from pc_core.store.keys import month_key
from pc_core.timeutil import utcnow

MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def has_ended(month: str, now: datetime | None = None) -> bool:
    """Whether ``month`` is over (UTC): only then may its invoices be locked and sent;
    the current month still gains purchases and refunds."""
    return month < month_key(now or utcnow())


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
