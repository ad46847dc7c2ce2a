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

from pymongo import ReplaceOne, ReturnDocument
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError

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


#: MongoDB's error code for a write that met an existing document's unique key (the
#: one code every "already there" check of a bulk write compares against).
DUPLICATE_KEY = 11000


def replace_each_if_unchanged(collection: Collection,
                              writes: list[tuple[Doc, Doc]]) -> list[Doc | None]:
    """``replace_if_unchanged`` for each (current, changes) pair, in one unordered bulk
    write per ``BATCH`` (a batch of leads rebuilt from HubSpot: one round trip instead
    of one per lead). Returns, in order, each new document, or ``None`` where the
    document changed (or went) since it was read: that write did not happen.

    Each replacement is an upsert filtered on the revision read (``revision_filter``):
    a document changed meanwhile no longer matches, so the upsert tries to insert a
    second document with its ``_id`` and is refused with a duplicate key, alone (the
    bulk is unordered). A document deleted meanwhile is upserted back instead: such
    writes are deleted again at once (filtered on the revision they wrote, so a write
    that came after ours is kept) and reported as ``None``, as the one-by-one write
    would have reported them."""
    new_docs = [{**current, **changes, "_id": current["_id"],
                 "rev": (current.get("rev") or 0) + 1} for current, changes in writes]
    written: list[Doc | None] = list(new_docs)
    for start in range(0, len(writes), BATCH):
        ops = [ReplaceOne(revision_filter(current), new, upsert=True)
               for (current, _), new in zip(writes[start:start + BATCH],
                                            new_docs[start:start + BATCH], strict=True)]
        upserted: dict[int, Any] = {}
        try:
            upserted = collection.bulk_write(ops, ordered=False).upserted_ids or {}
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors") or []
            if not errors or any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            for error in errors:
                written[start + int(error["index"])] = None
            upserted = {int(u["index"]): u["_id"] for u in exc.details.get("upserted") or []}
        for index in upserted:
            gone = new_docs[start + index]
            collection.delete_one({"_id": gone["_id"], "rev": gone["rev"]})
            written[start + index] = None
    return written


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
