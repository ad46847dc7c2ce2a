"""Several reads, or several writes, in one round trip to the database.

``read_together`` reads from several collections with one aggregation on MongoDB:
the first collection's ``$match``, then ``$unionWith`` each other one's, each
document tagged with the read it answers; on nx-27017, whose aggregation is many
times slower than its finds, one ``find`` per read (``aggregates_well``).
``write_in_order`` sends writes to several collections as one client-level
``bulkWrite`` on MongoDB 8.0+, executed in order by the server and stopped at the
first refused. Older servers, and nx-27017 (it
accepts that command but, with several running at once, answers success for
writes it never stores), get one command per run of writes to the same collection
(an ordered ``insert`` or ``update`` with several statements), with the same
semantics.

A compare-and-set inside such a batch is an upsert whose filter holds the expected
values (``cas``): when the document no longer matches, the upsert tries to insert
a document with the same ``_id`` and fails with a duplicate key, which stops the
batch there. The server does not retry that upsert, since the filter is more than
an equality on ``_id``.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

from pymongo import InsertOne, MongoClient, UpdateOne
from pymongo.database import Database
from pymongo.errors import (
    BulkWriteError,
    ClientBulkWriteException,
    InvalidOperation,
    WriteError,
)

from pc_core.store.queues import exact

Doc = dict[str, Any]
_PART = "__read"


@dataclass(frozen=True)
class Read:
    collection: str
    match: Doc
    projection: Doc | None = None
    limit: int | None = None


def read_together(db: Database, reads: list[Read]) -> list[list[Doc]]:
    """The documents each read finds: in one aggregation on MongoDB, one ``find``
    per read on nx-27017 (``aggregates_well``)."""
    if not aggregates_well(db):
        found = []
        for read in reads:  # plain equalities as ``$eq``: index-served there (queues.exact)
            cursor = db[read.collection].find(exact(read.match), read.projection)
            found.append(list(cursor.limit(read.limit) if read.limit is not None else cursor))
        return found
    def stages(i: int, read: Read) -> list[Doc]:
        out: list[Doc] = [{"$match": read.match}]
        if read.limit is not None:
            out.append({"$limit": read.limit})
        if read.projection:
            out.append({"$project": {**read.projection, _PART: {"$literal": i}}})
        else:
            out.append({"$addFields": {_PART: i}})
        return out

    first, *others = reads
    pipeline = stages(0, first)
    for i, read in enumerate(others, start=1):
        pipeline.append({"$unionWith": {"coll": read.collection, "pipeline": stages(i, read)}})
    found: list[list[Doc]] = [[] for _ in reads]
    for doc in db[first.collection].aggregate(pipeline):
        found[int(doc.pop(_PART))].append(doc)
    return found


@dataclass(frozen=True)
class Write:
    collection: str
    document: Doc | None = None  # an insert
    filter: Doc | None = None  # an update
    update: Doc | None = None
    upsert: bool = False


def insert(collection: str, document: Doc) -> Write:
    return Write(collection, document=document)


def update(collection: str, filter_: Doc, change: Doc, *, upsert: bool = False) -> Write:
    return Write(collection, filter=filter_, update=change, upsert=upsert)


def cas(collection: str, expected: Doc, change: Doc) -> Write:
    """``change`` if the document still has the ``expected`` values (its ``_id``
    included), else a duplicate key that stops the batch. No document yet: created
    from ``expected`` and ``change``."""
    return Write(collection, filter=expected, update=change, upsert=True)


# Per client: whether its server takes the writes of a batch in one bulkWrite.
_ONE_COMMAND: weakref.WeakKeyDictionary[MongoClient, bool] = weakref.WeakKeyDictionary()
# Per client: whether its server is MongoDB (it reports a version; nx-27017 does not).
_MONGODB: weakref.WeakKeyDictionary[MongoClient, bool] = weakref.WeakKeyDictionary()


def is_mongodb(db: Database) -> bool:
    """Whether this database's server is MongoDB rather than the embedded nx-27017
    (asked once per client: MongoDB reports a version, nx-27017 none)."""
    if db.client not in _MONGODB:
        _MONGODB[db.client] = bool(db.client.server_info().get("version"))
    return _MONGODB[db.client]


def aggregates_well(db: Database) -> bool:
    """Whether ``read_together`` is one aggregation here: on MongoDB, yes. nx-27017
    runs a ``$unionWith`` aggregation whose stages match on anything but ``_id``
    20-40 times slower than the same reads as plain finds (measured 2026-12-05:
    the ChiliPiper booking's five reads, 13-31 ms as one aggregation, under 1 ms
    each as finds), so there the reads go one by one."""
    return is_mongodb(db)


def one_round_trip(db: Database) -> bool:
    """Whether ``write_in_order`` is one round trip on this database: MongoDB 8.0+
    (asked once per client; nx-27017 reports no version)."""
    if db.client not in _ONE_COMMAND:
        major = str(db.client.server_info().get("version") or "").split(".")[0]
        _ONE_COMMAND[db.client] = major.isdigit() and int(major) >= 8
    return _ONE_COMMAND[db.client]


def write_in_order(db: Database, writes: list[Write]) -> int | None:
    """Apply ``writes`` in order; the index of the first refused (a duplicate key,
    e.g. a ``cas`` that no longer matches, or another write error; nothing after it
    is applied), or ``None`` when all were applied. Put the write whose refusal is
    likeliest first: what was applied before a refusal is the caller's to undo."""
    if one_round_trip(db):
        models = [InsertOne(w.document, namespace=f"{db.name}.{w.collection}")
                  if w.document is not None else
                  UpdateOne(w.filter, w.update, upsert=w.upsert,
                            namespace=f"{db.name}.{w.collection}") for w in writes]
        try:
            db.client.bulk_write(models, ordered=True)
            return None
        except ClientBulkWriteException as exc:
            errors = exc.write_errors or []
            if exc.error is None and errors:
                return int(errors[0]["idx"])
            raise
        except InvalidOperation as exc:
            if "8.0" not in str(exc):
                raise
            _ONE_COMMAND[db.client] = False
    start = 0
    for run in _runs(writes):
        failed = _write_run(db, run)
        if failed is not None:
            return start + failed
        start += len(run)
    return None


def _runs(writes: list[Write]) -> list[list[Write]]:
    """``writes`` cut where the collection changes: each run is one command."""
    runs: list[list[Write]] = []
    for w in writes:
        if runs and runs[-1][0].collection == w.collection:
            runs[-1].append(w)
        else:
            runs.append([w])
    return runs


def _write_run(db: Database, run: list[Write]) -> int | None:
    """Writes to one collection in one ordered command (``insert`` or ``update``
    with several statements, or a collection ``bulk_write`` when mixed); the index
    of the first refused, or ``None``."""
    coll = db[run[0].collection]
    try:
        if len(run) == 1:
            w = run[0]
            if w.document is not None:
                coll.insert_one(w.document)
            else:
                coll.update_one(w.filter, w.update, upsert=w.upsert)
        else:
            coll.bulk_write([InsertOne(w.document) if w.document is not None else
                             UpdateOne(w.filter, w.update, upsert=w.upsert) for w in run],
                            ordered=True)
    except WriteError:  # a duplicate key included
        return 0
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors") or []
        if not errors:
            raise
        return int(errors[0]["index"])
    return None
