"""Erasing a contact by e-mail (a data subject's request to be forgotten).

The owner erases everywhere (or within one partner); a partner's admin erases from
the leads its partner holds (its own, and those it bought). Removed: the leads whose
contact is that e-mail (their notes and stage history with them), notes on other
leads that name it, the work queued about those leads (CRM deliveries, deal links,
rebuilds, meetings, outbox events), the HubSpot mirror and webhook events that
carry it, e-mails that name it, and the warehouse rows (Parquet) of those leads.
Purchases and invoices stay: they hold the lead's id only, which names nobody once
the lead is gone.

An audit record (``erasures``) keeps who, when and how many, never the e-mail or
the data. The data-quality check (``check``) runs right after and scans the same
places again for the e-mail and the erased leads' ids; its result is in the answer
and the record. Erasure in the partner's own HubSpot portal is the partner's: the
next sync brings a contact back if it is still there (docs/lifecycle.md).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core import events
from pc_core.access import Principal
from pc_core.analytics import warehouse_files
from pc_core.ids import new_id
from pc_core.models.erasure import ErasureAuditOut, ErasureCheckOut, ErasureOut
from pc_core.models.live_events import LeadUnlisted
from pc_core.settings import Settings
from pc_core.stages import LeadStatus
from pc_core.store import update_with_retry
from pc_core.timeutil import ensure_utc, utcnow

Doc = dict[str, Any]
SCAN_LIMIT = 1_000_000
# Work queued about a lead, found by its id.
BY_LEAD = (c.STAGE_EVENTS, c.MEETINGS, c.CRM_DELIVERIES, c.DEAL_LINKS, c.LEAD_REBUILDS,
           c.ASSET_OUTBOX)
# Places whose documents may carry the e-mail itself.
CARRIERS = (c.EMAILS, c.HUBSPOT_CONTACTS, c.HUBSPOT_DEALS, c.WEBHOOK_EVENTS, c.MEETINGS)


def _text(doc: Doc) -> str:
    return json.dumps(doc, default=str).lower()


def _holder(lead: Doc) -> str:
    """The partner that holds the lead now: its buyer once sold, else its seller."""
    return lead.get("owner_partner_id") or lead["partner_id"]


class _Scope:
    """What the caller may erase: everything (the owner) or one partner's."""

    def __init__(self, db: Database, partner_id: str | None) -> None:
        self.partner_id = partner_id
        self.recipients: set[str] = set()
        if partner_id is not None:
            self.recipients = {u["email"] for u in db[c.USERS].find(
                {"partner_id": partner_id}, {"email": 1}).limit(10_000)}

    def holds(self, lead: Doc) -> bool:
        return self.partner_id is None or self.partner_id == _holder(lead)

    def covers(self, name: str, doc: Doc, lead_ids: set[str]) -> bool:
        if self.partner_id is None:
            return True
        if "partner_id" in doc:
            return doc["partner_id"] == self.partner_id
        if name == c.EMAILS:
            to = {a.strip() for a in str(doc.get("to") or "").split(",")}
            return bool(to & self.recipients)
        return any(i in _text(doc) for i in lead_ids)


def erase_contact(db: Database, settings: Settings, actor: Principal, email: str,
                  partner_id: str | None = None, *, warehouse: str | None = None) -> ErasureOut:
    """Erase, record and check; ``warehouse``: the Parquet base (default the
    configured one)."""
    scoped = actor.scoped_partner_id(partner_id)  # another partner's: 404
    actor.require_writer()
    email = email.strip().lower()
    base = warehouse or warehouse_files.warehouse_url()
    scope = _Scope(db, scoped)
    removed: dict[str, int] = {}
    leads = [d for d in db[c.LEADS].find({"contact_email": email}).limit(10_000)
             if scope.holds(d)]
    lead_ids = {d["_id"] for d in leads}
    for lead in leads:
        db[c.LEADS].delete_one({"_id": lead["_id"]})
        if lead.get("status") == LeadStatus.LISTED.value:
            events.emit(settings, LeadUnlisted(lead_id=lead["_id"]))
    removed[c.LEADS] = len(leads)
    removed["notes"] = _remove_notes(db, scope, email)
    for name in BY_LEAD:
        if lead_ids:
            removed[name] = db[name].delete_many(
                {"lead_id": {"$in": sorted(lead_ids)}}).deleted_count
    for name in CARRIERS:
        ids = [d["_id"] for d in _mentioning(db, name, scope, email, lead_ids)]
        if ids:
            removed[name] = removed.get(name, 0) + db[name].delete_many(
                {"_id": {"$in": ids}}).deleted_count
    removed["warehouse_rows"] = warehouse_files.remove_rows(base, lead_ids, email, scoped)
    check = check_erased(db, scope, email, lead_ids, base)
    now = utcnow()
    removed = {k: v for k, v in removed.items() if v}
    audit = {"_id": new_id(), "at": now, "actor_user_id": actor.user_id,
             "actor_role": actor.role.value, "partner_id": scoped, "removed": removed,
             "check_passed": check.passed}
    db[c.ERASURES].insert_one(audit)
    return ErasureOut(id=audit["_id"], at=now, removed=removed, check=check)


def _remove_notes(db: Database, scope: _Scope, email: str) -> int:
    """Notes on other leads that name the e-mail (the lead itself stays)."""
    removed = 0
    query: Doc = {} if scope.partner_id is None else {"partner_id": scope.partner_id}
    for lead in db[c.LEADS].find(query, {"notes": 1}).limit(SCAN_LIMIT):
        if not any(email in _text(n) for n in lead.get("notes") or []):
            continue

        def without(current: Doc) -> Doc | None:
            kept = [n for n in current.get("notes") or [] if email not in _text(n)]
            return None if len(kept) == len(current.get("notes") or []) else {"notes": kept}

        before = len(lead["notes"])
        after = update_with_retry(db[c.LEADS], lead["_id"], without, what="lead")
        removed += before - len(after.get("notes") or [])
    return removed


def _mentioning(db: Database, name: str, scope: _Scope, email: str,
                lead_ids: set[str]) -> list[Doc]:
    out = []
    for doc in db[name].find({}).limit(SCAN_LIMIT):
        text = _text(doc)
        if (email in text or any(i in text for i in lead_ids)) and \
                scope.covers(name, doc, lead_ids):
            out.append(doc)
    return out


def check_erased(db: Database, scope: _Scope, email: str, lead_ids: set[str],
                 base: str) -> ErasureCheckOut:
    """The data-quality check: every place erasure covers, scanned again for the
    e-mail and the erased leads' ids. Passed means no trace is left in scope."""
    traces: dict[str, int] = {}
    leads = [d for d in db[c.LEADS].find({}).limit(SCAN_LIMIT)
             if scope.holds(d) and email in _text(d)]
    if leads:
        traces[c.LEADS] = len(leads)
    for name in sorted({*BY_LEAD, *CARRIERS}):
        if found := _mentioning(db, name, scope, email, lead_ids):
            traces[name] = len(found)
    for place, n in warehouse_files.traces(base, lead_ids, email, scope.partner_id).items():
        traces["warehouse:" + place] = n
    return ErasureCheckOut(passed=not traces, traces=traces)


def list_erasures(db: Database, actor: Principal) -> list[ErasureAuditOut]:
    """The audit trail: the owner sees every erasure, an admin its partner's."""
    actor.require_writer()
    query: Doc = {} if actor.is_owner else {"partner_id": actor.partner_id}
    docs = list(db[c.ERASURES].find(query).limit(1000))
    docs.sort(key=lambda d: ensure_utc(d["at"]), reverse=True)
    return [ErasureAuditOut.model_validate({**d, "id": d["_id"], "at": _at(d["at"])})
            for d in docs]


def _at(value: datetime | str) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else ensure_utc(value)
