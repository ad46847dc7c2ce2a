"""Merging two records, the way HubSpot documents it.

Deals (changelog "Deals now support merging"): merging A and B creates a *new* deal C,
the canonical one, with both deals' property values and associated records; A and B
disappear from lists and search, a ``GET`` of A or B answers with C (another id than
the one asked for), and associations read by A's or B's id come back empty.
Contacts: the primary contact survives under its id and the other one is merged into
it. The surviving record lists the merged ids in ``hs_merged_object_ids``
(";"-separated). The merge webhook (``deal.merge`` / ``contact.merge``) carries
``primaryObjectId``, ``mergedObjectIds``, ``newObjectId`` and
``numberOfPropertiesMoved``.
"""

from __future__ import annotations

from typing import Any

from . import errors, persistence, render
from .state import Portal, PropValue, Record

MERGED_IDS = "hs_merged_object_ids"


def _aliases(props: dict[str, PropValue]) -> list[int]:
    return [int(x) for x in str(props.get(MERGED_IDS) or "").split(";") if x.strip()]


def merge(portal: Portal, otype: str, primary_id: int, other_id: int,
          ts: int) -> tuple[Record, dict[str, Any]]:
    """Merge ``other_id`` into ``primary_id``; returns (surviving record, the facts the
    merge webhook carries)."""
    store = portal.store(otype)
    primary = store.get(portal.resolve(otype, primary_id))
    other = store.get(portal.resolve(otype, other_id))
    if primary is None or other is None:
        raise errors.not_found("One of the objects to merge does not exist")
    if primary.id == other.id:
        raise errors.validation_error("Cannot merge an object with itself")
    p_props = render.current_props(portal, otype, primary)
    o_props = render.current_props(portal, otype, other)
    merged: dict[str, PropValue] = {k: v for k, v in o_props.items() if v is not None}
    moved = sum(1 for k, v in o_props.items() if v is not None and p_props.get(k) is None)
    merged.update({k: v for k, v in p_props.items() if v is not None})
    aliases = sorted(set(_aliases(p_props) + _aliases(o_props) + [other.id]
                         + ([primary.id] if otype == "deals" else [])))
    merged[MERGED_IDS] = ";".join(str(a) for a in aliases)
    links = portal.associations.links_of(otype, primary.id) + \
        portal.associations.links_of(otype, other.id)
    if otype == "deals":  # a new canonical deal
        survivor = Record(store.new_id(), min(primary.created, other.created), ts,
                          props=merged,
                          history={k: [(v, ts, "CRM_UI")] for k, v in merged.items()})
        store.add(survivor)
        retired = [primary, other]
    else:  # the primary contact survives
        survivor = primary
        survivor.props = merged
        store.set_updated(survivor, max(ts, survivor.updated))
        retired = [other]
    table = portal.merged.setdefault(otype, {})
    links_table = portal.associations.links
    for rec in retired:
        # the other side's lists keep their order: the survivor takes the retired id's place
        for to_type, to_id in portal.associations.links_of(otype, rec.id):
            back = links_table.get((to_type, otype), {}).get(to_id)
            if back and rec.id in back:
                if survivor.id in back:
                    back.remove(rec.id)
                else:
                    back[back.index(rec.id)] = survivor.id
        for (a_type, _b), by_id in links_table.items():
            if a_type == otype:
                by_id.pop(rec.id, None)
        store.retire(rec)
        table[rec.id] = survivor.id
    for to_type, to_id in links:
        if portal.store(to_type).get(to_id) is not None:
            targets = links_table.setdefault((otype, to_type), {}).setdefault(survivor.id, [])
            if to_id not in targets:
                targets.append(to_id)
    persistence.mark_dirty()
    facts = {"objectId": survivor.id, "primaryObjectId": primary.id,
             "mergedObjectIds": [other.id], "newObjectId": survivor.id,
             "numberOfPropertiesMoved": moved}
    return survivor, facts
