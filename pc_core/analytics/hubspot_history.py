"""A partner's exact stage transitions, from HubSpot's property history.

``propertiesWithHistory`` on the deals batch read gives every value ``dealstage`` (and
``pipeline``) ever had, with its time; HubSpot allows at most 50 inputs per such
request, and ``HubSpotApi.read_with_history`` enforces it. Each history entry becomes
an exact stage event (``_id`` = lead, time, stage: reading the same history twice
stores nothing new), replacing the approximate events the lead builder recorded at
the deal's last-modified time.

- a regular run refreshes only the deals whose approximate events are waiting
  (``needs_history``): a few requests per sync;
- a backfill (``full=True``) re-reads every deal of the partner and rebuilds its
  HubSpot-sourced stage history from scratch.

Platform and marketplace events are never touched: HubSpot knows nothing of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core.hubspot.connection.pages import iso_to_ms
from pc_core.hubspot.connection.transport import HISTORY_READ_MAX, HubSpotApi
from pc_core.hubspot.lead_build.stage_mapping import stage_lookup
from pc_core.hubspot.pull.raw_store import EPOCH
from pc_core.journal import stage_events as se

HISTORY_PROPERTIES = ["dealstage", "pipeline"]
#: deal ids (≤ 50) → HubSpot's batch-read results with ``propertiesWithHistory``
HistoryRead = Callable[[list[str]], list[dict[str, Any]]]
Doc = dict[str, Any]


@dataclass
class HistoryRefresh:
    """What one refresh did."""

    deals: int = 0
    requests: int = 0
    events_written: int = 0
    events_replaced: int = 0
    missing_deals: list[str] = field(default_factory=list)


def api_reader(api: HubSpotApi) -> HistoryRead:
    def read(deal_ids: list[str]) -> list[dict[str, Any]]:
        answer = api.read_with_history("deals", deal_ids, HISTORY_PROPERTIES,
                                       HISTORY_PROPERTIES)
        return list(answer.get("results") or [])

    return read


def _entries(record: dict[str, Any], prop: str) -> list[tuple[int, str]]:
    """(time ms, value) oldest first; blank values (a cleared property) dropped."""
    raw = (record.get("propertiesWithHistory") or {}).get(prop) or []
    rows = [(iso_to_ms(e.get("timestamp")), str(e.get("value") or "")) for e in raw]
    return sorted((t, v) for t, v in rows if v)


def deal_events(lead: Doc, record: dict[str, Any],
                mapping: dict[tuple[str, str], str | None], source: str) -> list[Doc]:
    """One deal's stage history → exact stage events of its lead (canonical stage by
    the current mapping; ``None`` while the HubSpot stage is unmapped)."""
    pipelines = _entries(record, "pipeline")
    current_pipeline = (record.get("properties") or {}).get("pipeline") or \
        lead.get("hubspot_pipeline_id")
    out: list[Doc] = []
    previous: str | None = None
    for at_ms, stage_id in _entries(record, "dealstage"):
        earlier = [p for t, p in pipelines if t <= at_ms]
        pipeline = earlier[-1] if earlier else current_pipeline
        canonical = mapping.get((str(pipeline or ""), stage_id))
        ident = {**lead, "hubspot_pipeline_id": pipeline, "hubspot_stage_id": stage_id}
        at = EPOCH + timedelta(milliseconds=at_ms)
        out.append(se.event_doc(ident, "stage", previous, canonical, at, source,
                                event_id=f"{lead['_id']}:hs:{at_ms}:{stage_id}", exact=True))
        previous = canonical if canonical is not None else previous
    return out


def _targets(db: Database, partner_id: str, full: bool) -> dict[str, str]:
    """lead id → the source to label its refreshed events with."""
    if full:
        return {d["_id"]: se.HUBSPOT_PULL for d in db[c.LEADS].find(
            {"partner_id": partner_id}, {"hubspot_deal_id": 1}) if d.get("hubspot_deal_id")}
    out: dict[str, str] = {}
    for e in db[se.STAGE_EVENTS].find({"partner_id": partner_id, "needs_history": True},
                                      {"lead_id": 1, "source": 1}):
        if out.get(e["lead_id"]) != se.WEBHOOK:  # learnt by webhook, if any was
            out[e["lead_id"]] = e["source"]
    return out


def refresh_from_hubspot(db: Database, partner_id: str, read: HistoryRead, *,
                         full: bool = False) -> HistoryRefresh:
    """Replace the partner's HubSpot-sourced stage events with HubSpot's history:
    every deal (``full``) or those waiting for it."""
    stats = HistoryRefresh()
    targets = _targets(db, partner_id, full)
    if not targets:
        return stats
    mapping = stage_lookup(db, partner_id)
    lead_ids = sorted(targets)
    for start in range(0, len(lead_ids), HISTORY_READ_MAX):
        chunk = lead_ids[start:start + HISTORY_READ_MAX]
        leads = {d["_id"]: d for d in db[c.LEADS].find(
            {"_id": {"$in": chunk}},
            {"partner_id": 1, "hubspot_deal_id": 1, "hubspot_pipeline_id": 1})}
        by_deal = {str(d["hubspot_deal_id"]): d for d in leads.values()
                   if d.get("hubspot_deal_id")}
        if not by_deal:
            continue
        records = read(sorted(by_deal))
        stats.requests += 1
        stats.deals += len(by_deal)
        docs: list[Doc] = []
        found: set[str] = set()
        for record in records:
            lead = by_deal.get(str(record.get("id")))
            if lead is not None:
                found.add(lead["_id"])
                docs.extend(deal_events(lead, record, mapping, targets[lead["_id"]]))
        stats.missing_deals.extend(d for d, lead in by_deal.items() if lead["_id"] not in found)
        # Replace only what HubSpot answered for: a deal it did not return (deleted)
        # keeps the events recorded when it was seen, no longer waiting.
        replaced = db[se.STAGE_EVENTS].delete_many({
            "lead_id": {"$in": sorted(found)}, "kind": "stage",
            "source": {"$in": list(se.HUBSPOT_SOURCES)}})
        stats.events_replaced += replaced.deleted_count
        stats.events_written += se.record(db, docs, quiet=False)
        lost = sorted(set(chunk) - found)
        if lost:
            db[se.STAGE_EVENTS].update_many({"lead_id": {"$in": lost}, "needs_history": True},
                                            {"$set": {"needs_history": None}})  # no bools in $set
    return stats
