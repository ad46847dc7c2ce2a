"""Document updates that store the same thing on real MongoDB and on the embedded
server.

The embedded server stores a top-level datetime written by ``$set`` as a string
(and ``$push`` of a sub-document as JSON text), while inserts and whole-document
replacements keep BSON dates. So every update that writes a datetime replaces the
whole document, guarded by the revision it was read at (``rev``): a compare-and-set
that is also how concurrent writers are detected on real MongoDB.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pymongo import ReturnDocument
from pymongo.collection import Collection

from pc_core.errors import Conflict, NotFound

Doc = dict[str, Any]
# Bulk writes and ``$in`` reads go in batches of this many: what both stores handle well.
BATCH = 100


def revision_filter(current: Doc, expect: Doc | None = None) -> Doc:
    """The filter matching ``current`` as it was read (its ``_id`` and ``rev``), plus
    any ``expect``ed field values (e.g. the state the write starts from)."""
    rev = current.get("rev")
    return {**(expect or {}), "_id": current["_id"],
            "rev": rev if rev is not None else {"$exists": False}}


def replace_if_unchanged(collection: Collection, current: Doc, changes: Doc, *,
                         expect: Doc | None = None) -> Doc | None:
    """Write ``current`` + ``changes`` if nobody changed the document since it was
    read (and it still has the ``expect``ed values); returns the new document, or
    ``None`` when it changed meanwhile."""
    new = {**current, **changes, "_id": current["_id"], "rev": (current.get("rev") or 0) + 1}
    return collection.find_one_and_replace(
        revision_filter(current, expect), new, return_document=ReturnDocument.AFTER
    )


def update_with_retry(
    collection: Collection,
    doc_id: str,
    change: Callable[[Doc], Doc | None],
    *,
    what: str,
    attempts: int = 5,
) -> Doc:
    """Read, compute the changes, compare-and-set; retried on a concurrent change.

    ``change`` returns the fields to set, or ``None`` when there is nothing to do.
    It may raise a domain error to refuse the change.
    """
    for _ in range(attempts):
        current = collection.find_one({"_id": doc_id})
        if current is None:
            raise NotFound(f"{what} not found")
        changes = change(current)
        if changes is None:
            return current
        written = replace_if_unchanged(collection, current, changes)
        if written is not None:
            return written
    raise Conflict(f"the {what} is being changed by others; try again")
