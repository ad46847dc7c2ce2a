"""Apply a partner's pending webhook events: HubSpot's current state → raw docs → leads.

Event values are never applied: events arrive late, twice and out of order, so the
run only takes *which* objects changed from them and batch-reads their current state
(≤ 100 ids per request). Ids HubSpot no longer returns as active are read again with
``archived=true`` and stored archived (a ``*.deletion``, or a deletion that overtook
a creation event); ids HubSpot knows nothing of are skipped. The raw documents go
through ``raw_store`` (dirty flags), then ``build_leads`` + ``publish_lead_events``,
then the events are marked processed. Applying the same events again reads the same
state and changes nothing, which is what makes redeliveries and reruns harmless.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core.hubspot.connection import api_pool, pages
from pc_core.hubspot.connection.client import AccessTokenProvider
from pc_core.hubspot.connection.oauth import mark_synced
from pc_core.hubspot.connection.objects import ASSOCIATIONS, PROPERTIES, RAW_COLLECTION, ObjectType
from pc_core.hubspot.connection.transport import BATCH_READ_MAX, HubSpotApi
from pc_core.hubspot.lead_build import merges
from pc_core.hubspot.lead_build.lead_builder import LeadBuildStats, build_leads, publish_lead_events
from pc_core.hubspot.pull.raw_store import StoreCounts, store_records
from pc_core.journal.stage_events import WEBHOOK
from pc_core.settings import Settings
from pc_core.store import queues
from pc_core.sync import tasks as sync_tasks
from pc_core.timeutil import utcnow

EVENTS_PER_ROUND = 2_000  # events taken per round; an apply loops while rounds come full
MAX_ROUNDS = 50


@dataclass
class ApplyStats:
    events: int = 0
    ignored: int = 0  # events of object types we do not sync
    objects: dict[str, int] = field(default_factory=lambda: {"deals": 0, "contacts": 0})
    stored: dict[str, StoreCounts] = field(default_factory=dict)
    missing: int = 0  # ids HubSpot does not know (neither active nor archived)
    requests: int = 0
    leads: LeadBuildStats = field(default_factory=LeadBuildStats)
    max_seq: int = 0
    #: the partner document as the apply's token read found it (for ``mark_synced``)
    partner: dict[str, Any] | None = field(default=None, repr=False)
    min_seq: int = 0  # the oldest event applied (its receipt time: ``webhooks.seq_time``)
    duration_s: float = 0.0


def pending_events(db: Database, partner_id: str, limit: int) -> list[dict[str, Any]]:
    """Unprocessed inbox events of one partner (equality on an indexed pair + limit)."""
    return queues.waiting(db[c.WEBHOOK_EVENTS], {"partner_id": partner_id, "processed": False},
                          limit=limit,
                          projection={"_id": 1, "object_type": 1, "object_id": 1,
                                      "related_ids": 1, "subscription_type": 1, "seq": 1})


def read_current(api: HubSpotApi, object_type: ObjectType, ids: list[str],
                 stats: ApplyStats) -> list[pages.HsRecord]:
    """The current state of ``ids``: active ones, then the rest as archived."""
    props = list(PROPERTIES[object_type])
    found: dict[str, pages.HsRecord] = {}
    merged_away: set[str] = set()  # asked-for ids that answered with their canonical record
    for archived in (False, True):
        wanted = [i for i in ids if i not in found and i not in merged_away]
        for start in range(0, len(wanted), BATCH_READ_MAX):
            answer = api.batch_read(object_type, wanted[start:start + BATCH_READ_MAX], props,
                                    archived=archived)
            for item in answer.get("results") or []:
                rec = pages.parse_record(item, object_type, False)
                rec.archived = rec.archived or archived
                found[rec.id] = rec
                merged_away.update(merges.aliases(rec.id, rec.properties))
    stats.missing += len([i for i in ids if i not in found and i not in merged_away])
    return list(found.values())


def _with_associations(api: HubSpotApi, object_type: ObjectType,
                       records: list[pages.HsRecord]) -> list[pages.HsRecord]:
    """Deals need their contacts, which batch read does not return: one v4 batch read
    per 1,000 records, for archived ones too (HubSpot drops a deleted object's links,
    so they end as a full pull's archived pass leaves them)."""
    if ASSOCIATIONS[object_type] and records:  # sets ``associations`` in place
        list(pages.with_associations(api, object_type, iter([pages.Batch(records)])))
    return records


def apply_round(db: Database, api: HubSpotApi, partner_id: str, events: list[dict[str, Any]],
                stats: ApplyStats) -> None:
    """Read and store the current state of the objects these events name."""
    by_type: dict[str, list[str]] = {"contacts": [], "deals": []}
    restored_contacts: list[str] = []
    for event in events:
        if event.get("subscription_type") == "contact.restore":
            restored_contacts.append(str(event["object_id"]))
        otype = event.get("object_type")
        if otype in by_type:
            by_type[otype].append(str(event["object_id"]))
            by_type[otype].extend(str(i) for i in event.get("related_ids") or [])
        else:
            stats.ignored += 1
        seq = int(event.get("seq") or 0)
        stats.max_seq = max(stats.max_seq, seq)
        stats.min_seq = min(stats.min_seq, seq) if stats.min_seq else seq
    # contacts first: a deal built in this run then sees its contact's new state
    for otype in ("contacts", "deals"):
        ids = list(dict.fromkeys(by_type[otype]))
        if not ids:
            continue
        object_type: ObjectType = otype  # type: ignore[assignment]
        stats.objects[otype] += len(ids)
        records = _with_associations(api, object_type,
                                     read_current(api, object_type, ids, stats))
        counts = store_records(db[RAW_COLLECTION[object_type]], partner_id, object_type,
                               records)
        stats.stored.setdefault(otype, StoreCounts()).add(counts)
        if otype == "contacts":
            by_type["deals"].extend(_deals_of_deleted_contacts(db, partner_id, records))
            if restored_contacts:  # their deals got them back without a deal event
                linked = pages.associated_ids(api, "contacts", "deals",
                                              list(dict.fromkeys(restored_contacts)))
                by_type["deals"].extend(d for ds in linked.values() for d in ds)


def _deals_of_deleted_contacts(db: Database, partner_id: str,
                               contacts: list[pages.HsRecord]) -> list[str]:
    """Deleting a contact removes its associations in HubSpot without a deal event:
    the deals whose lead shows that contact are read again (indexed lookup)."""
    gone = [r.id for r in contacts if r.archived]
    if not gone:
        return []
    return [str(d["hubspot_deal_id"]) for d in db[c.LEADS].find(
        queues.exact({"partner_id": partner_id, "hubspot_contact_id": {"$in": gone}}),
        {"hubspot_deal_id": 1}) if d.get("hubspot_deal_id")]


def mark_processed(db: Database, event_ids: list[str], run_id: str | None) -> None:
    """The events are applied: the inbox no longer offers them."""
    queues.mark_processed(db[c.WEBHOOK_EVENTS], event_ids, by=run_id, now=utcnow())


def apply_pending(db: Database, settings: Settings, partner_id: str,
                  tokens: AccessTokenProvider | None = None, *,
                  run_id: str | None = None, task_id: str | None = None,
                  api_factory: Callable[[], HubSpotApi] | None = None) -> ApplyStats:
    """Apply every pending event of the partner (in rounds); returns the figures.

    Events are marked processed only after their objects are stored and the leads
    rebuilt, so a run that fails leaves them pending for the next run. Conflicts the
    lead build resolves are recorded on ``task_id`` (the webhook run's sync task).
    The partner's HubSpot client comes from ``api_pool`` (kept between batches)
    unless ``tokens`` or ``api_factory`` say otherwise.
    """
    started = time.perf_counter()
    stats = ApplyStats()
    with ExitStack() as stack:
        api: HubSpotApi | None = None
        for _ in range(MAX_ROUNDS):
            events = pending_events(db, partner_id, EVENTS_PER_ROUND)
            if not events:
                break
            if api is None:
                if api_factory is not None:
                    api = api_factory()
                elif tokens is not None:
                    api = HubSpotApi(settings, tokens)
                else:
                    api = stack.enter_context(api_pool.POOL.borrow(db, settings, partner_id))
            apply_round(db, api, partner_id, events, stats)
            built = build_leads(db, partner_id, settings=settings, task_id=task_id,
                                source=WEBHOOK, partner=getattr(api.tokens, "seen", None))
            publish_lead_events(db, settings, partner_id, built)
            _merge(stats.leads, built)
            mark_processed(db, [e["_id"] for e in events], run_id)
            stats.events += len(events)
            if len(events) < EVENTS_PER_ROUND:
                # All there was when read. Events stored since then woke the workers
                # (``wakeups``) and are the next batch's: no read that finds nothing.
                break
        stats.requests = api.requests if api else 0
        stats.partner = getattr(api.tokens, "seen", None) if api else None
    stats.duration_s = time.perf_counter() - started
    return stats


def _merge(total: LeadBuildStats, more: LeadBuildStats) -> None:
    for name in ("created", "updated", "unchanged", "listed", "unmapped", "conflicts",
                 "linked"):
        setattr(total, name, getattr(total, name) + getattr(more, name))
    total.listed_ids.extend(more.listed_ids)
    total.merged_away.extend(more.merged_away)
    total.stage_changes.extend(more.stage_changes)


def run_webhook_sync(db: Database, settings: Settings, partner_id: str, *,
                     run_id: str | None = None,
                     tokens: AccessTokenProvider | None = None,
                     applied_by: str | None = None) -> tuple[str, ApplyStats]:
    """``apply_pending`` recorded as a ``sync_task`` (trigger "webhook"): counts per
    object type, lead figures, errors and the Dagster run id (none when the hot-path
    worker applies). Events are marked processed by ``applied_by`` (else the run id).
    Returns (task id, stats); a failure marks the task failed and is raised again."""
    task = sync_tasks.create_task(db, partner_id, trigger="webhook", direction="pull",
                                  dagster_run_id=run_id, status="running")
    try:
        stats = apply_pending(db, settings, partner_id, tokens, run_id=applied_by or run_id,
                              task_id=task["_id"])
    except Exception as exc:
        sync_tasks.add_counts(db, task["_id"], "failure", {"errors": 1},
                              [f"{type(exc).__name__}: {exc}"[:500]])
        sync_tasks.finish(db, task["_id"], "failed")
        raise
    steps: list[tuple[str, dict[str, int], str]] = [
        (otype, {"fetched": counts.created + counts.updated + counts.unchanged
                 + counts.archived, "created": counts.created, "updated": counts.updated,
                 "unchanged": counts.unchanged, "archived": counts.archived, "errors": 0},
         "pull") for otype, counts in stats.stored.items()]
    lead = stats.leads
    steps.append(("leads", {
        "created": lead.created, "updated": lead.updated, "unchanged": lead.unchanged,
        "listed": lead.listed, "unmapped": lead.unmapped}, "leads"))
    steps.append(("webhook", {
        "events": stats.events, "ignored_events": stats.ignored, "missing": stats.missing,
        "deals": stats.objects["deals"], "contacts": stats.objects["contacts"],
        "requests": stats.requests, "max_seq": stats.max_seq}, "details"))
    sync_tasks.finish_with_counts(db, task["_id"], steps, "succeeded", current=task)
    if stats.events:
        mark_synced(db, partner_id, current=stats.partner)
    return task["_id"], stats
