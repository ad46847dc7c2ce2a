"""CRM search (``POST /crm/v3/objects/{type}/search``) answered from the indexes.

Filters on the last-modified property and ``hs_object_id`` become ranges of the sorted
``(lastmodified, id)`` index or of the id list, so the incremental-pull pattern
(``lastmodified GTE t`` sorted ascending, ties broken on ``hs_object_id``) costs O(page), not
O(portal). Other filters are applied to the candidates. HubSpot's limits hold: ``limit`` ≤ 200,
``after`` is a numeric offset and may not reach 10,000, at most 5 groups of 6 filters.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from datetime import datetime
from itertools import islice
from typing import Any

from fastapi import APIRouter, Depends, Request

from . import clock, errors, limits, render, schema
from .routing import FastJSON, HubSpotRoute, gate, json_body, object_type_or_404
from .state import ObjectStore, Portal, Record

router = APIRouter(route_class=HubSpotRoute)

MAX_LIMIT = 200
MAX_RESULTS = 10_000
MAX_GROUPS = 5
MAX_FILTERS_PER_GROUP = 6
INF = 1 << 62
SEARCHABLE = {
    "contacts": ("firstname", "lastname", "email", "phone", "company"),
    "deals": ("dealname",),
    "notes": ("hs_note_body",),
}
Key = tuple[int, int]  # (lastmodified ms, id)
Pred = Callable[[Record], bool]


def to_ms(value: Any) -> int:
    """A datetime filter value: epoch ms (number or digits) or an ISO date/datetime."""
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise errors.validation_error(f"{value!r} is not a valid timestamp")
    if dt.tzinfo is None:
        from datetime import UTC

        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def _numeric(portal: Portal, otype: str, name: str) -> str | None:
    """'datetime'/'number' for properties compared numerically, else None (string compare)."""
    definition = schema.BUILTIN_PROPERTIES[otype].get(name) or portal.custom_properties.get(
        otype, {}).get(name)
    kind = definition["type"] if definition else None
    return kind if kind in ("datetime", "date", "number") else None


def _coerce(kind: str | None, value: Any) -> Any:
    if value is None:
        return None
    if kind in ("datetime", "date"):
        return to_ms(value)
    if kind == "number":
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    return str(value).lower()


def _predicate(portal: Portal, otype: str, f: dict[str, Any]) -> Pred:
    """A residual filter over a record's values."""
    name, op = f["propertyName"], f["operator"]
    kind = _numeric(portal, otype, name)
    target = _coerce(kind, f.get("value"))
    high = _coerce(kind, f.get("highValue"))
    values = [_coerce(kind, v) for v in f.get("values") or []]

    def value_of(rec: Record) -> Any:
        computed = render.computed_props(otype, rec)
        raw = computed.get(name, render.current_props(portal, otype, rec).get(name))
        return _coerce(kind, raw)

    def check(rec: Record) -> bool:
        v = value_of(rec)
        if op == "HAS_PROPERTY":
            return v is not None
        if op == "NOT_HAS_PROPERTY":
            return v is None
        if op == "NEQ":
            return v != target
        if op == "NOT_IN":
            return v not in values
        if v is None:
            return False
        if op == "EQ":
            return v == target
        if op == "IN":
            return v in values
        if op == "CONTAINS_TOKEN":
            return str(target).strip("*") in str(v)
        if op == "NOT_CONTAINS_TOKEN":
            return str(target).strip("*") not in str(v)
        try:
            if op == "GT":
                return v > target
            if op == "GTE":
                return v >= target
            if op == "LT":
                return v < target
            if op == "LTE":
                return v <= target
            if op == "BETWEEN":
                return target <= v <= high
        except TypeError:
            return False
        return False

    return check


class Group:
    """One filter group as an index range plus residual predicates.

    ``lo``/``hi`` bound the (lastmodified, id) key (inclusive); ``id_lo``/``id_hi`` bound ids.
    """

    def __init__(self) -> None:
        self.ts_lo, self.ts_hi = -INF, INF
        self.id_lo, self.id_hi = -INF, INF
        self.has_ts = False
        self.residual: list[Pred] = []

    def key_range(self) -> tuple[Key, Key]:
        """Bounds on the (ts, id) key; id bounds are exact only when one timestamp is selected."""
        if self.ts_lo == self.ts_hi:
            return (self.ts_lo, self.id_lo), (self.ts_hi, self.id_hi)
        return (self.ts_lo, -INF), (self.ts_hi, INF)

    def id_residual(self) -> bool:
        """Whether id bounds must still be checked per record (not covered by key_range)."""
        return self.ts_lo != self.ts_hi and (self.id_lo > -INF or self.id_hi < INF)


def _bound(group: Group, field: str, op: str, value: int, high: int | None) -> bool:
    """Fold an indexable comparison into the group's bounds; False if not indexable."""
    lo_attr, hi_attr = ("ts_lo", "ts_hi") if field == "ts" else ("id_lo", "id_hi")
    lo, hi = getattr(group, lo_attr), getattr(group, hi_attr)
    if op == "EQ":
        lo, hi = max(lo, value), min(hi, value)
    elif op == "GT":
        lo = max(lo, value + 1)
    elif op == "GTE":
        lo = max(lo, value)
    elif op == "LT":
        hi = min(hi, value - 1)
    elif op == "LTE":
        hi = min(hi, value)
    elif op == "BETWEEN" and high is not None:
        lo, hi = max(lo, value), min(hi, high)
    else:
        return False
    setattr(group, lo_attr, lo)
    setattr(group, hi_attr, hi)
    return True


def parse_groups(portal: Portal, otype: str, body: dict[str, Any]) -> list[Group]:
    """Validate ``filterGroups`` and split each filter into index bounds or residuals."""
    raw_groups = body.get("filterGroups") or []
    if not isinstance(raw_groups, list) or len(raw_groups) > MAX_GROUPS:
        raise errors.validation_error(f"At most {MAX_GROUPS} filterGroups are allowed")
    modified = schema.MODIFIED_PROP[otype]
    custom = portal.custom_properties.get(otype, {})
    groups = []
    for raw in raw_groups:
        filters = (raw or {}).get("filters") or []
        if len(filters) > MAX_FILTERS_PER_GROUP:
            raise errors.validation_error(
                f"At most {MAX_FILTERS_PER_GROUP} filters are allowed per filterGroup")
        g = Group()
        for f in filters:
            name, op = f.get("propertyName"), f.get("operator", "EQ")
            if not name or (name not in schema.BUILTIN_PROPERTIES[otype] and name not in custom):
                raise errors.validation_error(
                    f"There was a problem with the request: property {name!r} does not exist",
                    [{"message": f"Property {name!r} does not exist", "code": "INVALID_FILTER"}])
            f = {**f, "operator": op}
            indexed = False
            if name in (modified, "hs_object_id") and f.get("value") is not None:
                field = "ts" if name == modified else "id"
                conv = to_ms if field == "ts" else _to_int
                high = f.get("highValue")
                indexed = _bound(g, field, op, conv(f["value"]),
                                 conv(high) if high is not None else None)
                g.has_ts = g.has_ts or (indexed and field == "ts")
            if not indexed:
                g.residual.append(_predicate(portal, otype, f))
        groups.append(g)
    return groups or [Group()]


def _to_int(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise errors.validation_error(f"{value!r} is not a valid number")


def parse_sort(otype: str, body: dict[str, Any]) -> tuple[str, bool]:
    """(property, descending) from ``sorts`` — strings (``-prop`` = desc) or objects."""
    sorts = body.get("sorts") or []
    if not sorts:
        return "hs_object_id", False
    first = sorts[0]
    if isinstance(first, str):
        return (first[1:], True) if first.startswith("-") else (first, False)
    if isinstance(first, dict) and first.get("propertyName"):
        return first["propertyName"], str(first.get("direction", "ASCENDING")).upper() in (
            "DESCENDING", "DESC")
    raise errors.validation_error("Invalid sort")


def _stream_ts(store: ObjectStore, g: Group, desc: bool, extra: list[Pred]) -> Iterator[Key]:
    lo, hi = g.key_range()
    idx = store.mod_index
    a, b = bisect_left(idx, lo), bisect_right(idx, hi)
    rng = range(b - 1, a - 1, -1) if desc else range(a, b)
    preds = g.residual + extra
    check_id = g.id_residual()
    for i in rng:
        key = idx[i]
        if check_id and not g.id_lo <= key[1] <= g.id_hi:
            continue
        if preds:
            rec = store.records[key[1]]
            if not all(p(rec) for p in preds):
                continue
        yield key


def _stream_id(store: ObjectStore, g: Group, desc: bool, extra: list[Pred]) -> Iterator[Key]:
    ids = store.active_ids
    a, b = bisect_left(ids, g.id_lo), bisect_right(ids, g.id_hi)
    rng = range(b - 1, a - 1, -1) if desc else range(a, b)
    preds = g.residual + extra
    for i in rng:
        rec = store.records[ids[i]]
        if g.has_ts and not g.ts_lo <= rec.updated <= g.ts_hi:
            continue
        if preds and not all(p(rec) for p in preds):
            continue
        yield (rec.id, rec.id)


def _dedupe(keys: Iterator[Key]) -> Iterator[Key]:
    last = None
    for k in keys:
        if k != last:
            yield k
        last = k


def run(portal: Portal, otype: str, body: dict[str, Any]) -> tuple[int, list[Record], int]:
    """Execute a search: (total, page records, offset)."""
    limit = body.get("limit", 10)
    after = body.get("after") or 0
    try:
        limit, offset = int(limit), int(str(after))
    except ValueError:
        raise errors.validation_error("limit and after must be integers")
    if limit < 0 or limit > MAX_LIMIT:
        raise errors.validation_error(f"limit must be between 0 and {MAX_LIMIT}")
    if offset >= MAX_RESULTS:
        raise errors.validation_error(
            f"There was a problem with the request: paging past {MAX_RESULTS} results is not "
            "supported; narrow the query instead",
            [{"message": f"after must be less than {MAX_RESULTS}", "in": "after"}])
    groups = parse_groups(portal, otype, body)
    extra: list[Pred] = []
    query = (body.get("query") or "").strip().lower()
    if query:
        fields = SEARCHABLE.get(otype, ())

        def matches(rec: Record) -> bool:
            values = render.current_props(portal, otype, rec)
            return any(query in (values.get(f) or "").lower() for f in fields)

        extra.append(matches)
    lag = limits.CONFIG.search_lag_ms
    if lag:
        indexed_until = clock.now_ms() - lag

        def indexed(rec: Record) -> bool:
            return rec.updated <= indexed_until

        extra.append(indexed)
    sort_prop, desc = parse_sort(otype, body)
    store = portal.store(otype)
    modified = schema.MODIFIED_PROP[otype]
    # One timestamp for every group (the tie-break query of an incremental pull): the
    # (lastmodified, id) index is already in id order there, so an id sort needs no sort.
    one_ts = len({g.ts_lo for g in groups}) == 1 and all(
        g.has_ts and g.ts_lo == g.ts_hi for g in groups)
    by_ts = sort_prop == modified or (sort_prop == "hs_object_id" and one_ts)
    if by_ts:
        streams = [_stream_ts(store, g, desc, extra) for g in groups]
    elif sort_prop == "hs_object_id" and not any(g.has_ts for g in groups):
        streams = [_stream_id(store, g, desc, extra) for g in groups]
    else:
        return _run_sorted(portal, otype, store, groups, extra, sort_prop, desc, limit, offset)
    merged = _dedupe(heapq.merge(*streams, reverse=desc)) if len(streams) > 1 else streams[0]
    page = list(islice(merged, offset, offset + limit)) if limit else []
    if not extra and all(not g.residual and not g.id_residual() for g in groups):
        total = _count_ranges(store, groups, by_ts)
    else:
        fresh = [(_stream_ts if by_ts else _stream_id)(store, g, desc, extra)
                 for g in groups]
        total = sum(1 for _ in _dedupe(heapq.merge(*fresh, reverse=desc)))
    return total, [store.records[k[1]] for k in page], offset


def _count_ranges(store: ObjectStore, groups: list[Group], by_ts: bool) -> int:
    """Size of the union of index ranges, without touching records."""
    spans = []
    for g in groups:
        if by_ts:
            lo, hi = g.key_range()
            spans.append((bisect_left(store.mod_index, lo), bisect_right(store.mod_index, hi)))
        else:
            spans.append((bisect_left(store.active_ids, g.id_lo),
                          bisect_right(store.active_ids, g.id_hi)))
    total, reach = 0, -1
    for a, b in sorted(spans):
        a = max(a, reach)
        if b > a:
            total += b - a
        reach = max(reach, b)
    return total


def _run_sorted(portal: Portal, otype: str, store: ObjectStore, groups: list[Group],
                extra: list[Pred], sort_prop: str, desc: bool, limit: int,
                offset: int) -> tuple[int, list[Record], int]:
    """General path: collect matches, sort by any property. O(matches)."""
    matched: dict[int, Record] = {}
    for g in groups:
        source = _stream_ts(store, g, False, extra) if g.has_ts else _stream_id(
            store, g, False, extra)
        for key in source:
            matched[key[1]] = store.records[key[1]]
    kind = _numeric(portal, otype, sort_prop)

    def sort_key(rec: Record) -> tuple[int, Any, int]:
        computed = render.computed_props(otype, rec)
        raw = computed.get(sort_prop, render.current_props(portal, otype, rec).get(sort_prop))
        v = _coerce(kind, raw)
        return (1 if v is None else 0, v if v is not None else 0, rec.id)

    ordered = sorted(matched.values(), key=sort_key, reverse=desc)
    return len(ordered), ordered[offset : offset + limit], offset


@router.post("/crm/v3/objects/{object_type}/search")
async def search(object_type: str, request: Request,
                 portal: Portal = Depends(gate)) -> FastJSON:
    """HubSpot's search answer: total, results, paging.next.after = next offset."""
    otype = object_type_or_404(object_type)
    body = await json_body(request)
    if len(str(body)) > 3000 * 4:
        raise errors.validation_error("Query too long")
    requested = body.get("properties") or None
    total, recs, offset = run(portal, otype, body)
    out: dict[str, Any] = {
        "total": total,
        "results": [render.object_json(portal, otype, r, requested) for r in recs],
    }
    nxt = offset + len(recs)
    if recs and nxt < total:
        out["paging"] = {"next": {"after": str(nxt)}}
    return FastJSON(out)
