"""Identifiers. Generated ids are ObjectId strings: unique, roughly time-ordered,
and plain strings in URLs."""

from __future__ import annotations

from bson import ObjectId

# ``sort_key`` moved to ``pc_core.store.keys``; re-exported here until every caller
# has moved (the coordinator removes it with the other store shims).
from pc_core.store.keys import sort_key  # noqa: F401


def new_id() -> str:
    return str(ObjectId())
