"""Raw HubSpot records → ``hubspot_contacts`` / ``hubspot_deals`` documents.

One document per partner and object (``_id`` = ``"{partner_id}:{hubspot_id}"``), so
storing the same record twice is a no-op and a resumed pull cannot duplicate anything.
Documents are written whole (``InsertOne`` / ``ReplaceOne``, at most 100 per bulk
write): on the embedded store a ``$set`` of a date stores a string.

``dirty`` tells the lead builder what to look at: set when a document is created or
its properties, associations or archived flag change. A change of the last-modified
time alone is not a change of content (a HubSpot pipeline edit bumps every deal's), so
such a document is rewritten with the new time but keeps its ``dirty`` flag and counts
as unchanged. A record identical to its document is not written at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import InsertOne, ReplaceOne
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError

from pc_core.hubspot.connection.objects import ASSOCIATIONS, MODIFIED_PROPERTY, ObjectType
from pc_core.hubspot.connection.pages import HsRecord, iso_to_ms
from pc_core.marketplace.known_contacts import contact_keys
from pc_core.store.documents import BATCH, DUPLICATE_KEY
from pc_core.timeutil import utcnow

WRITE_BATCH = BATCH  # the bulk-write size both stores handle well


@dataclass
class StoreCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    archived: int = 0  # newly archived (created archived, or flipped to archived)

    def add(self, other: StoreCounts) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.archived += other.archived


def doc_id(partner_id: str, hubspot_id: str) -> str:
    return f"{partner_id}:{hubspot_id}"


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ms_datetime(value: str) -> datetime:
    """Exact to the millisecond (what BSON keeps), so a stored time compares equal."""
    return EPOCH + timedelta(milliseconds=iso_to_ms(value))


def raw_doc(partner_id: str, object_type: ObjectType, rec: HsRecord, pulled_at: datetime,
            dirty: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": doc_id(partner_id, rec.id),
        "partner_id": partner_id,
        "hubspot_id": rec.id,
        "properties": rec.properties,
        "archived": rec.archived,
        "hs_updated_at": _ms_datetime(rec.updated_at),
        "pulled_at": pulled_at,
        "dirty": dirty,
    }
    if object_type == "contacts":  # the buyer's known-contact check (known_contacts)
        doc["match_keys"] = contact_keys(rec.properties or {})
    if ASSOCIATIONS[object_type]:
        doc["associations"] = rec.associations or {t: [] for t in ASSOCIATIONS[object_type]}
    return doc


def _content_equal(object_type: ObjectType, old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Same properties (bar the last-modified time), associations and archived flag."""
    if old.get("archived") != new["archived"]:
        return False
    if ASSOCIATIONS[object_type] and old.get("associations") != new["associations"]:
        return False
    old_props, new_props = old.get("properties") or {}, new["properties"]
    if old_props == new_props:
        return True
    skip = MODIFIED_PROPERTY[object_type]
    keys = (set(old_props) | set(new_props)) - {skip}
    return all(old_props.get(k) == new_props.get(k) for k in keys)


def store_records(collection: Collection, partner_id: str, object_type: ObjectType,
                  records: list[HsRecord], *, assume_new: bool = False) -> StoreCounts:
    """Compare with the stored documents and write what changed, 100 at a time.

    ``assume_new`` skips reading the stored documents first (a first full pull, when the
    partner has none yet): every record is inserted, and a record that turns out to
    exist after all (a page stored again after an interruption, a webhook's write) goes
    through the comparison instead.
    """
    latest: dict[str, HsRecord] = {}
    for rec in records:  # a keyset re-read can repeat a record; the last read wins
        latest[rec.id] = rec
    unique = list(latest.values())
    counts = StoreCounts()
    for start in range(0, len(unique), WRITE_BATCH):
        counts.add(_store_chunk(collection, partner_id, object_type,
                                unique[start:start + WRITE_BATCH], assume_new))
    return counts


def _store_chunk(collection: Collection, partner_id: str, object_type: ObjectType,
                 records: list[HsRecord], assume_new: bool, race_retry: bool = True,
                 ) -> StoreCounts:
    existing: dict[str, dict[str, Any]] = {}
    if not assume_new:
        ids = [doc_id(partner_id, r.id) for r in records]
        existing = {d["_id"]: d for d in collection.find({"_id": {"$in": ids}})}
    pulled_at = utcnow()
    counts = StoreCounts()
    docs: list[dict[str, Any]] = []
    inserts: list[bool] = []
    for rec in records:
        new = raw_doc(partner_id, object_type, rec, pulled_at, dirty=True)
        old = existing.get(new["_id"])
        if old is None:
            docs.append(new)
            inserts.append(True)
            if rec.archived:
                counts.archived += 1
            else:
                counts.created += 1
            continue
        if _content_equal(object_type, old, new):
            counts.unchanged += 1
            if old.get("properties") == new["properties"] and old.get(
                    "hs_updated_at") == new["hs_updated_at"]:
                continue  # identical: nothing to write
            new["dirty"] = bool(old.get("dirty", False))
        elif rec.archived and not old.get("archived"):
            counts.archived += 1
        else:
            counts.updated += 1
        docs.append(new)
        inserts.append(False)
    if not docs:
        return counts
    taken = _bulk_write(collection, docs, inserts, replace_taken=not race_retry)
    if taken:
        # inserts that found the document already there: compare with it instead
        again = [r for r in records if doc_id(partner_id, r.id) in taken]
        for rec in again:
            if rec.archived:
                counts.archived -= 1
            else:
                counts.created -= 1
        counts.add(_store_chunk(collection, partner_id, object_type, again, False,
                                race_retry=False))
    return counts


def _replace(doc: dict[str, Any]) -> ReplaceOne:
    return ReplaceOne({"_id": doc["_id"]}, doc, upsert=True)


def _bulk_write(collection: Collection, docs: list[dict[str, Any]], inserts: list[bool],
                *, replace_taken: bool) -> set[str]:
    """Unordered bulk write: inserts for new documents (cheaper than upserts on the
    embedded store), replacements for the rest. Returns the ids whose insert met an
    existing document (duplicate key), or replaces those when ``replace_taken`` (a
    second race in a row: ours is as fresh as theirs). Any other error is raised."""
    ops = [InsertOne(d) if ins else _replace(d) for d, ins in zip(docs, inserts, strict=True)]
    try:
        collection.bulk_write(ops, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors") or []
        if not errors or any(e.get("code") != DUPLICATE_KEY for e in errors):
            raise
        taken = [docs[e["index"]] for e in errors]
        if not replace_taken:
            return {d["_id"] for d in taken}
        collection.bulk_write([_replace(d) for d in taken], ordered=False)
    return set()
