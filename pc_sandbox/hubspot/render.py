"""Records → HubSpot JSON (``SimplePublicObject`` and friends).

Property values are strings (HubSpot style); computed fields (id, created/modified dates) are
derived from the record so they can never disagree with the indexes.
"""

from __future__ import annotations

from typing import Any

from . import clock, generator, schema
from .state import OBJECT_TYPES, Portal, PropValue, Record

#: association type ids HubSpot defines, per (from, to)
ASSOC_TYPE_IDS: dict[tuple[str, str], int] = {
    ("deals", "contacts"): 3,
    ("contacts", "deals"): 4,
    ("contacts", "notes"): 201,
    ("notes", "contacts"): 202,
    ("deals", "notes"): 213,
    ("notes", "deals"): 214,
}
ASSOC_TYPE_NAMES: dict[tuple[str, str], str] = {
    ("deals", "contacts"): "deal_to_contact",
    ("contacts", "deals"): "contact_to_deal",
    ("contacts", "notes"): "contact_to_note",
    ("notes", "contacts"): "note_to_contact",
    ("deals", "notes"): "deal_to_note",
    ("notes", "deals"): "note_to_deal",
}


#: associations of one type inlined in an object read; the rest is paged
INLINE_ASSOCIATIONS = 100


def current_props(portal: Portal, object_type: str, rec: Record) -> dict[str, PropValue]:
    """Stored values, or the generated ones for a never-written record (no copy: read only)."""
    if rec.props is not None:
        return rec.props
    return generator.base_props(portal, object_type, rec)


def computed_props(object_type: str, rec: Record) -> dict[str, str]:
    """The values HubSpot always returns: id, create date, last-modified date."""
    return {
        "hs_object_id": str(rec.id),
        schema.CREATED_PROP[object_type]: clock.iso(rec.created),
        schema.MODIFIED_PROP[object_type]: clock.iso(rec.updated),
    }


def properties(portal: Portal, object_type: str, rec: Record,
               requested: list[str] | None) -> dict[str, PropValue]:
    """Requested properties (defaults when None); unknown names are absent, unset ones null."""
    names = schema.DEFAULT_PROPS[object_type] if requested is None else requested
    values = current_props(portal, object_type, rec)
    out: dict[str, PropValue] = computed_props(object_type, rec)
    custom = portal.custom_properties.get(object_type, {})
    builtin = schema.BUILTIN_PROPERTIES[object_type]
    for name in names:
        if name in out:
            continue
        if name in values:
            out[name] = values[name]
        elif name in builtin or name in custom:
            out[name] = None
    return out


def history(portal: Portal, object_type: str, rec: Record,
            requested: list[str]) -> dict[str, list[dict[str, Any]]]:
    """``propertiesWithHistory``: newest first, each with value/timestamp/sourceType."""
    values = current_props(portal, object_type, rec)
    computed = computed_props(object_type, rec)
    custom = portal.custom_properties.get(object_type, {})
    out: dict[str, list[dict[str, Any]]] = {}
    for name in requested:
        if name in computed:
            ts = rec.created if name != schema.MODIFIED_PROP[object_type] else rec.updated
            out[name] = [_hist(computed[name], ts, "CALCULATED")]
            continue
        if name not in schema.BUILTIN_PROPERTIES[object_type] and name not in custom:
            continue
        entries = (rec.history or {}).get(name)
        if entries:
            out[name] = [_hist(v, ts, src) for v, ts, src in entries]
        elif values.get(name) is not None:
            out[name] = [_hist(values[name], rec.created, "IMPORT")]
        else:
            out[name] = []
    return out


def _hist(value: PropValue, ts: int, source: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"value": "" if value is None else value,
                             "timestamp": clock.iso(ts), "sourceType": source}
    if source == "INTEGRATION":
        entry["sourceId"] = "pc-sandbox"
    return entry


def object_json(portal: Portal, object_type: str, rec: Record, requested: list[str] | None,
                with_history: list[str] | None = None,
                associations: list[str] | None = None) -> dict[str, Any]:
    """One object as HubSpot answers it."""
    out: dict[str, Any] = {
        "id": str(rec.id),
        "properties": properties(portal, object_type, rec, requested),
        "createdAt": clock.iso(rec.created),
        "updatedAt": clock.iso(rec.updated),
        "archived": rec.archived_at is not None,
    }
    if rec.archived_at is not None:
        out["archivedAt"] = clock.iso(rec.archived_at)
    if with_history:
        out["propertiesWithHistory"] = history(portal, object_type, rec, with_history)
    if associations:
        assoc: dict[str, Any] = {}
        for raw_type in associations:
            to_type = OBJECT_TYPES.get(raw_type.lower(), raw_type)
            ids = portal.associations.get(object_type, rec.id, to_type)
            if ids:
                kind = ASSOC_TYPE_NAMES.get((object_type, to_type), "")
                page: dict[str, Any] = {"results": [{"id": str(i), "type": kind}
                                                    for i in ids[:INLINE_ASSOCIATIONS]]}
                if len(ids) > INLINE_ASSOCIATIONS:  # the rest through the v4 API
                    page["paging"] = {"next": {
                        "after": str(INLINE_ASSOCIATIONS),
                        "link": f"/crm/v4/objects/{object_type}/{rec.id}/associations/"
                                f"{to_type}?after={INLINE_ASSOCIATIONS}"}}
                assoc[to_type] = page
        if assoc:
            out["associations"] = assoc
    return out


def batch_json(results: list[dict[str, Any]], started: int,
               errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """``BatchResponse...``: status COMPLETE, timings, results, and errors/numErrors if any."""
    out: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": clock.iso(started),
        "completedAt": clock.iso(clock.now_ms()),
    }
    if errors:
        out["numErrors"] = len(errors)
        out["errors"] = errors
    return out


def standard_error(category: str, message: str, context: dict[str, list[str]],
                   sub_category: str | None = None) -> dict[str, Any]:
    """A ``StandardError`` entry of a multi-status batch answer."""
    err: dict[str, Any] = {"status": "error", "category": category, "message": message,
                           "context": context, "links": {}, "errors": []}
    if sub_category:
        err["subCategory"] = sub_category
    return err
