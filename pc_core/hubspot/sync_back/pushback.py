"""Platform → HubSpot: lead edits made in the platform reach the partner's deal.

What is pushed: the stage (through the reverse stage mapping, in the deal's own
pipeline), the amount, and new notes (HubSpot notes associated with the deal). Which
leads: those flagged ``push_pending`` by ``pc_core.leads.inventory`` (an indexed equality flag);
which fields: the ones still in the lead's ``local_edits``.

Per batch of ≤ 50 leads: one batch read of the deals with ``propertiesWithHistory``
(the 50-input limit) tells which deals still exist, what HubSpot holds now and when
each property last changed; then one batch update of the deals (≤ 100 inputs) and
batch creates of the notes (≤ 100). A property HubSpot changed *after* the platform's
edit is not overwritten: the newer change wins, and the lead builder takes HubSpot's
value when the pull or webhook brings it (and records the conflict).

Each lead then records ``hubspot_synced_at`` and ``pushed`` ({field: {value, at}}),
which is how the echo of our own change is recognised when it comes back
(pc_core/hubspot/lead_build/conflicts.py). HubSpot unavailable (5xx, timeouts after the
transport's retries): the run stops, the leads stay pending, the next run (sensor or
15-minute schedule) pushes them; nothing is lost. Nothing is written twice either:
a deal update sets values the next pass finds already there, and a note's id is
recorded on the lead (``push_notes_intent``) before it is written, so the pass after
a failure or a crash looks for that note in HubSpot (body and timestamp) before
writing it (HubSpot has no idempotency key for creating a note).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pymongo.database import Database
from urllib3.util.retry import Retry

from pc_core import collections as c
from pc_core.hubspot.connection.client import AccessTokenProvider
from pc_core.hubspot.connection.pages import iso_to_ms
from pc_core.hubspot.connection.transport import (
    HISTORY_READ_MAX,
    CallPolicy,
    HubSpotApi,
    HubSpotCallError,
)
from pc_core.hubspot.pull.raw_store import EPOCH
from pc_core.hubspot.sync_back.reverse_mapping import ReverseStages
from pc_core.leads.inventory import PUSHED_FIELDS
from pc_core.money import MONEY_PATTERN
from pc_core.settings import Settings
from pc_core.store import queues, update_with_retry
from pc_core.timeutil import ensure_utc, utcnow

NOTE_TO_DEAL = 214  # HubSpot-defined association type: note → deal
READ_PROPS = ["dealstage", "pipeline", "amount"]
HISTORY_PROPS = ["dealstage", "amount"]
PROPERTY = {"stage": "dealstage", "amount_cents": "amount"}
#: When a pending lead was edited: its ``updated_at`` (set by every platform edit that
#: flags it). The hot path's latency starts there; the backstop sensor runs only for
#: leads pending longer than its threshold.
FLAGGED_AT = "updated_at"


@dataclass
class PushStats:
    leads: int = 0  # pending leads looked at
    deals_updated: int = 0
    notes_created: int = 0
    up_to_date: int = 0  # pending, but HubSpot already had everything
    deferred: int = 0  # a field HubSpot changed after the platform did: left to the pull
    failed: int = 0  # leads left pending because HubSpot failed; the next run retries
    requests: int = 0
    skipped: list[dict[str, Any]] = field(default_factory=list)  # no HubSpot stage for it
    conflicts: list[dict[str, Any]] = field(default_factory=list)  # HubSpot changes we overrode
    missing: list[str] = field(default_factory=list)  # leads whose deal is gone
    errors: list[str] = field(default_factory=list)


@dataclass
class _Plan:
    """What one lead sends, and what it expects HubSpot to hold afterwards."""

    lead: dict[str, Any]
    properties: dict[str, str] = field(default_factory=dict)
    pushed: dict[str, Any] = field(default_factory=dict)  # lead field → platform value
    delivered: set[str] = field(default_factory=set)  # fields HubSpot has (now) or declines
    notes: list[dict[str, Any]] = field(default_factory=list)
    stage_id: str | None = None
    skipped: dict[str, str] = field(default_factory=dict)
    deferred: bool = False
    conflicts: list[dict[str, Any]] = field(default_factory=list)


def amount_text(cents: int | None) -> str:
    """Integer cents → HubSpot's decimal text ("" clears the amount)."""
    if cents is None:
        return ""
    return f"{cents // 100}.{cents % 100:02d}"


def parse_cents(text: str | None) -> int | None:
    """HubSpot's decimal text → cents, exactly as the lead builder reads it."""
    cleaned = re.sub(r"[\s,$€£]", "", text or "")
    if not re.fullmatch(MONEY_PATTERN, cleaned):
        return None
    whole, _, frac = cleaned.partition(".")
    return int(whole) * 100 + int((frac or "0").ljust(2, "0"))


def pending_leads(db: Database, limit: int) -> list[dict[str, Any]]:
    """Leads edited in the platform and not pushed yet, any partner (``partner_id``,
    ``rev`` and when edited only): what the worker and the pushback sensor work on."""
    return queues.waiting(db[c.LEADS], {"push_pending": True}, limit=limit,
                          projection={"partner_id": 1, "rev": 1, FLAGGED_AT: 1})


def push_partner(
    db: Database, settings: Settings, partner_id: str, tokens: AccessTokenProvider, *,
    policy: CallPolicy | None = None, retry: Retry | None = None,
    batch: int = HISTORY_READ_MAX,
) -> PushStats:
    """Push every pending lead of the partner; stops at the first HubSpot failure
    (leaving that batch and the rest pending for the next run)."""
    stats = PushStats()
    api = HubSpotApi(settings, tokens, policy, on_incident=stats.errors.append, retry=retry)
    stages = ReverseStages(db, partner_id)
    done: list[str] = []
    while True:
        query: dict[str, Any] = {"partner_id": partner_id, "push_pending": True}
        if done:
            query["_id"] = {"$nin": done}  # leads left pending on purpose are not redone
        leads = queues.waiting(db[c.LEADS], query, limit=min(batch, HISTORY_READ_MAX))
        if not leads:
            break
        done.extend(lead["_id"] for lead in leads)
        stats.leads += len(leads)
        try:
            _push_batch(db, api, stages, leads, stats)
        except HubSpotCallError as exc:
            stats.failed += len(leads)
            stats.errors.append(str(exc))
            break
    stats.requests = api.requests
    return stats


def _push_batch(db: Database, api: HubSpotApi, stages: ReverseStages,
                leads: list[dict[str, Any]], stats: PushStats) -> None:
    linked = [lead for lead in leads if lead.get("hubspot_deal_id")]
    for lead in leads:
        if not lead.get("hubspot_deal_id"):
            _finish(db, _Plan(lead), utcnow())  # not a HubSpot lead: nothing to push
    if not linked:
        return
    answer = api.read_with_history("deals", [str(lead["hubspot_deal_id"]) for lead in linked],
                                   READ_PROPS, HISTORY_PROPS)
    current = {str(r["id"]): r for r in answer.get("results") or []}
    plans: list[_Plan] = []
    for lead in linked:
        deal = current.get(str(lead["hubspot_deal_id"]))
        if deal is None:
            stats.missing.append(lead["_id"])
            _finish(db, _Plan(lead), utcnow(), error="the HubSpot deal no longer exists")
            continue
        plans.append(_plan(lead, deal, stages))
    updates = [{"id": str(p.lead["hubspot_deal_id"]), "properties": p.properties}
               for p in plans if p.properties]
    for start in range(0, len(updates), 100):
        api.batch_update("deals", updates[start : start + 100])
    notes = [_note_input(p.lead, note) for p in plans
             for note in _notes_to_create(db, api, p)]
    for start in range(0, len(notes), 100):
        api.batch_create("notes", notes[start : start + 100])
    now = utcnow()
    for plan in plans:
        _finish(db, plan, now)
        stats.deals_updated += bool(plan.properties)
        stats.notes_created += len(plan.notes)
        stats.deferred += plan.deferred
        stats.conflicts.extend(plan.conflicts)
        if not plan.properties and not plan.notes and not plan.deferred:
            stats.up_to_date += 1
        for name, reason in plan.skipped.items():
            stats.skipped.append({"lead_id": plan.lead["_id"], "field": name, "reason": reason})


def _history_time(deal: dict[str, Any], prop: str) -> datetime | None:
    entries = (deal.get("propertiesWithHistory") or {}).get(prop) or []
    if not entries:
        return None
    latest = max(entries, key=lambda e: e["timestamp"])
    return EPOCH + timedelta(milliseconds=iso_to_ms(latest["timestamp"]))


def _plan(lead: dict[str, Any], deal: dict[str, Any], stages: ReverseStages) -> _Plan:
    plan = _Plan(lead)
    props = deal.get("properties") or {}
    edits = lead.get("local_edits") or {}
    pipeline = props.get("pipeline") or lead.get("hubspot_pipeline_id")
    for name in PUSHED_FIELDS:
        if name not in edits:
            continue
        value = lead.get(name)
        if name == "stage":
            if stages.canonical(pipeline, props.get("dealstage")) == value:
                plan.delivered.add(name)
                continue
            target = stages.stage_for(pipeline, value)
            if target is None:
                plan.skipped[name] = f"no stage of HubSpot pipeline {pipeline} maps to {value}"
                continue
            wanted = target
        else:
            if parse_cents(props.get("amount")) == value:
                plan.delivered.add(name)
                continue
            wanted = amount_text(value)
        changed_at = _history_time(deal, PROPERTY[name])
        edited_at = ensure_utc(edits[name])
        if changed_at is not None and changed_at > edited_at:
            plan.deferred = True  # HubSpot's change is newer: it wins (lead builder)
            continue
        seen = lead.get("hubspot_seen_at")
        if changed_at is not None and seen is not None and changed_at > ensure_utc(seen):
            # HubSpot changed it too, earlier than the platform did: ours wins, logged.
            theirs = (stages.canonical(pipeline, props.get("dealstage")) if name == "stage"
                      else parse_cents(props.get("amount")))
            plan.conflicts.append({
                "lead_id": lead["_id"], "field": name, "platform_value": value,
                "platform_at": edited_at, "hubspot_value": theirs, "hubspot_at": changed_at,
                "winner": "platform"})
        plan.properties[PROPERTY[name]] = wanted
        plan.pushed[name] = value
        if name == "stage":
            plan.stage_id = wanted
    sent = set(lead.get("pushed_notes") or [])
    plan.notes = [n for n in lead.get("notes") or [] if n["id"] not in sent]
    return plan


def _notes_to_create(db: Database, api: HubSpotApi, plan: _Plan) -> list[dict[str, Any]]:
    """The plan's notes not yet in HubSpot. Before they are written their ids are
    recorded on the lead (``push_notes_intent``); a note found there was being written
    by a pass that died or failed before recording it, so it is looked for first (its
    body and timestamp, on the deal's portal) and written only if not found: HubSpot
    has no idempotency key for creating a note."""
    if not plan.notes:
        return []
    intended = set(plan.lead.get("push_notes_intent") or [])
    todo = [n for n in plan.notes
            if n["id"] not in intended or not _note_in_hubspot(api, plan.lead, n)]
    wanted = sorted(intended | {n["id"] for n in plan.notes})
    update_with_retry(db[c.LEADS], plan.lead["_id"],
                      lambda cur: None if cur.get("push_notes_intent") == wanted else
                      {"push_notes_intent": wanted}, what="lead")
    return todo


def _note_in_hubspot(api: HubSpotApi, lead: dict[str, Any], note: dict[str, Any]) -> bool:
    props = _note_input(lead, note)["properties"]
    found = api.search("notes", {"filterGroups": [{"filters": [
        {"propertyName": "hs_note_body", "operator": "EQ", "value": props["hs_note_body"]},
        {"propertyName": "hs_timestamp", "operator": "EQ", "value": props["hs_timestamp"]},
    ]}], "properties": ["hs_note_body"], "limit": 1})
    return bool(found.get("results"))


def _note_input(lead: dict[str, Any], note: dict[str, Any]) -> dict[str, Any]:
    created = ensure_utc(note["created_at"])
    return {
        "properties": {"hs_note_body": note["body"],
                       "hs_timestamp": created.isoformat().replace("+00:00", "Z")},
        "associations": [{"to": {"id": str(lead["hubspot_deal_id"])},
                          "types": [{"associationCategory": "HUBSPOT_DEFINED",
                                     "associationTypeId": NOTE_TO_DEAL}]}],
    }


def _finish(db: Database, plan: _Plan, now: datetime, error: str | None = None) -> None:
    """Record what was pushed on the lead, re-reading it: an edit made while we pushed
    keeps its field in ``local_edits`` and the lead pending."""
    seen_edits = plan.lead.get("local_edits") or {}
    sent_notes = [n["id"] for n in plan.notes]

    def record(cur: dict[str, Any]) -> dict[str, Any]:
        edits = dict(cur.get("local_edits") or {})
        for name in (*plan.pushed, *plan.delivered):
            if name in seen_edits and edits.get(name) == seen_edits[name]:
                edits.pop(name, None)
        pushed = {**(cur.get("pushed") or {}),
                  **{k: {"value": v, "at": now} for k, v in plan.pushed.items()}}
        pushed_notes = [*(cur.get("pushed_notes") or []), *sent_notes]
        unsent = [n for n in cur.get("notes") or [] if n["id"] not in set(pushed_notes)]
        skipped = {k for k, v in plan.skipped.items() if edits.get(k) == seen_edits.get(k)}
        pending = bool(unsent) or any(f in edits and f not in skipped for f in PUSHED_FIELDS)
        if error is not None or not cur.get("hubspot_deal_id"):
            pending = False
        intent = [i for i in cur.get("push_notes_intent") or [] if i not in set(sent_notes)]
        out: dict[str, Any] = {
            "local_edits": edits, "pushed": pushed, "pushed_notes": pushed_notes,
            "push_notes_intent": intent or None,
            "push_pending": pending, "hubspot_synced_at": now,
            "push_skipped": plan.skipped or None, "push_error": error,
        }
        if plan.stage_id is not None:
            out["hubspot_stage_id"] = plan.stage_id
        return out

    update_with_retry(db[c.LEADS], plan.lead["_id"], record, what="lead")
