"""What a saved search or a standing order asks of a listing (``Criteria``), and the
keys that let the database pick the few that can match it.

A criteria has four equality dimensions (industry, company size, location, stage;
each either a value or "any") and three bounds (minimum budget, maximum price,
maximum age). Each stored search carries one ``match_key``: its four dimensions with
"any" as ``null``, as JSON. A listing can only be matched by searches whose key is
one of the 2⁴ = 16 combinations of its own values and "any", so candidates are one
indexed ``$in`` of at most 16 keys plus the price bound as a range: no scan of every
search, whatever their number (bench/buyer_alerts_bench.py). ``accepts`` is the
whole rule in Python, checked on each candidate.

The bounds are stored with neutral values when not set (``budget_min`` 0,
``price_max`` and ``max_age_days`` very large), so that they are plain ranges.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from pymongo.collection import Collection

from pc_core.models.buyer_alerts import Criteria

Doc = dict[str, Any]
DIMENSIONS = ("industry", "company_size", "location", "stage")
NO_PRICE_LIMIT = 10**13
NO_AGE_LIMIT = 100_000


def match_key(values: tuple[str | None, ...]) -> str:
    return json.dumps(list(values), separators=(",", ":"))


def stored_fields(criteria: Criteria) -> Doc:
    """The criteria as stored on a search or order: the values, the match key and
    the bounds in their range form."""
    values = criteria.model_dump(mode="json")
    return {
        "criteria": values,
        "match_key": match_key(tuple(values[d] or None for d in DIMENSIONS)),
        "budget_min": values["budget_min"] or 0,
        "price_max": NO_PRICE_LIMIT if values["price_max"] is None else values["price_max"],
        "max_age_days": NO_AGE_LIMIT if values["max_age_days"] is None
        else values["max_age_days"],
    }


def listing_keys(listing: Doc) -> list[str]:
    """The match keys of every criteria that a listing's dimensions satisfy."""
    options = [(listing.get(d), None) if listing.get(d) else (None,) for d in DIMENSIONS]
    return [match_key(combo) for combo in itertools.product(*options)]


def candidates(collection: Collection, listing: Doc) -> list[Doc]:
    """The active searches or orders of ``collection`` that match ``listing`` (a
    ``listing_view``), never its own seller's.

    The query is the part an index serves, ``(active, match_key, price_max)``: an
    aggregation ``$match`` (the embedded store serves an aggregation's ``$in`` from
    the index, where a ``find`` with it scans); the rest of the rule (budget, age,
    the seller) is ``accepts`` on the few candidates.
    """
    found = collection.aggregate([{"$match": {
        "active": True,
        "match_key": {"$in": listing_keys(listing)},
        "price_max": {"$gte": listing["price_cents"]},
    }}])
    return [d for d in found if d["partner_id"] != listing["seller_partner_id"]
            and accepts(d["criteria"], listing)]


def accepts(criteria: Doc, listing: Doc) -> bool:
    """Whether ``listing`` passes ``criteria`` (stored values), in Python."""
    for dim in DIMENSIONS:
        wanted = criteria.get(dim)
        if wanted and listing.get(dim) != wanted:
            return False
    if criteria.get("budget_min") and (listing.get("budget_cents") or 0) < criteria["budget_min"]:
        return False
    if criteria.get("price_max") is not None and listing["price_cents"] > criteria["price_max"]:
        return False
    return not (criteria.get("max_age_days") is not None
                and listing.get("age_days", 0) > criteria["max_age_days"])
