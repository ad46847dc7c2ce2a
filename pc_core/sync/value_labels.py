"""The labels a partner's CRM gives its enumeration values (HubSpot's option labels:
``HOSPITAL_HEALTH_CARE`` reads "Hospital & Health Care" in the portal).

Written by the HubSpot sync (``pc_core.hubspot.connection.value_labels`` reads the
property definitions), read by every answer that shows such a value: the lead answer
and the marketplace's listings carry ``industry_label`` beside ``industry``. A value
the portal does not label (a CSV or hand-typed lead, an option deleted since) has no
label here, and the client shows a readable form of the value instead.

Kept on this floor (beside the sync's tasks and runs) so the lead inventory and the
marketplace, which HubSpot's package stands on, can read it. One small document per
partner, read by ``_id``: a page of leads costs one indexed read, never a HubSpot call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pymongo.database import Database

from pc_core import collections as c

#: The lead fields whose values are enumeration values of the seller's CRM.
LABELLED_FIELDS: tuple[str, ...] = ("industry",)

#: partner id → lead field → value → label (what ``LeadOut`` takes: ``value_label``
#: in pc_core/models/leads.py picks one)
Labels = dict[str, dict[str, dict[str, str]]]


def store_labels(db: Database, partner_id: str, options: Mapping[str, Mapping[str, str]],
                 fetched_at: datetime) -> None:
    """Replace the partner's labels with ``options`` (field → value → label). Stored
    as lists of pairs: a CRM value may hold characters a document key may not."""
    doc = {"_id": partner_id, "partner_id": partner_id, "fetched_at": fetched_at,
           "fields": {field: [{"value": v, "label": lbl} for v, lbl in values.items()]
                      for field, values in options.items()}}
    db[c.CRM_VALUE_LABELS].replace_one({"_id": partner_id}, doc, upsert=True)


def fetched_at(db: Database, partner_id: str) -> datetime | None:
    """When the partner's labels were last read from its CRM (``None``: never)."""
    doc = db[c.CRM_VALUE_LABELS].find_one({"_id": partner_id}, {"fetched_at": 1})
    return doc.get("fetched_at") if doc else None


def labels_of(db: Database, partner_ids: Iterable[str | None]) -> Labels:
    """The stored labels of these partners (partners without any are left out)."""
    wanted = sorted({p for p in partner_ids if p})
    if not wanted:
        return {}
    query: dict[str, Any] = ({"_id": wanted[0]} if len(wanted) == 1
                             else {"_id": {"$in": wanted}})
    return {doc["_id"]: {field: {o["value"]: o["label"] for o in pairs}
                         for field, pairs in (doc.get("fields") or {}).items()}
            for doc in db[c.CRM_VALUE_LABELS].find(query, {"fields": 1})}

