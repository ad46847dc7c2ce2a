"""The one time key and the one month key: fixed-width UTC strings.

The embedded store matches nothing for a date range inside an aggregation and
scans for a sort on a date, so every time a query ranges or sorts on is also
written as a string whose order is time order (``time_key``), and every month a
query groups or filters by as ``"YYYY-MM"`` (``month_key``): equality and string
ranges on an indexed string are served the same, and fast, on both stores. Lists
page on ``sort_key`` (a time or month key + the id, so ties have an order).
"""

from __future__ import annotations

from datetime import datetime

from pc_core.timeutil import ensure_utc

#: ``strftime`` format of a month key; also Dagster's monthly partition keys.
MONTH_FORMAT = "%Y-%m"
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def time_key(moment: datetime) -> str:
    """``2025-03-01T09:30:00.123000Z``: string order is time order (naive = UTC).

    A prefix of it bounds a range (``time_key(created_from)`` ≤ ``sort_key``)."""
    return ensure_utc(moment).strftime(_TIME_FORMAT)


def month_key(moment: datetime) -> str:
    """``2025-03``: the UTC month of ``moment``."""
    return ensure_utc(moment).strftime(MONTH_FORMAT)


def sort_key(order: datetime | str, doc_id: str) -> str:
    """The key lists are keyset-paginated on: a moment's ``time_key`` (or a key
    already built, such as a month) + ``|`` + the id, so ties break by id. It doubles
    as the pagination cursor and as the target of creation-time range filters."""
    prefix = order if isinstance(order, str) else time_key(order)
    return f"{prefix}|{doc_id}"
