"""Readers that turn HubSpot pages into batches of records plus the cursor position
that is true once the batch is stored.

Full pulls read the list endpoint (id order, opaque ``after`` cursor): the active
records, then ``archived=true`` so deletions are known. Incremental pulls read search
on the last-modified property in *keyset* windows: every request starts a fresh query
at offset 0 from the last timestamp seen (``GTE``), so HubSpot's 10,000-result cap is
never reached and a record that moves while we page cannot shift an unread one past
us (offset paging would skip it for good). When half a page or more shares its last
timestamp (a bulk edit can give 25,000 records the same time), that timestamp is drained on its
own, sorted and keyed on ``hs_object_id``, and the window then continues after it, so
nothing loops and nothing is skipped. (Within one timestamp HubSpot guarantees no order,
so the drain starts from the lowest id and re-reads what the window already returned.)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pc_core.hubspot.connection.objects import (
    ASSOCIATIONS,
    MODIFIED_PROPERTY,
    PROPERTIES,
    ObjectType,
)
from pc_core.hubspot.connection.transport import HubSpotApi

LIST_LIMIT = 100  # HubSpot's maximum for list pages
SEARCH_LIMIT = 200  # HubSpot's maximum for search pages
ASSOCIATION_BATCH = 1000  # v4 batch read maximum


@dataclass(slots=True)
class HsRecord:
    """One CRM object as a pull keeps it (values as HubSpot's strings)."""

    id: str
    properties: dict[str, str | None]
    archived: bool
    updated_at: str
    modified_ms: int
    associations: dict[str, list[str]] | None = None
    #: inline associations were cut at a page (``paging.next``): read them in full
    more_associations: bool = False


@dataclass
class Batch:
    """Records to store, then the cursor fields that hold once they are stored."""

    records: list[HsRecord]
    position: dict[str, Any] = field(default_factory=dict)


def iso_to_ms(value: str | None) -> int:
    """HubSpot time (ISO 8601 with ``Z``, or epoch-ms digits) → epoch milliseconds."""
    if not value:
        return 0
    if value.isdigit():
        return int(value)
    return round(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


def _unique(ids: list[str]) -> list[str]:
    """Ids in first-seen order (HubSpot repeats an id once per association label)."""
    return list(dict.fromkeys(ids))


def parse_record(item: dict[str, Any], object_type: ObjectType,
                 inline_associations: bool) -> HsRecord:
    props = item.get("properties") or {}
    updated = item.get("updatedAt") or props.get(MODIFIED_PROPERTY[object_type]) or ""
    modified = props.get(MODIFIED_PROPERTY[object_type]) or updated
    assoc = None
    more = False
    if inline_associations and ASSOCIATIONS[object_type]:
        found = item.get("associations") or {}
        assoc = {
            to: _unique([str(r["id"]) for r in (found.get(to) or {}).get("results") or []])
            for to in ASSOCIATIONS[object_type]
        }
        more = any(((found.get(to) or {}).get("paging") or {}).get("next")
                   for to in ASSOCIATIONS[object_type])
    return HsRecord(
        id=str(item["id"]),
        properties=props,
        archived=bool(item.get("archived", False)),
        updated_at=updated,
        modified_ms=iso_to_ms(modified),
        associations=assoc,
        more_associations=more,
    )


# -- full pulls: the list endpoint -------------------------------------------------------


def list_batches(api: HubSpotApi, object_type: ObjectType, *, archived: bool,
                 after: str | None) -> Iterator[Batch]:
    """One batch per list page; ``position['full_after']`` is the next page's cursor
    (``None`` once the pass is complete)."""
    props = list(PROPERTIES[object_type])
    assoc = list(ASSOCIATIONS[object_type])
    while True:
        page = api.list_page(object_type, after=after, properties=props, archived=archived,
                             associations=assoc, limit=LIST_LIMIT)
        records = [parse_record(i, object_type, True) for i in page.get("results") or []]
        cut = [r for r in records if r.more_associations]
        if cut:  # the inline lists stop at a page: read those records' lists to the end
            _associate(api, object_type, cut, {})
        after = ((page.get("paging") or {}).get("next") or {}).get("after")
        yield Batch(records, {"full_after": after})
        if not after:
            return


def newest_modified_ms(api: HubSpotApi, object_type: ObjectType) -> int | None:
    """The newest last-modified time HubSpot's search index knows (one request).

    Taken when a full pull starts: the first incremental pull starts there. It comes
    from HubSpot's own clock and index, so neither our clock nor search-index lag can
    open a gap between the full pull and the first incremental one.
    """
    prop = MODIFIED_PROPERTY[object_type]
    answer = api.search(object_type, {
        "filterGroups": [],
        "sorts": [{"propertyName": prop, "direction": "DESCENDING"}],
        "properties": [prop],
        "limit": 1,
    })
    results = answer.get("results") or []
    if not results:
        return None
    return parse_record(results[0], object_type, False).modified_ms


# -- incremental pulls: search in keyset windows --------------------------------------


def _window_body(object_type: ObjectType, since_ms: int) -> dict[str, Any]:
    prop = MODIFIED_PROPERTY[object_type]
    return {
        "filterGroups": [{"filters": [
            {"propertyName": prop, "operator": "GTE", "value": str(since_ms)},
        ]}],
        "sorts": [{"propertyName": prop, "direction": "ASCENDING"}],
        "properties": list(PROPERTIES[object_type]),
        "limit": SEARCH_LIMIT,
    }


def _tie_body(object_type: ObjectType, at_ms: int, after_id: str) -> dict[str, Any]:
    prop = MODIFIED_PROPERTY[object_type]
    return {
        "filterGroups": [{"filters": [
            {"propertyName": prop, "operator": "EQ", "value": str(at_ms)},
            {"propertyName": "hs_object_id", "operator": "GT", "value": after_id},
        ]}],
        "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
        "properties": list(PROPERTIES[object_type]),
        "limit": SEARCH_LIMIT,
    }


def search_pages(api: HubSpotApi, object_type: ObjectType, *, since_ms: int,
                 tie_after_id: str | None, lookback_ms: int) -> Iterator[Batch]:
    """Every record modified at or after ``since_ms`` (the first window starts
    ``lookback_ms`` earlier, against search-index lag), one batch per search page, each
    with the cursor position that holds once it is stored.

    ``frontier`` is that position outside a drain: every record before it is stored. A
    drain's position is its timestamp and last id instead (it may lie in the look-back,
    below the frontier: resuming there only reads a little more again).
    """
    frontier = since_ms
    tie_at = since_ms if tie_after_id is not None else None
    start = since_ms - lookback_ms  # where the next time-sorted window begins
    while True:
        if tie_at is not None:
            page = api.search(object_type, _tie_body(object_type, tie_at, tie_after_id or "0"))
            records = [parse_record(i, object_type, False) for i in page.get("results") or []]
            if len(records) == SEARCH_LIMIT:
                tie_after_id = records[-1].id
                yield Batch(records, {"since_ms": tie_at, "tie_after_id": tie_after_id})
                continue
            # every record at tie_at is stored: continue just after it
            frontier, start = max(frontier, tie_at + 1), tie_at + 1
            tie_at = tie_after_id = None
            yield Batch(records, {"since_ms": frontier, "tie_after_id": None})
            continue
        page = api.search(object_type, _window_body(object_type, start))
        records = [parse_record(i, object_type, False) for i in page.get("results") or []]
        if not records:
            yield Batch([], {"since_ms": frontier, "tie_after_id": None})
            return
        last = records[-1].modified_ms
        if len(records) < SEARCH_LIMIT:
            # the window's end: this page holds every record at its last timestamp too
            frontier = max(frontier, last + 1)
            yield Batch(records, {"since_ms": frontier, "tie_after_id": None})
            return
        if _sharing_last(records) * 2 >= SEARCH_LIMIT:
            # half the page or more at its last timestamp (a bulk edit): drain that
            # timestamp by id rather than asking for it again sorted by time
            tie_at, tie_after_id = last, "0"
            yield Batch(records, {"since_ms": last, "tie_after_id": "0"})
            continue
        start = last  # the page may end midway through ``last``: ask from there again
        frontier = max(frontier, last)
        yield Batch(records, {"since_ms": frontier, "tie_after_id": None})


def _sharing_last(records: list[HsRecord]) -> int:
    """How many records at the end of a time-sorted page share its last timestamp."""
    last, n = records[-1].modified_ms, 0
    for rec in reversed(records):
        if rec.modified_ms != last:
            break
        n += 1
    return n


def with_associations(api: HubSpotApi, object_type: ObjectType,
                      batches: Iterator[Batch]) -> Iterator[Batch]:
    """Search answers carry no associations: gather pages up to 1,000 records and read
    their associations in one v4 batch request (fewer requests than one per page)."""
    targets = ASSOCIATIONS[object_type]
    if not targets:
        yield from batches
        return
    pending: dict[str, HsRecord] = {}  # by id: a keyset re-read repeats records
    position: dict[str, Any] = {}
    for batch in batches:
        for rec in batch.records:
            pending[rec.id] = rec
        position = {**position, **batch.position}
        if len(pending) + SEARCH_LIMIT > ASSOCIATION_BATCH:
            yield _associate(api, object_type, list(pending.values()), position)
            pending, position = {}, {}
    if pending or position:
        yield _associate(api, object_type, list(pending.values()), position)


def _associate(api: HubSpotApi, object_type: ObjectType, records: list[HsRecord],
               position: dict[str, Any]) -> Batch:
    ids = list(dict.fromkeys(r.id for r in records))
    found = {to: associated_ids(api, object_type, to, ids) for to in ASSOCIATIONS[object_type]}
    for rec in records:
        rec.associations = {to: found[to].get(rec.id, []) for to in ASSOCIATIONS[object_type]}
        rec.more_associations = False
    return Batch(records, position)


def associated_ids(api: HubSpotApi, from_type: str, to_type: str,
                   ids: list[str]) -> dict[str, list[str]]:
    """Every associated id of each of ``ids`` (v4 batch reads of ≤ 1,000 ids, each
    object's list read to its end: ids whose answer had ``paging.next`` are asked again
    with that ``after`` until none has one)."""
    found: dict[str, list[str]] = {i: [] for i in ids}
    for start in range(0, len(ids), ASSOCIATION_BATCH):
        pending: dict[str, str | None] = dict.fromkeys(ids[start:start + ASSOCIATION_BATCH])
        while pending:
            answer = api.associations(from_type, to_type, list(pending), pending)
            pending = {}
            for row in answer.get("results") or []:
                from_id = str((row.get("from") or {}).get("id"))
                if from_id not in found:
                    continue
                found[from_id].extend(str(t["toObjectId"]) for t in row.get("to") or [])
                after = ((row.get("paging") or {}).get("next") or {}).get("after")
                if after:
                    pending[from_id] = str(after)
    return {i: _unique(v) for i, v in found.items()}
