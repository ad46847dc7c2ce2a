"""Identifiers. Generated ids are ObjectId strings: unique, roughly time-ordered,
and plain strings in URLs."""

from __future__ import annotations

from datetime import datetime

from bson import ObjectId

from pc_core.timeutil import ensure_utc


def new_id() -> str:
    return str(ObjectId())


def sort_key(created_at: datetime, doc_id: str) -> str:
    """A string that orders documents by creation time, ties broken by id.

    Fixed-width so that string order equals time order; it doubles as the keyset
    pagination cursor and as the target of ``created_from``/``created_to`` filters.
    """
    return f"{ensure_utc(created_at):%Y-%m-%dT%H:%M:%S.%fZ}|{doc_id}"


def time_bound(moment: datetime) -> str:
    """The ``sort_key`` prefix for a moment, for range filters on creation time."""
    return f"{ensure_utc(moment):%Y-%m-%dT%H:%M:%S.%fZ}"
