"""Keyset pagination over ``sort_key`` (newest first), with opaque cursors.

Cursors are the last item's ``sort_key``, base64-encoded so clients treat them as
opaque. A page is ``$match`` + ``$sort`` + ``$limit(n + 1)`` in one aggregation; the
extra item tells whether there is a next page without counting.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from pymongo.collection import Collection

from pc_core.errors import BadRequest

MAX_LIMIT = 200


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = base64.urlsafe_b64decode(padded.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadRequest("invalid cursor")
    if "|" not in key:
        raise BadRequest("invalid cursor")
    return key


def add_key_range(
    match: dict[str, Any], cursor: str | None, lower: str | None, upper: str | None
) -> None:
    """Restrict ``match`` to keys below the cursor and inside [lower, upper)."""
    bounds: dict[str, str] = {}
    ceilings = [k for k in (decode_cursor(cursor) if cursor else None, upper) if k]
    if ceilings:
        bounds["$lt"] = min(ceilings)
    if lower:
        bounds["$gte"] = lower
    if bounds:
        match["sort_key"] = bounds


def fetch_page(
    collection: Collection,
    match: dict[str, Any],
    limit: int,
    projection: dict[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page, newest first, and the cursor of the next page (or ``None``)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}")
    pipeline: list[dict[str, Any]] = [
        {"$match": match},
        {"$sort": {"sort_key": -1}},
        {"$limit": limit + 1},
    ]
    if projection:
        pipeline.append({"$project": projection})
    docs = list(collection.aggregate(pipeline))
    next_cursor = None
    if len(docs) > limit:
        docs = docs[:limit]
        next_cursor = encode_cursor(docs[-1]["sort_key"])
    return docs, next_cursor
