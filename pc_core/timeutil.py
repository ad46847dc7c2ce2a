"""Timezone-aware UTC time, the only kind the platform stores."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, at millisecond precision: what BSON stores, so a value written and the
    same value read back compare equal."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def ensure_utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC (that is how Mongo hands them back)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
