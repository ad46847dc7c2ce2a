"""The lead inventory: each partner's leads, their canonical stage and marketplace
status, notes, and the per-field change times that conflict resolution relies on."""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import datetime
from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core import events
from pc_core.access import Principal
from pc_core.errors import BadRequest, Conflict, NotFound, PreconditionFailed
from pc_core.ids import new_id
from pc_core.journal.stage_events import PLATFORM, record_lead_change
from pc_core.marketplace.known_contacts import contact_keys
from pc_core.marketplace.listings import announce_listed, announce_price_drop
from pc_core.marketplace.names import partner_names
from pc_core.marketplace.payouts import can_list, require_can_list
from pc_core.models.leads import (
    LeadCreate,
    LeadFields,
    LeadOrigin,
    LeadOut,
    LeadPage,
    LeadUpdate,
    NoteOut,
)
from pc_core.models.live_events import LeadUnlisted, StageUpdated
from pc_core.settings import Settings
from pc_core.stages import MANUAL_STATUSES, LeadStatus, Stage, status_for_new_stage
from pc_core.store import replace_if_unchanged, sort_key, time_key, wakeups
from pc_core.store.pagination import add_key_range, fetch_merged_page
from pc_core.sync import value_labels
from pc_core.timeutil import utcnow

# Fields whose last change time is kept, for "most recent change wins".
TRACKED_FIELDS = (
    "title", "company", "contact_name", "contact_email", "contact_phone", "company_size",
    "industry", "location", "budget_cents", "amount_cents", "price_cents", "stage", "status",
)
SEARCHED_FIELDS = ("title", "company", "contact_name", "contact_email")
# Fields a HubSpot-linked lead takes from its deal (and contact): a platform edit of one
# is remembered in ``local_edits`` until HubSpot has it, so the lead builder can tell a
# pending platform change from a stale HubSpot value (pc_core/hubspot/lead_build/conflicts.py).
HUBSPOT_SOURCED = (
    "title", "company", "contact_name", "contact_email", "contact_phone", "company_size",
    "industry", "location", "amount_cents", "stage",
)
# What the pushback writes to the partner's deal (pc_core/hubspot/sync_back/pushback.py),
# notes aside.
PUSHED_FIELDS = ("stage", "amount_cents")
# What a lead page reads: everything LeadOut shows, plus the pagination key.
PAGE_PROJECTION = dict.fromkeys(
    (*TRACKED_FIELDS, "partner_id", "buyer_partner_id", "source", "external_id", "notes",
     "created_at", "updated_at", "sort_key", "buyer_stage", "hubspot_deal_id",
     "buyer_hubspot_deal_id", "hubspot_synced_at", "push_pending", "scheduled_date",
     "meeting_status", "meeting_type", "buyer_notes"),
    1,
)


def search_text(fields: dict[str, Any]) -> str:
    """Lower-cased text the ``q`` filter matches against."""
    return " ".join(str(fields[f]).lower() for f in SEARCHED_FIELDS if fields.get(f))


def build_lead_doc(
    partner_id: str,
    fields: LeadFields | dict[str, Any],
    *,
    source: str,
    now: datetime,
    lead_id: str | None = None,
    status: LeadStatus | None = None,
    created_by: str | None = None,
    changed_at: datetime | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A complete new lead document: the one builder for every way a lead arrives.

    The API, the CSV import, ChiliPiper and the seed pass validated ``LeadFields``;
    the HubSpot lead builder passes a deal's values as a dict (fields it lacks are
    null), ``changed_at`` (when HubSpot last changed them: each field's change time,
    for "most recent change wins") and its bookkeeping in ``extra``.
    """
    if isinstance(fields, LeadFields):
        values = fields.model_dump(mode="json", exclude={"partner_id", "status"})
    else:
        values = {**dict.fromkeys(LeadFields.model_fields), **fields}
    stage = Stage(values["stage"] or Stage.NEW)
    values["stage"] = stage.value
    initial = status or LeadStatus.OPEN
    if initial not in MANUAL_STATUSES:
        raise BadRequest("a new lead can only be open, listed or archived")
    doc_id = lead_id or new_id()
    doc: dict[str, Any] = {
        "_id": doc_id,
        "partner_id": partner_id,
        **values,
        "status": status_for_new_stage(stage, initial).value,
        "source": source,
        "buyer_partner_id": None,
        "notes": [],
        "search_text": search_text(values),
        "match_keys": contact_keys(values),
        "created_at": now,
        "updated_at": now,
        "sort_key": sort_key(now, doc_id),
        "field_times": dict.fromkeys(TRACKED_FIELDS, changed_at or now),
        "created_by": created_by,
        **(extra or {}),
        "rev": 1,
    }
    return doc


def target_partner(db: Database, actor: Principal, requested: str | None) -> str:
    partner_id = actor.acting_partner_id(requested)  # another partner's: 404
    actor.require_writer()
    if partner_id is None:
        raise BadRequest("partner_id is required")
    if db[c.PARTNERS].find_one({"_id": partner_id}, {"_id": 1}) is None:
        raise NotFound("partner not found")
    return partner_id


def create_lead(
    db: Database, actor: Principal, data: LeadCreate, source: str = "manual",
    settings: Settings | None = None,
) -> LeadOut:
    """``settings`` (for the live events): a lead created listed is announced."""
    partner_id = target_partner(db, actor, data.partner_id)
    doc = build_lead_doc(
        partner_id, data, source=source, now=utcnow(), status=data.status,
        created_by=actor.user_id,
    )
    if doc["status"] == LeadStatus.LISTED.value:
        doc["status"] = _listable(db, partner_id, data.status == LeadStatus.LISTED,
                                  LeadStatus.OPEN).value
    db[c.LEADS].insert_one(doc)
    if settings is not None:
        announce_edit(db, settings, None, doc)
    return LeadOut.from_doc(doc, partner_id, **_lookups(db, [doc], partner_id))


def announce_edit(db: Database, settings: Settings, before: dict[str, Any] | None,
                  after: dict[str, Any]) -> None:
    """A person's change, live: the stage moved (``stage-updated``), the lead went on
    the market (``lead-listed``, so open marketplace pages show it at once) or came off
    it (``lead-unlisted``, so they drop it)."""
    if before is not None and before.get("stage") != after.get("stage"):
        events.emit(settings, StageUpdated(lead_id=after["_id"], partner_id=after["partner_id"],
                                           from_=before.get("stage"), to=after["stage"]))
    listed = LeadStatus.LISTED.value
    if after["status"] == listed and (before is None or before["status"] != listed):
        announce_listed(db, settings, [after])
    elif before is not None and before["status"] == listed and after["status"] != listed:
        events.emit(settings, LeadUnlisted(lead_id=after["_id"]))
    elif before is not None and after["status"] == listed and _cheaper(before, after):
        announce_price_drop(db, settings, after)


def _cheaper(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """The seller's own price went down (or was set where the default applied)."""
    new, old = after.get("price_cents"), before.get("price_cents")
    return new is not None and (old is None or new < old)


def get_lead_doc(db: Database, actor: Principal, lead_id: str) -> dict[str, Any]:
    doc = db[c.LEADS].find_one({"_id": lead_id})
    if doc is None or not (
        actor.can_see_partner(doc["partner_id"])
        or (doc.get("buyer_partner_id") and actor.can_see_partner(doc["buyer_partner_id"]))
    ):
        raise NotFound("lead not found")
    return doc


def get_lead(db: Database, actor: Principal, lead_id: str) -> LeadOut:
    """One lead as its seller or its buyer sees it (404 for everyone else)."""
    doc = get_lead_doc(db, actor, lead_id)
    return LeadOut.from_doc(doc, actor.partner_id,
                           **_lookups(db, [doc], actor.partner_id))


def _lookups(db: Database, docs: list[dict[str, Any]], viewer: str | None
             ) -> dict[str, Any]:
    """What a lead answer shows besides the stored lead: the names of the sellers of
    the leads ``viewer`` did not bring (none to look up on a page of the viewer's own
    leads), and the sellers' CRM labels of the leads' values (one read by ``_id``)."""
    sellers = {d["partner_id"] for d in docs}
    return {"names": partner_names(db, (p for p in sellers if p != viewer)),
            "labels": value_labels.labels_of(db, sellers)}


def list_leads(
    db: Database,
    actor: Principal,
    *,
    status: LeadStatus | None = None,
    stage: Stage | None = None,
    q: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    partner_id: str | None = None,
    origin: LeadOrigin = LeadOrigin.OWN,
    limit: int = 50,
    cursor: str | None = None,
) -> LeadPage:
    """Newest first, keyset-paginated; each filter combination has an index.

    ``origin`` picks the partner's own leads (``partner_id``), the leads it bought
    (``buyer_partner_id``) or both; "both" is two index-served pages merged, never
    an ``$or``. A lead appears in a partner's list only through one of those two
    fields, so no other partner's lead can show up."""
    match: dict[str, Any] = {}
    scoped = actor.scoped_partner_id(partner_id)
    if status is not None:
        match["status"] = status.value
    if stage is not None:
        match["stage"] = stage.value
    if q:
        match["search_text"] = {"$regex": re.escape(q.strip().lower())}
    add_key_range(
        match,
        cursor,
        lower=time_key(created_from) if created_from else None,
        upper=time_key(created_to) if created_to else None,
    )
    if scoped is None:
        if origin is LeadOrigin.PURCHASED:
            raise BadRequest("origin=purchased needs a partner_id")
        matches = [match]  # the owner, unscoped: every lead, whoever brought or bought it
    else:
        fields = {LeadOrigin.OWN: ("partner_id",), LeadOrigin.PURCHASED: ("buyer_partner_id",),
                  LeadOrigin.ALL: ("partner_id", "buyer_partner_id")}[origin]
        matches = [{field: scoped, **match} for field in fields]
    docs, next_cursor = fetch_merged_page(db[c.LEADS], matches, limit, PAGE_PROJECTION)
    return LeadPage.from_docs(docs, scoped, next_cursor, **_lookups(db, docs, scoped))


def _listable(db: Database, partner_id: str, explicit: bool,
              otherwise: LeadStatus) -> LeadStatus:
    """``listed`` if the seller may list (payouts set up, or the operator); asked for
    by hand it is a 409 otherwise, reached by a stage change the lead stays as it was."""
    if explicit:
        require_can_list(db, partner_id)
        return LeadStatus.LISTED
    partner = db[c.PARTNERS].find_one({"_id": partner_id}, {"is_operator": 1,
                                                            "stripe_connect": 1})
    return LeadStatus.LISTED if can_list(partner) else otherwise


def _status_change(current: LeadStatus, wanted: LeadStatus) -> LeadStatus:
    if wanted == current:
        return current
    if current not in MANUAL_STATUSES or wanted not in MANUAL_STATUSES:
        raise Conflict(
            f"a {current.value} lead cannot be set to {wanted.value} by hand; "
            "reservations and sales change it"
        )
    return wanted


def update_lead(
    db: Database, actor: Principal, lead_id: str, data: LeadUpdate,
    settings: Settings | None = None, *, expected_revisions: Collection[int] | None = None,
) -> LeadOut:
    """Apply a person's edit. ``expected_revisions`` (an HTTP ``If-Match``): the edit
    holds only if the lead is still at one of them; otherwise ``PreconditionFailed``
    with the current lead and nothing written. The check is the write's own
    compare-and-set filter, so an edit landing between our read and our write also
    fails it."""
    doc = get_lead_doc(db, actor, lead_id)
    actor.require_write_on_partner(doc["partner_id"], "lead")
    if expected_revisions is not None and (doc.get("rev") or 0) not in expected_revisions:
        raise _changed_since_read(db, doc, actor)
    changes = data.model_dump(mode="json", exclude_unset=True)
    now = utcnow()
    current_status = LeadStatus(doc["status"])
    new_status = current_status
    if "status" in changes and changes["status"] is not None:
        new_status = _status_change(current_status, LeadStatus(changes["status"]))
    if changes.get("stage"):
        new_status = status_for_new_stage(Stage(changes["stage"]), new_status)
    if new_status is LeadStatus.LISTED and current_status is not LeadStatus.LISTED:
        new_status = _listable(db, doc["partner_id"],
                               changes.get("status") == LeadStatus.LISTED.value, current_status)
    changes["status"] = new_status.value
    changed = {k: v for k, v in changes.items() if doc.get(k) != v}
    if not changed:
        return LeadOut.from_doc(doc, actor.partner_id,
                               **_lookups(db, [doc], actor.partner_id))
    field_times = {**doc.get("field_times", {}), **{f: now for f in changed}}
    merged = {**doc, **changed}
    update: dict[str, Any] = {
        **changed,
        "updated_at": now,
        "field_times": field_times,
        "search_text": search_text(merged),
        "match_keys": contact_keys(merged),
        **_hubspot_bookkeeping(doc, changed, now),
    }
    # Compare-and-set on the revision: a reservation or another edit that lands
    # between our read and our write wins, and this caller gets a 409.
    after = replace_if_unchanged(db[c.LEADS], doc, update)
    if after is None and expected_revisions is not None:
        raise _changed_since_read(db, get_lead_doc(db, actor, lead_id), actor)
    if after is None:
        raise Conflict("the lead changed meanwhile; reload and try again")
    record_lead_change(db, doc, after, PLATFORM, now)
    if settings is not None:
        announce_edit(db, settings, doc, after)
        if after.get("push_pending"):  # the hot path pushes it to HubSpot at once
            wakeups.announce(settings, wakeups.PUSHBACK, [after["partner_id"]])
    return LeadOut.from_doc(after, actor.partner_id,
                           **_lookups(db, [after], actor.partner_id))


def _changed_since_read(db: Database, current: dict[str, Any],
                        actor: Principal) -> PreconditionFailed:
    return PreconditionFailed(
        "the lead changed since you read it; nothing was saved", current=LeadOut.from_doc(
            current, actor.partner_id, **_lookups(db, [current], actor.partner_id)),
        revision=int(current.get("rev") or 0))


def _hubspot_bookkeeping(doc: dict[str, Any], changed: dict[str, Any],
                         now: datetime) -> dict[str, Any]:
    """For a lead linked to a HubSpot deal: remember which deal-sourced fields the
    platform changed (``local_edits``, for conflict resolution) and flag the lead for
    the pushback when a pushed field changed. ``push_pending`` is an indexed equality
    flag because "leads changed since X" cannot be a date range on the embedded store."""
    if not doc.get("hubspot_deal_id"):
        return {}
    edited = [f for f in changed if f in HUBSPOT_SOURCED]
    if not edited:
        return {}
    out: dict[str, Any] = {
        "local_edits": {**(doc.get("local_edits") or {}), **dict.fromkeys(edited, now)}}
    if any(f in PUSHED_FIELDS for f in edited):
        out["push_pending"] = True
    return out


def add_note(db: Database, actor: Principal, lead_id: str, body: str,
             settings: Settings | None = None) -> NoteOut:
    """A note by the lead's seller (``notes``: pushed to its HubSpot deal, seen by a
    buyer too), or by the buyer of a sold lead (``buyer_notes``: the buyer's own,
    seen by the buyer and the owner only, never pushed to the seller's CRM). With
    ``settings``, a note to push wakes the hot path's pushback lane."""
    doc = get_lead_doc(db, actor, lead_id)
    buyer = not actor.can_see_partner(doc["partner_id"])
    actor.require_write_on_partner(doc["buyer_partner_id"] if buyer else doc["partner_id"],
                                   "lead")
    field = "buyer_notes" if buyer else "notes"
    now = utcnow()
    note = {"id": new_id(), "body": body, "author_id": actor.user_id, "created_at": now}
    # Whole-array write under compare-and-set, retried on a concurrent change
    # (pc_core.store: no $push, no $set of dates).
    for _ in range(5):
        update = {
            field: [*doc.get(field, []), note],
            "updated_at": now,
            "field_times": {**doc.get("field_times", {}), field: now},
        }
        if doc.get("hubspot_deal_id") and not buyer:
            update["push_pending"] = True  # the note goes to the deal (pushback)
        if replace_if_unchanged(db[c.LEADS], doc, update) is not None:
            if settings is not None and update.get("push_pending"):
                wakeups.announce(settings, wakeups.PUSHBACK, [doc["partner_id"]])
            return NoteOut.model_validate(note)
        doc = get_lead_doc(db, actor, lead_id)
    raise Conflict("the lead is being changed by others; try again")

