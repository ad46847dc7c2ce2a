"""The saved searches a listing matches (``criteria.candidates``: one indexed
query, then the exact rule in Python)."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core.marketplace.criteria import candidates

Doc = dict[str, Any]


def matching_searches(db: Database, listing: Doc) -> list[Doc]:
    return candidates(db[c.SAVED_SEARCHES], listing)
