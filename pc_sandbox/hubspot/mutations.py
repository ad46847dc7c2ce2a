"""Writes to records: create, update (with property history), touch, archive.

All writes go through here so the modified-time index, history and associations stay
consistent whether the write came from the API, the admin routes or the webhook simulator.
"""

from __future__ import annotations

from typing import Any

from . import errors, generator, persistence, render, schema
from .state import Portal, PropValue, Record


def validate(portal: Portal, object_type: str, props: Any) -> dict[str, PropValue]:
    """Check names (exist, writable) and stringify values; raise HubSpot's 400 otherwise."""
    if not isinstance(props, dict):
        raise errors.validation_error("Invalid input JSON: properties must be an object")
    bad: list[dict[str, Any]] = []
    out: dict[str, PropValue] = {}
    custom = portal.custom_properties.get(object_type, {})
    for name, value in props.items():
        if name in schema.READ_ONLY:
            bad.append({"message": f'"{name}" is a read only property; its value cannot be set.',
                        "code": "READ_ONLY_VALUE", "context": {"propertyName": [name]}})
        elif name not in schema.BUILTIN_PROPERTIES[object_type] and name not in custom:
            bad.append({"message": f'Property "{name}" does not exist',
                        "code": "PROPERTY_DOESNT_EXIST", "context": {"propertyName": [name]}})
        elif value is None or value == "":
            out[name] = None
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        else:
            out[name] = str(value)
    if bad:
        raise errors.validation_error("Property values were not valid: " + "; ".join(
            b["message"] for b in bad), bad)
    return out


def create(portal: Portal, object_type: str, props: dict[str, PropValue], ts: int,
           source: str = "INTEGRATION") -> Record:
    """A new record with the given (validated) values."""
    store = portal.store(object_type)
    rec = Record(store.new_id(), ts, ts, props=dict(props))
    rec.history = {k: [(v, ts, source)] for k, v in props.items() if v is not None}
    store.add(rec)
    persistence.mark_dirty()
    return rec


def update(portal: Portal, object_type: str, rec: Record, props: dict[str, PropValue],
           ts: int, source: str = "INTEGRATION") -> Record:
    """Set values, append history for changed ones, bump the modified time."""
    if rec.props is None:
        rec.props = dict(generator.base_props(portal, object_type, rec))
    if rec.history is None:
        rec.history = {}
    for name, value in props.items():
        old = rec.props.get(name)
        if name not in rec.history and old is not None:
            rec.history[name] = [(old, rec.created, "IMPORT")]
        if old != value or name not in rec.history:
            rec.history.setdefault(name, []).insert(0, (value, ts, source))
        rec.props[name] = value
    portal.store(object_type).set_updated(rec, max(ts, rec.updated))
    persistence.mark_dirty()
    return rec


def touch(portal: Portal, object_type: str, rec: Record, ts: int) -> None:
    """Bump only the modified time (what a pipeline edit does to every deal)."""
    portal.store(object_type).set_updated(rec, max(ts, rec.updated))
    persistence.mark_dirty()


def archive(portal: Portal, object_type: str, rec: Record, ts: int) -> None:
    """HubSpot's delete: archived, out of lists/search, links dropped."""
    if rec.archived_at is not None:
        return
    portal.archived_links[(object_type, rec.id)] = portal.associations.links_of(
        object_type, rec.id)
    portal.store(object_type).archive(rec, ts)
    portal.associations.remove_object(object_type, rec.id)
    persistence.mark_dirty()


def restore(portal: Portal, object_type: str, rec: Record, ts: int) -> None:
    """HubSpot's restore: active again, with the links it had (to records still there)."""
    portal.store(object_type).restore(rec, ts)
    for to_type, to_id in portal.archived_links.pop((object_type, rec.id), []):
        if portal.store(to_type).get(to_id) is not None:
            portal.associations.add(object_type, rec.id, to_type, to_id)
    persistence.mark_dirty()


def associate(portal: Portal, from_type: str, from_id: int, specs: Any,
              dry_run: bool = False) -> None:
    """Apply create-time ``associations`` ([{to:{id}, types:[{associationTypeId}]}]).

    ``dry_run`` only validates, so a batch with one bad input creates nothing.
    """
    if not specs:
        return
    if not isinstance(specs, list):
        raise errors.validation_error("associations must be a list")
    for spec in specs:
        try:
            to_id = int(spec["to"]["id"])
            type_ids = [int(t["associationTypeId"]) for t in spec.get("types") or []]
        except (KeyError, TypeError, ValueError):
            raise errors.validation_error("Invalid association input")
        for type_id in type_ids or [0]:
            to_type = next((t for (f, t), i in render.ASSOC_TYPE_IDS.items()
                            if f == from_type and i == type_id), None)
            if to_type is None:
                raise errors.validation_error(
                    f"{type_id} is not a valid association type id from {from_type}")
            if portal.store(to_type).get(to_id) is None:
                raise errors.validation_error(
                    f"Object {to_id} of type {to_type} does not exist (association)")
            if not dry_run:
                portal.associations.add(from_type, from_id, to_type, to_id)
