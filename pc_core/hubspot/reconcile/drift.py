"""Find and heal the drift between a partner's HubSpot deals and our copy of them.

HubSpot retries a webhook a limited number of times and cannot replay it; search lags
writes; an incremental pull notices deletions only while there are at most 200
archived records. So, daily and on demand, every deal id and ``hs_lastmodifieddate``
is listed from HubSpot (the list endpoint: 100 per page, no search index involved) and
compared with the raw deals we keep:

- ``missing``: a live deal we do not have (or have as deleted) — read and stored;
- ``stale``: HubSpot's modification time is later than ours — read and stored;
- ``deleted``: a deal we keep as live that HubSpot no longer lists — stored archived
  (its lead is archived by the lead builder; history stays), unless it was merged
  into a deal read here (``hs_merged_object_ids``): the lead builder folds that one;
- ``leads_missing``: a live deal we keep as HubSpot has it, without a live lead — its
  raw deal is marked dirty so the lead builder builds the lead again;
- ``stages_removed``: a stage of our mapping that HubSpot's pipelines no longer have —
  its mapping is set aside (``removed_in_hubspot_at``, the old mapping kept in
  ``canonical_stage_before_removal``) so its deals' leads become unmapped, keeping
  their stage history, and the partner is not asked to map a stage that is gone.

Healed deals are marked dirty and the lead builder brings their leads in line.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from pymongo import UpdateOne
from pymongo.database import Database

from pc_core import collections as c
from pc_core.hubspot.connection.client import AccessTokenProvider
from pc_core.hubspot.connection.objects import ASSOCIATIONS, PROPERTIES
from pc_core.hubspot.connection.pages import iso_to_ms, parse_record
from pc_core.hubspot.connection.transport import BATCH_READ_MAX, HubSpotApi
from pc_core.hubspot.lead_build.lead_builder import LeadBuildStats, build_leads
from pc_core.hubspot.lead_build.merges import aliases
from pc_core.hubspot.lead_build.stage_mapping import store_pipeline_stages
from pc_core.hubspot.pull.engine import pull_pipelines
from pc_core.hubspot.pull.raw_store import StoreCounts, store_records
from pc_core.settings import Settings
from pc_core.timeutil import utcnow

LIST_LIMIT = 100
MODIFIED = "hs_lastmodifieddate"


@dataclass
class DriftReport:
    """What one reconciliation found (before healing) and did."""

    partner_id: str
    hubspot_deals: int = 0
    our_deals: int = 0
    missing: int = 0
    stale: int = 0
    deleted: int = 0
    stages_removed: int = 0
    leads_missing: int = 0  # a live deal we keep, without a live lead
    healed: int = 0
    requests: int = 0
    samples: dict[str, list[str]] = field(default_factory=dict)
    leads: dict[str, int] = field(default_factory=dict)

    @property
    def drift(self) -> int:
        return (self.missing + self.stale + self.deleted + self.stages_removed
                + self.leads_missing)

    def as_metadata(self) -> dict[str, Any]:
        out = asdict(self)
        out["drift"] = self.drift
        out["samples"] = {k: v[:10] for k, v in self.samples.items()}
        return out


def hubspot_deal_times(api: HubSpotApi) -> dict[str, int]:
    """Every live deal id → its ``hs_lastmodifieddate`` in epoch ms (list endpoint)."""
    found: dict[str, int] = {}
    after: str | None = None
    while True:
        page = api.list_page("deals", after=after, properties=[MODIFIED], archived=False,
                             limit=LIST_LIMIT)
        for item in page.get("results") or []:
            props = item.get("properties") or {}
            found[str(item["id"])] = iso_to_ms(props.get(MODIFIED) or item.get("updatedAt"))
        after = ((page.get("paging") or {}).get("next") or {}).get("after")
        if not after:
            return found


def _our_deal_times(db: Database, partner_id: str) -> dict[str, tuple[int, bool]]:
    """Our raw deals: id → (modification ms as HubSpot reported it, archived?)."""
    out: dict[str, tuple[int, bool]] = {}
    for doc in db[c.HUBSPOT_DEALS].find({"partner_id": partner_id},
                                        {"hubspot_id": 1, "properties": 1, "archived": 1}):
        props = doc.get("properties") or {}
        out[str(doc["hubspot_id"])] = (iso_to_ms(props.get(MODIFIED)), bool(doc.get("archived")))
    return out


def _read_deals(api: HubSpotApi, ids: list[str]) -> list[Any]:
    """Current state of deals, with their associations (batch read + v4 associations)."""
    records = []
    for start in range(0, len(ids), BATCH_READ_MAX):
        chunk = ids[start:start + BATCH_READ_MAX]
        answer = api.batch_read("deals", chunk, list(PROPERTIES["deals"]))
        records.extend(parse_record(i, "deals", False) for i in answer.get("results") or [])
    by_id = {r.id: r for r in records}
    for to in ASSOCIATIONS["deals"]:
        for start in range(0, len(records), 1000):
            chunk = [r.id for r in records[start:start + 1000]]
            answer = api.associations("deals", to, chunk)
            for row in answer.get("results") or []:
                rec = by_id.get(str((row.get("from") or {}).get("id")))
                if rec is not None:
                    rec.associations = rec.associations or {}
                    rec.associations[to] = list(dict.fromkeys(
                        str(t["toObjectId"]) for t in row.get("to") or []))
    for rec in records:
        rec.associations = {to: (rec.associations or {}).get(to, [])
                            for to in ASSOCIATIONS["deals"]}
    return records


def _set_aside_removed_stages(db: Database, partner_id: str,
                              current: list[dict[str, Any]]) -> list[str]:
    """Mappings of stages HubSpot no longer has: set aside (kept, no longer mapping)."""
    live = {(str(s["pipeline_id"]), str(s["stage_id"])) for s in current}
    now = utcnow()
    removed: list[str] = []
    ops = []
    for doc in db[c.STAGE_MAPPINGS].find({"partner_id": partner_id}):
        key = (doc["pipeline_id"], doc["stage_id"])
        if key in live or doc.get("removed_in_hubspot_at"):
            continue
        removed.append(f"{key[0]}/{key[1]}")
        ops.append(UpdateOne({"_id": doc["_id"]}, {"$set": {
            "removed_in_hubspot_at": now, "canonical_stage": None,
            "canonical_stage_before_removal": doc.get("canonical_stage")}}))
        db[c.HUBSPOT_DEALS].update_many(
            {"partner_id": partner_id, "properties.pipeline": key[0],
             "properties.dealstage": key[1]}, {"$set": {"dirty": True}})
    if ops:
        db[c.STAGE_MAPPINGS].bulk_write(ops, ordered=False)
    return removed


def reconcile_partner(db: Database, settings: Settings, partner_id: str,
                      tokens: AccessTokenProvider, *, heal: bool = True,
                      task_id: str | None = None) -> DriftReport:
    """Compare the partner's HubSpot deals with ours and (``heal``) repair the drift."""
    report = DriftReport(partner_id)
    stages = pull_pipelines(db, settings, partner_id, tokens)
    api = HubSpotApi(settings, tokens)
    theirs = hubspot_deal_times(api)
    ours = _our_deal_times(db, partner_id)
    report.hubspot_deals = len(theirs)
    report.our_deals = sum(1 for _, archived in ours.values() if not archived)
    missing = sorted(i for i in theirs if i not in ours or ours[i][1])
    stale = sorted(i for i, ms in theirs.items()
                   if i in ours and not ours[i][1] and ms > ours[i][0])
    deleted = sorted(i for i, (_, archived) in ours.items() if not archived and i not in theirs)
    report.missing, report.stale, report.deleted = len(missing), len(stale), len(deleted)
    # Deals we keep as HubSpot has them, but whose lead is gone or archived: rebuilt.
    with_lead = {str(d["hubspot_deal_id"]) for d in db[c.LEADS].find(
        {"partner_id": partner_id, "hubspot_deal_id": {"$ne": None}},
        {"hubspot_deal_id": 1, "status": 1}) if d.get("status") != "archived"}
    leadless = sorted(i for i in theirs if i in ours and not ours[i][1] and i not in stale
                      and i not in with_lead)
    report.leads_missing = len(leadless)
    report.samples = {"missing": missing[:10], "stale": stale[:10], "deleted": deleted[:10],
                      "leads_missing": leadless[:10]}
    if heal:
        store_pipeline_stages(db, partner_id, stages)
        removed = _set_aside_removed_stages(db, partner_id, stages)
        report.stages_removed = len(removed)
        report.samples["stages_removed"] = removed[:10]
        counts = StoreCounts()
        fresh = _read_deals(api, missing + stale)
        counts.add(store_records(db[c.HUBSPOT_DEALS], partner_id, "deals", fresh))
        # A deal merged into one just read is not deleted: the lead builder folds it in.
        merged_away = {a for rec in fresh for a in aliases(rec.id, rec.properties)}
        gone = _gone_records(db, partner_id, [d for d in deleted if d not in merged_away])
        for start in range(0, len(leadless), 500):
            db[c.HUBSPOT_DEALS].update_many(
                {"partner_id": partner_id, "hubspot_id": {"$in": leadless[start:start + 500]}},
                {"$set": {"dirty": True}})
        counts.add(store_records(db[c.HUBSPOT_DEALS], partner_id, "deals", gone))
        report.healed = counts.created + counts.updated + counts.archived
        built: LeadBuildStats = build_leads(db, partner_id, settings=settings, task_id=task_id)
        report.leads = {"created": built.created, "updated": built.updated,
                        "unmapped": built.unmapped}
    else:
        live = {(str(s["pipeline_id"]), str(s["stage_id"])) for s in stages}
        report.stages_removed = sum(
            1 for d in db[c.STAGE_MAPPINGS].find({"partner_id": partner_id})
            if (d["pipeline_id"], d["stage_id"]) not in live and not d.get("removed_in_hubspot_at"))
    report.requests = api.requests
    return report


def _gone_records(db: Database, partner_id: str, ids: list[str]) -> list[Any]:
    """Our copies of deals HubSpot no longer lists, as archived records (their last
    known properties kept), so the raw store and the lead builder treat them as the
    archived deals a full pull would have found."""
    records = []
    for start in range(0, len(ids), 500):
        for doc in db[c.HUBSPOT_DEALS].find({"partner_id": partner_id,
                                             "hubspot_id": {"$in": ids[start:start + 500]}}):
            item = {"id": doc["hubspot_id"], "properties": doc.get("properties") or {},
                    "archived": True,
                    "updatedAt": utcnow().isoformat().replace("+00:00", "Z")}
            rec = parse_record(item, "deals", False)
            rec.associations = doc.get("associations")
            records.append(rec)
    return records
