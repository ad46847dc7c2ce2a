"""Counting: with an aggregation (``$match`` + ``$group``), which both stores serve
from an index; ``count_documents`` with a filter scans the embedded store."""

from __future__ import annotations

from pymongo.collection import Collection


def count_by(collection: Collection, match: dict, field: str) -> dict[str, int]:
    """Documents matching ``match``, counted per value of ``field`` (values the
    documents lack are left out)."""
    rows = collection.aggregate(
        [{"$match": match}, {"$group": {"_id": f"${field}", "n": {"$sum": 1}}}]
    )
    return {str(r["_id"]): int(r["n"]) for r in rows if r["_id"] is not None}
