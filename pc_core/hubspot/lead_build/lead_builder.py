"""Raw HubSpot deals + their contacts + the partner's stage mapping → the lead table.

Works on *dirty* raw deals (created or changed by a pull or a webhook), in batches:
polars turns a batch of raw documents into lead fields in one pass; each lead is
then written whole (insert, or replacement under its revision) and the deal is
marked clean only if no newer pull touched it meanwhile. A contact that changed
marks its deals dirty first, so a lead always reflects its current contact.

Fields the platform edited are not simply overwritten: ``pc_core.hubspot.lead_build.conflicts``
decides each one ("most recent change wins", echoes of our own pushes ignored), reading
HubSpot's per-property times only for contested deals; every decided conflict goes to
the run's sync task. A deal that is a sold lead's copy in its buyer's portal is not a
lead of the buyer's: its link is flagged for the cross-partner sync instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl
from pymongo import InsertOne, UpdateOne
from pymongo.database import Database
from pymongo.errors import BulkWriteError

from pc_core import collections as c
from pc_core import events
from pc_core.hubspot.connection.oauth import PartnerTokens
from pc_core.hubspot.connection.transport import HubSpotApi
from pc_core.hubspot.lead_build import conflicts, deal_links, merges
from pc_core.hubspot.lead_build.stage_mapping import stage_lookup
from pc_core.journal import stage_events
from pc_core.leads.inventory import TRACKED_FIELDS, build_lead_doc, search_text
from pc_core.marketplace import listings, payouts
from pc_core.marketplace.known_contacts import contact_keys
from pc_core.models.leads import CompanySize
from pc_core.models.live_events import LeadUnlisted, StageUpdated
from pc_core.money import cents_expr
from pc_core.settings import Settings
from pc_core.stages import MANUAL_STATUSES, LeadStatus, Stage, status_for_new_stage
from pc_core.store import batch, queues
from pc_core.store.documents import replace_each_if_unchanged
from pc_core.sync import tasks as sync_tasks
from pc_core.timeutil import ensure_utc, utcnow

BATCH = 500
MAX_ROUNDS = 10_000  # a safety net against a pull that re-dirties faster than we clean
HUBSPOT_FIELDS = (
    "title", "company", "contact_name", "contact_email", "contact_phone", "company_size",
    "industry", "location", "amount_cents", "stage",
)
_SIZES = {s.value for s in CompanySize}


@dataclass
class LeadBuildStats:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    listed: int = 0
    unmapped: int = 0
    conflicts: int = 0  # concurrent writes lost (retried next round), not field conflicts
    linked: int = 0  # buyer-portal deals of sold leads, flagged for the cross-partner sync
    resolved: list[dict[str, Any]] = field(default_factory=list)  # field conflicts decided
    errors: list[str] = field(default_factory=list)
    listed_ids: list[str] = field(default_factory=list)
    merged_away: list[str] = field(default_factory=list)  # lead ids folded into others
    stage_changes: list[dict[str, Any]] = field(default_factory=list)
    source: str = stage_events.HUBSPOT_PULL  # how the changes were learnt (stage history)


def lead_id_for_deal(partner_id: str, deal_id: str) -> str:
    return f"{partner_id}:hs:{deal_id}"


def company_size_bucket(value: str | None) -> str | None:
    """HubSpot's size as one of our buckets: an enumeration value or a head count."""
    if not value:
        return None
    text = value.strip()
    if text in _SIZES:
        return text
    digits = text.replace(",", "")
    if not digits.isdigit():
        return None
    n = int(digits)
    for upper, bucket in ((10, "1-10"), (50, "11-50"), (200, "51-200"), (500, "201-500"),
                          (1000, "501-1000")):
        if n <= upper:
            return bucket
    return "1000+"


def _frame(deals: list[dict[str, Any]], contacts: dict[str, dict[str, Any]]) -> pl.DataFrame:
    rows = []
    for deal in deals:
        p = deal.get("properties") or {}
        contact_ids = (deal.get("associations") or {}).get("contacts") or []
        contact_id = str(contact_ids[0]) if contact_ids else None
        cp = (contacts.get(contact_id) or {}).get("properties") or {} if contact_id else {}
        rows.append({
            "deal_id": str(deal["hubspot_id"]),
            "contact_id": contact_id,
            "dealname": p.get("dealname"),
            "amount": p.get("amount"),
            "pipeline": p.get("pipeline"),
            "dealstage": p.get("dealstage"),
            "firstname": cp.get("firstname"),
            "lastname": cp.get("lastname"),
            "email": cp.get("email"),
            "phone": cp.get("phone"),
            "company": p.get("company_name") or cp.get("company"),
            "industry": p.get("industry") or cp.get("industry"),
            "size": p.get("company_size") or cp.get("numemployees"),
            "city": p.get("city") or cp.get("city"),
            "country": p.get("country") or cp.get("country"),
        })
    frame = pl.DataFrame(rows, schema=dict.fromkeys(rows[0], pl.Utf8))
    blank_to_null = [pl.col(col).str.strip_chars().replace("", None) for col in frame.columns]
    frame = frame.with_columns(blank_to_null)
    return frame.with_columns(
        pl.coalesce(pl.col("dealname"), pl.lit("HubSpot deal ") + pl.col("deal_id")).alias("title"),
        cents_expr("amount").alias("amount_cents"),
        pl.concat_str([pl.col("firstname"), pl.col("lastname")], separator=" ",
                      ignore_nulls=True).replace("", None).alias("contact_name"),
        pl.col("email").str.to_lowercase().alias("contact_email"),
        pl.col("phone").alias("contact_phone"),
        pl.concat_str([pl.col("city"), pl.col("country")], separator=", ",
                      ignore_nulls=True).replace("", None).alias("location"),
        pl.col("size").map_elements(company_size_bucket, return_dtype=pl.Utf8).alias(
            "company_size"),
    )


def _touch_deals_of_changed_contacts(db: Database, partner_id: str) -> None:
    while True:
        contacts = queues.waiting(db[c.HUBSPOT_CONTACTS], {"partner_id": partner_id, "dirty": True},
                                  limit=BATCH)
        if not contacts:
            return
        merges.fold_merged_contacts(db, partner_id, contacts)
        ids = [str(d["hubspot_id"]) for d in contacts]
        leads = db[c.LEADS].find(
            queues.exact({"partner_id": partner_id, "hubspot_contact_id": {"$in": ids}}),
            {"hubspot_deal_id": 1})
        deal_ops = [
            UpdateOne({"_id": f"{partner_id}:{lead['hubspot_deal_id']}"}, {"$set": {"dirty": True}})
            for lead in leads if lead.get("hubspot_deal_id")
        ]
        for start in range(0, len(deal_ops), 100):
            db[c.HUBSPOT_DEALS].bulk_write(deal_ops[start : start + 100], ordered=False)
        clean = [UpdateOne({"_id": d["_id"], "pulled_at": d.get("pulled_at")},
                           {"$set": {"dirty": False}}) for d in contacts]
        for start in range(0, len(clean), 100):
            db[c.HUBSPOT_CONTACTS].bulk_write(clean[start : start + 100], ordered=False)
        if len(contacts) < BATCH:
            return  # all there were; one re-dirtied meanwhile is its puller's to build


def build_leads(
    db: Database, partner_id: str, *, settings: Settings | None = None,
    task_id: str | None = None, history: conflicts.HistoryReader | None = None,
    source: str = stage_events.HUBSPOT_PULL, partner: dict[str, Any] | None = None,
) -> LeadBuildStats:
    """Bring the partner's leads in line with its dirty raw deals.

    ``history`` reads HubSpot's per-property change times for contested deals; by
    default one is made on first need from ``settings`` (else the environment's) and
    the partner's tokens. Decided conflicts are written to the sync task ``task_id``
    (by default the partner's running sync task, else a new one). Stage and status
    changes are recorded as ``stage_events`` from ``source`` (a pull or a webhook).
    ``partner``: the partner document as the caller read it this batch (the webhook
    apply's token read), which saves reading it again.
    """
    stats = LeadBuildStats(source=source)
    # What every build needs first, in one round trip (a webhook batch is small: its
    # round trips are its cost): the stage mapping, whether the partner may list (a
    # non_fit stage lists the lead only for a seller that may: payouts set up, or the
    # operator, pc_core/marketplace/payouts.py; otherwise it stays open), the dirty
    # contacts and the first dirty deals.
    dirty = {"partner_id": partner_id, "dirty": True}
    reads = [batch.Read(c.STAGE_MAPPINGS, {"partner_id": partner_id},
                        {"pipeline_id": 1, "stage_id": 1, "canonical_stage": 1}),
             batch.Read(c.HUBSPOT_CONTACTS, dirty, limit=1),
             batch.Read(c.HUBSPOT_DEALS, dirty, limit=BATCH)]
    if partner is None:
        reads.append(batch.Read(c.PARTNERS, {"_id": partner_id},
                                {"is_operator": 1, "stripe_connect": 1}, limit=1))
    mappings, contacts, first, *read_partner = batch.read_together(db, reads)
    if read_partner:
        partner = next(iter(read_partner[0]), None)
    if contacts:  # their deals become dirty first: the deals are read after that
        _touch_deals_of_changed_contacts(db, partner_id)
        first = None
    stages = stage_lookup(db, partner_id, mappings)
    reader = _LazyHistory(db, partner_id, settings, history)
    listable = payouts.can_list(partner)
    for _ in range(MAX_ROUNDS):
        deals = first if first is not None else queues.waiting(
            db[c.HUBSPOT_DEALS], dirty, limit=BATCH)
        first = None
        if not deals:
            break
        done = _build_batch(db, partner_id, deals, stages, stats, reader, listable)
        if done == 0:
            break  # only conflicting deals are left; the next run retries them
        if len(deals) < BATCH and done >= len(deals):
            break  # all there were, all built: no read that finds nothing
    if stats.resolved:
        target = task_id or sync_tasks.current_task_id(db, partner_id)
        sync_tasks.add_conflicts(db, target, stats.resolved)
    return stats


class _LazyHistory:
    """The history reader, built only when a contested deal needs it (most builds
    need none, and need no HubSpot connection)."""

    def __init__(self, db: Database, partner_id: str, settings: Settings | None,
                 given: conflicts.HistoryReader | None) -> None:
        self.db, self.partner_id, self.settings, self.reader = db, partner_id, settings, given

    def __call__(self, deal_ids: list[str]) -> conflicts.PropertyTimes:
        if self.reader is None:
            settings = self.settings or Settings()
            api = HubSpotApi(settings, PartnerTokens(self.db, settings, self.partner_id))
            self.reader = conflicts.history_reader(api)
        return self.reader(deal_ids)


def _build_batch(
    db: Database,
    partner_id: str,
    deals: list[dict[str, Any]],
    stages: dict[tuple[str, str], str | None],
    stats: LeadBuildStats,
    history: conflicts.HistoryReader,
    listable: bool = True,
) -> int:
    """Build one batch; returns how many deals were marked clean (or folded away)."""
    folded = merges.fold_merged_deals(db, partner_id, deals)
    if folded.raw_ids:  # merged-away deals: their raw documents are gone, leads folded
        stats.merged_away.extend(folded.removed_leads)
        for lead in folded.survivors:
            if lead.get("status") == LeadStatus.LISTED.value:
                stats.listed_ids.append(lead["_id"])
        deals = [d for d in deals if d["_id"] not in folded.raw_ids]
        if not deals:
            return len(folded.raw_ids)
    contact_keys = {
        f"{partner_id}:{ids[0]}"
        for d in deals if (ids := (d.get("associations") or {}).get("contacts"))
    }
    lead_ids = [lead_id_for_deal(partner_id, str(d["hubspot_id"])) for d in deals]
    # the deals' links, contacts and leads in one round trip
    found_links, found_contacts, found_leads = batch.read_together(db, [
        batch.Read(c.DEAL_LINKS, {"_id": {"$in": [d["_id"] for d in deals]}}),
        batch.Read(c.HUBSPOT_CONTACTS, {"_id": {"$in": sorted(contact_keys)}}),
        batch.Read(c.LEADS, {"_id": {"$in": lead_ids}})])
    links = {d["_id"]: d for d in found_links}
    if links:  # sold leads' deals in this (buyer's) portal: not leads of the buyer's
        deal_links.mark_pending(db, list(links.values()))
        stats.linked += len(links)
        _mark_clean(db, [d for d in deals if d["_id"] in links])
        deals = [d for d in deals if d["_id"] not in links]
        if not deals:
            return len(links)
    contacts = {str(doc["hubspot_id"]): doc for doc in found_contacts}
    rows = list(_frame(deals, contacts).iter_rows(named=True))
    lead_ids = [lead_id_for_deal(partner_id, str(d["hubspot_id"])) for d in deals]
    existing = {d["_id"]: d for d in found_leads}
    now = utcnow()
    targets = [_target(row, stages) for row in rows]
    seen_at = [_hubspot_at(deal, contacts, now) for deal in deals]
    contested = [str(deal["hubspot_id"]) for deal, lead_id, target, at
                 in zip(deals, lead_ids, targets, seen_at, strict=True)
                 if lead_id in existing
                 and conflicts.needs_history(existing[lead_id], target[0], at)]
    prop_times: conflicts.PropertyTimes = {}
    retry: set[str] = set()
    if contested:
        try:
            prop_times = history(contested)
        except Exception as exc:  # noqa: BLE001 - HubSpot or token trouble: retry later
            stats.errors.append(f"property history of {len(contested)} deals: {exc}")
            contested_keys = {f"{partner_id}:{d}" for d in contested}
            retry |= contested_keys
    inserts: list[dict[str, Any]] = []
    insert_deals: list[str] = []
    updates: list[_LeadUpdate] = []
    for deal, row, lead_id, (target, mapped), at in zip(deals, rows, lead_ids, targets,
                                                        seen_at, strict=True):
        if deal["_id"] in retry:
            continue
        if mapped is None:
            stats.unmapped += 1
        values = {f: v for f, v in target.items() if f != "stage"}
        current = existing.get(lead_id)
        if current is None:
            inserts.append(_new_lead(partner_id, lead_id, deal, row, values, mapped, at,
                                     now, stats, listable))
            insert_deals.append(deal["_id"])
            continue
        update = _update_lead(current, deal, target, mapped, at, now,
                              prop_times.get(str(deal["hubspot_id"])), listable)
        if update is None:
            stats.unchanged += 1
        else:
            updates.append(update)
    retry |= _write_updates(db, updates, stats)
    for start in range(0, len(inserts), 100):
        try:
            db[c.LEADS].bulk_write([InsertOne(d) for d in inserts[start : start + 100]],
                                   ordered=False)
        except BulkWriteError as exc:  # created concurrently: redo those deals next round
            for err in exc.details.get("writeErrors", []):
                retry.add(insert_deals[start + err["index"]])
                stats.conflicts += 1
                stats.created -= 1
    stage_events.record(db, [e for doc, deal_key in zip(inserts, insert_deals, strict=True)
                             if deal_key not in retry
                             for e in stage_events.lead_change_docs(
                                 None, doc, stats.source, doc["field_times"]["stage"])])
    # Clean only what was applied, and only if no newer pull re-dirtied it meanwhile.
    return _mark_clean(db, [d for d in deals if d["_id"] not in retry]) + len(links)


def _mark_clean(db: Database, deals: list[dict[str, Any]]) -> int:
    clean = [UpdateOne({"_id": d["_id"], "pulled_at": d.get("pulled_at")},
                       {"$set": {"dirty": False}}) for d in deals]
    for start in range(0, len(clean), 100):
        db[c.HUBSPOT_DEALS].bulk_write(clean[start : start + 100], ordered=False)
    return len(clean)


def _target(row: dict[str, Any], stages: dict[tuple[str, str], str | None]
            ) -> tuple[dict[str, Any], str | None]:
    """HubSpot's values in lead terms (stage only when mapped), and the mapped stage."""
    mapped = stages.get((row["pipeline"] or "", row["dealstage"] or ""))
    target = {f: row.get(f) for f in HUBSPOT_FIELDS if f != "stage"}
    if mapped is not None:
        target["stage"] = mapped
    return target, mapped


def _hubspot_at(deal: dict[str, Any], contacts: dict[str, dict[str, Any]],
                now: datetime) -> datetime:
    """When HubSpot last changed what the lead is built from: the deal or its contact."""
    at = ensure_utc(deal.get("hs_updated_at") or now)
    contact_ids = (deal.get("associations") or {}).get("contacts") or []
    contact = contacts.get(str(contact_ids[0])) if contact_ids else None
    if contact and contact.get("hs_updated_at"):
        at = max(at, ensure_utc(contact["hs_updated_at"]))
    return at


def pulled_at(deal: dict[str, Any], now: datetime) -> datetime:
    """When the deal was pulled from HubSpot: the lead's ``hubspot_synced_at`` (the
    pushback writes it too), shown on the lead page as "last synced"."""
    at = deal.get("pulled_at")
    return ensure_utc(at) if isinstance(at, datetime) else now


def _new_lead(
    partner_id: str, lead_id: str, deal: dict[str, Any], row: dict[str, Any],
    values: dict[str, Any], mapped: str | None, changed_at: datetime, now: datetime,
    stats: LeadBuildStats, listable: bool = True,
) -> dict[str, Any]:
    """The lead for a deal seen for the first time (``leads.build_lead_doc``), with
    the HubSpot bookkeeping; an archived deal's lead is archived."""
    stage = mapped or Stage.NEW.value
    # A deal first seen already archived (deleted in HubSpot) gets an archived lead that
    # remembers what it would have been, so a later restore brings that back.
    restorable = ({"status_before_hubspot_archive":
                   status_for_new_stage(Stage(stage), LeadStatus.OPEN).value}
                  if deal.get("archived") else {})
    doc = build_lead_doc(
        partner_id, {**values, "stage": stage}, source="hubspot", now=now,
        lead_id=lead_id, status=LeadStatus.ARCHIVED if deal.get("archived") else None,
        changed_at=changed_at,
        extra={**restorable,
            "stage_unmapped": mapped is None,
            "hubspot_deal_id": str(deal["hubspot_id"]),
            "hubspot_contact_id": row["contact_id"],
            "hubspot_pipeline_id": row["pipeline"],
            "hubspot_stage_id": row["dealstage"],
            "hubspot_seen_at": changed_at,
            "hubspot_synced_at": pulled_at(deal, now),
        },
    )
    if doc["status"] == LeadStatus.LISTED.value and not listable:
        doc["status"] = LeadStatus.OPEN.value
    if doc["status"] == LeadStatus.LISTED.value:
        stats.listed += 1
        stats.listed_ids.append(lead_id)
    stats.created += 1
    return doc


@dataclass
class _LeadUpdate:
    """A lead's changes from its deal, to be written under the revision read."""

    current: dict[str, Any]
    deal_id: str  # the raw deal's ``_id`` (left dirty if the write loses a race)
    update: dict[str, Any]
    changed: dict[str, Any]
    decision: conflicts.Resolution
    changed_at: datetime


def _update_lead(
    current: dict[str, Any], deal: dict[str, Any], target: dict[str, Any],
    mapped: str | None, changed_at: datetime, now: datetime,
    prop_times: dict[str, tuple[str | None, datetime]] | None,
    listable: bool = True,
) -> _LeadUpdate | None:
    """The deal applied to its lead field by field (``conflicts.resolve``); ``None``
    when nothing changes."""
    decision = conflicts.resolve(current, target, changed_at, prop_times)
    update_fields = {f: v for f, (v, _) in decision.take.items()}
    status = LeadStatus(current["status"])
    if "stage" in update_fields and status in MANUAL_STATUSES:
        wanted = status_for_new_stage(Stage(update_fields["stage"]), status)
        status = status if wanted == LeadStatus.LISTED and not listable else wanted
    if deal.get("archived") and status in MANUAL_STATUSES:
        if status != LeadStatus.ARCHIVED:  # kept, so that a restore brings it back
            update_fields["status_before_hubspot_archive"] = status.value
        status = LeadStatus.ARCHIVED
    elif not deal.get("archived") and current.get("status_before_hubspot_archive"):
        # the deal was restored in HubSpot: the lead is back as it was
        if status == LeadStatus.ARCHIVED:
            status = LeadStatus(current["status_before_hubspot_archive"])
        update_fields["status_before_hubspot_archive"] = None
    update_fields["status"] = status.value
    update_fields["stage_unmapped"] = mapped is None
    update_fields["hubspot_pipeline_id"] = (deal.get("properties") or {}).get("pipeline")
    update_fields["hubspot_stage_id"] = (deal.get("properties") or {}).get("dealstage")
    # The deal's primary contact can change; a stale id would hide contact updates.
    contact_ids = (deal.get("associations") or {}).get("contacts") or []
    update_fields["hubspot_contact_id"] = str(contact_ids[0]) if contact_ids else None
    changed = {k: v for k, v in update_fields.items() if current.get(k) != v}
    edits = current.get("local_edits") or {}
    remaining = {k: v for k, v in edits.items() if k not in decision.delivered}
    if not changed and remaining == edits and not decision.conflicts:
        return None
    times = dict(current.get("field_times", {}))
    for k in changed:
        if k in TRACKED_FIELDS:
            times[k] = decision.take[k][1] if k in decision.take else changed_at
    update = {**changed, "field_times": times, "updated_at": now,
              "search_text": search_text({**current, **changed}),
              "match_keys": contact_keys({**current, **changed}),
              "hubspot_seen_at": changed_at, "hubspot_synced_at": pulled_at(deal, now)}
    if edits:
        update["local_edits"] = remaining
    return _LeadUpdate(current, deal["_id"], update, changed, decision, changed_at)


def _write_updates(db: Database, updates: list[_LeadUpdate],
                   stats: LeadBuildStats) -> set[str]:
    """Write the batch's changed leads in one bulk write, each under the revision it
    was read at (``replace_each_if_unchanged``); record their stage and status
    changes in one insert. Returns the raw deal ids whose write lost a race (a
    platform edit landed meanwhile: the deal stays dirty and is redone)."""
    written = replace_each_if_unchanged(db[c.LEADS], [(u.current, u.update) for u in updates])
    lost: set[str] = set()
    changes: list[dict[str, Any]] = []
    for u, after in zip(updates, written, strict=True):
        if after is None:
            stats.conflicts += 1
            lost.add(u.deal_id)
            continue
        changes.extend(stage_events.lead_change_docs(u.current, after, stats.source,
                                                     u.changed_at))
        stats.resolved.extend(u.decision.conflicts)
        if u.changed:
            stats.updated += 1
        else:
            stats.unchanged += 1
        if "stage" in u.changed:
            stats.stage_changes.append({"lead_id": u.current["_id"],
                                        "from": u.current.get("stage"),
                                        "to": u.changed["stage"]})
        if u.changed.get("status") == LeadStatus.LISTED.value:
            stats.listed += 1
            stats.listed_ids.append(u.current["_id"])
    stage_events.record(db, changes)
    return lost


def publish_lead_events(
    db: Database, settings: Settings, partner_id: str, stats: LeadBuildStats
) -> None:
    """Tell connected clients what the build changed: newly listed leads to the
    marketplace, stage moves to the lead's and the partner's rooms; leads folded into
    another by a HubSpot merge leave the marketplace."""
    for lead_id in stats.merged_away:
        events.emit(settings, LeadUnlisted(lead_id=lead_id))
    if stats.listed_ids:
        listings.announce_listed(db, settings,
                                 db[c.LEADS].find({"_id": {"$in": stats.listed_ids}}))
    for change in stats.stage_changes:
        events.emit(settings, StageUpdated(lead_id=change["lead_id"], partner_id=partner_id,
                                           from_=change["from"], to=change["to"]))
