"""``stage_events``: one document per change of a lead's canonical stage or marketplace
status, recorded where the change happens, through ``record_lead_change``:

- ``platform``: an edit in the API or a CSV import (``pc_core.leads.inventory``, ``lead_import``);
- ``marketplace``: listed → reserved → sold, relisted (``pc_core.marketplace.leadstate``);
- ``hubspot_pull`` / ``webhook``: the lead builder applying a deal (``lead_builder``).

A HubSpot-sourced stage change is first recorded at the deal's last-modified time
(``needs_history``); the ``lead_stage_history`` asset then replaces it with the exact
transitions read from HubSpot's property history (``hubspot_history``), which also
recovers moves that happened between two pulls.

Documents are inserted whole (dates stay dates on every store), ≤ 100 per write; an id
that exists already is skipped, so recording the same history twice stores it once.
Recording never fails the change it describes: the lead is already written, so an
error is logged and the transition is missing from the history, nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from pymongo.database import Database
from pymongo.errors import BulkWriteError, PyMongoError

from pc_core import collections as c
from pc_core.ids import new_id
from pc_core.store.documents import DUPLICATE_KEY
from pc_core.timeutil import ensure_utc, utcnow

log = logging.getLogger(__name__)

STAGE_EVENTS = c.STAGE_EVENTS
Kind = Literal["stage", "status"]
KINDS: tuple[Kind, ...] = ("stage", "status")
PLATFORM, MARKETPLACE, HUBSPOT_PULL, WEBHOOK = "platform", "marketplace", "hubspot_pull", "webhook"
SOURCES = (PLATFORM, MARKETPLACE, HUBSPOT_PULL, WEBHOOK)
HUBSPOT_SOURCES = (HUBSPOT_PULL, WEBHOOK)
WRITE_BATCH = 100
Doc = dict[str, Any]


def event_doc(lead: Doc, kind: Kind, from_value: str | None, to_value: str | None,
              at: datetime, source: str, *, event_id: str | None = None,
              exact: bool = False, needs_history: bool = False) -> Doc:
    """One transition of ``lead`` (the document after the change, or the lead's
    identity fields); HubSpot's pipeline and stage ids ride along on stage changes."""
    if source not in SOURCES:
        raise ValueError(f"unknown stage event source {source!r}")
    at = ensure_utc(at)
    doc: Doc = {
        "_id": event_id or new_id(),
        "partner_id": lead["partner_id"],
        "lead_id": lead["_id"],
        "kind": kind,
        "from_value": from_value,
        "to_value": to_value,
        "at": at,
        "at_ms": int(at.timestamp() * 1000),
        "source": source,
        "hubspot_deal_id": lead.get("hubspot_deal_id"),
        "hubspot_pipeline_id": lead.get("hubspot_pipeline_id") if kind == "stage" else None,
        "hubspot_stage_id": lead.get("hubspot_stage_id") if kind == "stage" else None,
        "exact": exact,
        "needs_history": needs_history,
        "recorded_at": utcnow(),
    }
    return doc


def lead_change_docs(before: Doc | None, after: Doc, source: str,
                     at: datetime | None = None) -> list[Doc]:
    """The transitions between two versions of a lead (``before=None``: created)."""
    when = at or after.get("updated_at") or utcnow()
    hubspot = source in HUBSPOT_SOURCES and bool(after.get("hubspot_deal_id"))
    docs = []
    for kind in KINDS:
        old = (before or {}).get(kind)
        new = after.get(kind)
        if new is None or (before is not None and old == new):
            continue
        docs.append(event_doc(after, kind, old, new, when, source,
                              needs_history=hubspot and kind == "stage"))
    return docs


def record(db: Database, docs: Iterable[Doc], *, quiet: bool = True) -> int:
    """Insert events, ≤ 100 per write, skipping ids already stored; returns how many
    were new. ``quiet``: log instead of raising (the change itself is already done)."""
    pending = list(docs)
    inserted = 0
    for start in range(0, len(pending), WRITE_BATCH):
        chunk = pending[start:start + WRITE_BATCH]
        try:
            inserted += len(db[STAGE_EVENTS].insert_many(chunk, ordered=False).inserted_ids)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors") or []
            if any(e.get("code") != DUPLICATE_KEY for e in errors):
                if not quiet:
                    raise
                log.error("stage events not recorded: %s", errors[:3])
            inserted += int(exc.details.get("nInserted") or 0)
        except PyMongoError:
            if not quiet:
                raise
            log.exception("stage events of %d leads not recorded",
                          len({d["lead_id"] for d in chunk}))
    return inserted


def record_lead_change(db: Database, before: Doc | None, after: Doc | None, source: str,
                       at: datetime | None = None) -> int:
    """The one way to record what a lead write changed; a no-op when neither the
    stage nor the status changed (or the write did not happen: ``after is None``)."""
    if after is None:
        return 0
    return record(db, lead_change_docs(before, after, source, at))


def partner_events(db: Database, partner_id: str) -> list[Doc]:
    """A partner's events (indexed equality), the fields the history needs."""
    fields = ("lead_id", "kind", "from_value", "to_value", "at_ms", "source",
              "hubspot_pipeline_id", "hubspot_stage_id", "exact")
    return list(db[STAGE_EVENTS].find({"partner_id": partner_id}, dict.fromkeys(fields, 1)))
