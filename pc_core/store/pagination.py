"""Keyset pagination over ``sort_key`` (newest first), with opaque cursors.

Cursors are the last item's ``sort_key``, base64-encoded so clients treat them as
opaque. A page is ``$match`` + ``$sort`` + ``$limit(n + 1)`` in one aggregation (the
shape the embedded store serves from an index, where ``find().sort()`` scans); the
extra item tells whether there is a next page without counting. Every filter a
list offers has an index ending in ``sort_key`` (``pc_core.store.indexes``).
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


def below_cursor(cursor: str | None) -> dict[str, Any]:
    """The ``sort_key`` filter of the page after ``cursor`` (empty for the first)."""
    return {"sort_key": {"$lt": decode_cursor(cursor)}} if cursor else {}


def add_key_range(
    match: dict[str, Any], cursor: str | None, lower: str | None, upper: str | None
) -> None:
    """Restrict ``match`` to keys below the cursor and inside [lower, upper)
    (``lower``/``upper``: ``time_key``s, e.g. of ``created_from``/``created_to``)."""
    bounds: dict[str, str] = {}
    ceilings = [k for k in (decode_cursor(cursor) if cursor else None, upper) if k]
    if ceilings:
        bounds["$lt"] = min(ceilings)
    if lower:
        bounds["$gte"] = lower
    if bounds:
        match["sort_key"] = bounds


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def newest_first(match: dict[str, Any], n: int,
                 projection: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The aggregation of the ``n`` newest documents of ``match`` by ``sort_key``:
    the shape served from an index ending in ``sort_key`` on both stores."""
    pipeline: list[dict[str, Any]] = [
        {"$match": match},
        {"$sort": {"sort_key": -1}},
        {"$limit": n},
    ]
    if projection:
        pipeline.append({"$project": projection})
    return pipeline


def _page_pipeline(match: dict[str, Any], limit: int,
                   projection: dict[str, Any] | None) -> list[dict[str, Any]]:
    return newest_first(match, check_limit(limit) + 1, projection)


def _cut_page(
    docs: list[dict[str, Any]], limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    if len(docs) > limit:
        docs = docs[:limit]
        return docs, encode_cursor(docs[-1]["sort_key"])
    return docs, None


def fetch_page(
    collection: Collection,
    match: dict[str, Any],
    limit: int,
    projection: dict[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page, newest first, and the cursor of the next page (or ``None``)."""
    return _cut_page(list(collection.aggregate(_page_pipeline(match, limit, projection))),
                     limit)


def fetch_merged_page(
    collection: Collection,
    matches: list[dict[str, Any]],
    limit: int,
    projection: dict[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page over the union of several filters, newest first.

    Each filter is its own index-served page of ``limit + 1`` (the union's first
    ``limit + 1`` are among them), merged here by ``sort_key``: an ``$or`` of the
    filters would not be served by one index on the embedded store. A document
    matching several filters appears once.
    """
    seen: dict[Any, dict[str, Any]] = {}
    for match in matches:
        for doc in collection.aggregate(_page_pipeline(match, limit, projection)):
            seen.setdefault(doc["_id"], doc)
    merged = sorted(seen.values(), key=lambda d: d["sort_key"], reverse=True)
    return _cut_page(merged, limit)
