"""A sold lead → its buyer's HubSpot portal: the contact, a deal associated with it,
and a note with what the buyer paid for.

Works on the pending deliveries of ``pc_core.marketplace.deliveries``. ``deliver_due`` is
one Dagster run's work (``crm_delivery_job``, launched by ``crm_delivery_sensor``): it
takes every delivery due, groups them by buyer and delivers each buyer's in its own
worker thread, so one buyer's broken or slow portal neither fails nor delays the
others. ``deliver_for_buyer`` is the same for one buyer, used by the buyer's
cross-partner sync (the 15-minute schedule), which also records deliveries for sold
leads that have none and wakes those that waited for the buyer to connect.

Idempotent at every step, as HubSpot has no idempotency key:
- the delivery is claimed by a compare-and-set before anything is written, so two
  runs never deliver the same sale;
- each id HubSpot answers (contact, deal, note) is saved on the delivery at once, and
  a retry continues from there;
- the contact is looked up by email first (HubSpot refuses a second contact with the
  same email; its 409 names the existing one);
- the deal's description carries the purchase id, and a retry searches for it before
  creating, so an attempt that died between HubSpot's answer and our write does not
  make a second deal.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError
from urllib3.util.retry import Retry

from pc_core import collections as c
from pc_core.errors import DomainError
from pc_core.hubspot.connection.oauth import PartnerTokens
from pc_core.hubspot.connection.transport import (
    TRANSIENT_STATUSES,
    CallPolicy,
    HubSpotApi,
    HubSpotCallError,
)
from pc_core.hubspot.lead_build import deal_links
from pc_core.hubspot.sync_back.pushback import NOTE_TO_DEAL, amount_text
from pc_core.hubspot.sync_back.reverse_mapping import ReverseStages
from pc_core.marketplace import deliveries
from pc_core.money import format_cents
from pc_core.settings import Settings
from pc_core.store import update_with_retry
from pc_core.sync import tasks as sync_tasks
from pc_core.timeutil import ensure_utc, utcnow

log = logging.getLogger(__name__)

DEAL_TO_CONTACT = 3  # HubSpot-defined association types
NOTE_TO_CONTACT = 202
# Tighter than a pull's: a sale is a handful of small writes, and a dead portal should
# hand back its thread (the delivery is retried after its back-off anyway).
DELIVERY_POLICY = CallPolicy(connect_timeout_s=5.0, read_timeout_s=20.0, attempts=2,
                             pause_s=1.0)
MAX_WORKERS = 4
Doc = dict[str, Any]


@dataclass
class BuyerResult:
    """One buyer's deliveries of a pass: the sale lane's batch, as the worker reports
    it to Dagster (``figures``, ``task_id``)."""

    buyer_id: str
    delivered: int = 0
    retrying: int = 0  # failed this time, due again after the back-off
    failed: int = 0  # out of attempts
    waiting: int = 0  # the buyer has no HubSpot connected
    requests: int = 0
    deal_ids: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: the sale recorded → its deal in the buyer's CRM, for the oldest sale delivered (s)
    latency_s: float = 0.0
    task_id: str | None = None  # its sync task, once recorded

    @property
    def partner_id(self) -> str:
        return self.buyer_id

    def figures(self) -> dict[str, int | float]:
        """Counts and latency, as Dagster metadata (worker and runs alike; the key of
        the deliveries is the cross-partner sync's, which delivers them too)."""
        return {"delivered_to_buyer_crm": self.delivered, "retrying": self.retrying,
                "failed": self.failed, "errors": len(self.errors), "requests": self.requests,
                "latency_s_oldest": round(self.latency_s, 3)}


@dataclass
class DeliveryReport:
    buyers: list[BuyerResult] = field(default_factory=list)

    @property
    def delivered(self) -> int:
        return sum(b.delivered for b in self.buyers)

    @property
    def errors(self) -> list[str]:
        return [e for b in self.buyers for e in b.errors]

    def summary(self) -> str:
        totals = {k: sum(getattr(b, k) for b in self.buyers)
                  for k in ("delivered", "retrying", "failed", "waiting")}
        return (f"{len(self.buyers)} buyers: delivered {totals['delivered']}, retrying "
                f"{totals['retrying']}, failed {totals['failed']}, waiting for a CRM "
                f"{totals['waiting']}")


# -- running ---------------------------------------------------------------------------

def deliver_due(db: Database, settings: Settings, *, now: datetime | None = None,
                run_id: str | None = None, policy: CallPolicy | None = None,
                retry: Retry | None = None, max_workers: int = MAX_WORKERS) -> DeliveryReport:
    """Every due delivery, each buyer in its own thread; each buyer's outcome is a
    sync task (trigger ``sale``, direction ``push``) with its counts and errors."""
    by_buyer: dict[str, list[Doc]] = defaultdict(list)
    for doc in deliveries.due(db, now):
        by_buyer[doc["buyer_partner_id"]].append(doc)
    report = DeliveryReport()
    if not by_buyer:
        return report

    def one(buyer_id: str) -> BuyerResult:
        try:
            result = deliver_buyer(db, settings, buyer_id, by_buyer[buyer_id],
                                   policy=policy, retry=retry)
        except Exception as exc:  # noqa: BLE001 - isolation: one buyer never stops the rest
            log.exception("delivery to buyer %s failed", buyer_id)
            result = BuyerResult(buyer_id, errors=[f"{type(exc).__name__}: {exc}"])
        _record_task(db, result, run_id)
        return result

    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(by_buyer))),
                            thread_name_prefix="crm-delivery") as pool:
        report.buyers = list(pool.map(one, sorted(by_buyer)))
    return report


def deliver_for_buyer(db: Database, settings: Settings, buyer_id: str, *,
                      policy: CallPolicy | None = None,
                      retry: Retry | None = None) -> BuyerResult:
    """The buyer's cross-partner sync: record missing deliveries, wake the waiting
    ones, deliver whatever is due."""
    now = utcnow()
    deliveries.backfill_buyer(db, buyer_id, now)
    deliveries.wake_waiting(db, buyer_id, now)
    due = deliveries.due(db, now, buyer_id=buyer_id)
    if not due:
        return BuyerResult(buyer_id)
    return deliver_buyer(db, settings, buyer_id, due, policy=policy, retry=retry)


def _record_task(db: Database, result: BuyerResult, run_id: str | None) -> None:
    if not (result.delivered or result.retrying or result.failed or result.errors):
        return  # only waiting: nothing was attempted
    task = sync_tasks.create_task(db, result.buyer_id, trigger="sale", direction="push",
                                  dagster_run_id=run_id, status="running")
    result.task_id = task["_id"]
    sync_tasks.add_counts(db, task["_id"], "sale_delivery", {
        "created": result.delivered, "errors": len(result.errors),
        "retrying": result.retrying, "failed": result.failed, "requests": result.requests,
    }, result.errors, kind="push")
    sync_tasks.finish(db, task["_id"], "failed" if result.errors else "succeeded")


def deliver_buyer(db: Database, settings: Settings, buyer_id: str, docs: list[Doc], *,
                  policy: CallPolicy | None = None, retry: Retry | None = None) -> BuyerResult:
    """Deliver these deliveries of one buyer; each failure is recorded on its
    delivery (back-off or failed) and in the result."""
    result = BuyerResult(buyer_id)
    partner = db[c.PARTNERS].find_one({"_id": buyer_id}, {"hubspot": 1})
    if not ((partner or {}).get("hubspot") or {}).get("portal_id"):
        for doc in docs:
            claimed = deliveries.claim(db, doc)
            if claimed is not None:
                deliveries.mark_waiting(db, claimed)
                result.waiting += 1
        return result
    api: HubSpotApi | None = None
    target: _Target | None = None
    setup_error: str | None = None
    try:
        api = HubSpotApi(settings, PartnerTokens(db, settings, buyer_id),
                         policy or DELIVERY_POLICY, retry=retry)
        target = _Target(ReverseStages(db, buyer_id))
    except (HubSpotCallError, DomainError) as exc:
        setup_error = f"the buyer's HubSpot: {exc}"
    for doc in docs:
        claimed = deliveries.claim(db, doc)
        if claimed is None:
            continue  # another worker has it, or it ran out of attempts
        if api is None or target is None or setup_error:
            # The portal is unreachable or refuses us: the rest of this buyer's sales
            # wait for their back-off instead of each timing out again.
            _failed(db, claimed, setup_error or "no HubSpot client", result)
            continue
        try:
            deal_id = _deliver_one(db, api, target, claimed)
        except (HubSpotCallError, DomainError) as exc:
            _failed(db, claimed, str(exc), result)
            if _portal_down(exc):
                setup_error = f"the buyer's HubSpot: {exc}"
            continue
        result.delivered += 1
        result.deal_ids.append(deal_id)
        result.latency_s = max(result.latency_s, (utcnow() - ensure_utc(
            claimed.get("created_at") or utcnow())).total_seconds())
    result.requests = api.requests if api is not None else 0
    return result


def _portal_down(exc: Exception) -> bool:
    """An error that the buyer's other sales would meet too: no answer, 5xx or 429
    after the transport's retries, or the buyer's tokens refused."""
    if isinstance(exc, HubSpotCallError):
        return exc.status is None or exc.status in TRANSIENT_STATUSES or exc.status in (401,
                                                                                       403)
    return True  # DomainError: the buyer's connection (tokens) is unusable


def _failed(db: Database, doc: Doc, error: str, result: BuyerResult) -> None:
    after = deliveries.mark_attempt_failed(db, doc, error)
    if after["status"] == deliveries.FAILED:
        result.failed += 1
    else:
        result.retrying += 1
    result.errors.append(f"purchase {doc['purchase_id']} (attempt {doc['attempts']}): {error}")
    log.warning("delivery of purchase %s to buyer %s: %s", doc["purchase_id"],
                doc["buyer_partner_id"], error)


# -- one sale --------------------------------------------------------------------------

@dataclass
class _Target:
    """Where deals go in the buyer's portal: its default pipeline, stage by stage."""

    stages: ReverseStages

    def __post_init__(self) -> None:
        self.pipeline = self.stages.default_pipeline()

    def stage_id(self, canonical: str) -> str | None:
        """The buyer's stage for the lead's canonical stage, else its pipeline's first."""
        if self.pipeline is None:
            return None
        found = (self.stages.stage_for(self.pipeline, canonical)
                 or self.stages.stage_for(self.pipeline, "new"))
        if found:
            return found
        ordered = sorted((d for d in self.stages.docs if d["pipeline_id"] == self.pipeline),
                         key=lambda d: (d.get("display_order") or 0, d["stage_id"]))
        return str(ordered[0]["stage_id"]) if ordered else None


class DeliveryError(DomainError):
    """A sale that cannot be delivered as it stands (its lead is gone)."""


def marker(purchase_id: str) -> str:
    """The deal's description: how a retry finds a deal it created but did not record."""
    return f"Bought through Partner Connector (purchase {purchase_id})"


def _deliver_one(db: Database, api: HubSpotApi, target: _Target, doc: Doc) -> str:
    lead = db[c.LEADS].find_one({"_id": doc["lead_id"]})
    if lead is None:
        raise DeliveryError(f"lead {doc['lead_id']} not found")
    now = utcnow()
    if lead.get("buyer_hubspot_deal_id") and not doc.get("deal_id"):
        # Delivered before deliveries were recorded (or by an older run): adopt it.
        doc = deliveries.save(db, doc, deal_id=str(lead["buyer_hubspot_deal_id"]))
    contact_id = doc.get("contact_id")
    if contact_id is None and (lead.get("contact_email") or lead.get("contact_name")):
        contact_id = _contact(api, lead)
        doc = deliveries.save(db, doc, contact_id=contact_id)
    deal_id = doc.get("deal_id")
    if deal_id is None and int(doc.get("attempts") or 0) > 1:
        deal_id = _find_deal(api, doc["purchase_id"])
    if deal_id is None:
        deal_id = _create_deal(api, target, lead, doc["purchase_id"], contact_id)
    if doc.get("deal_id") != deal_id:
        doc = deliveries.save(db, doc, deal_id=deal_id)
    _link(db, lead, doc["buyer_partner_id"], deal_id, now)
    if doc.get("note_id") is None:
        note = api.batch_create("notes", [_note(deal_id, contact_id, _note_body(db, lead, doc),
                                                now)])
        doc = deliveries.save(db, doc, note_id=str(note["results"][0]["id"]))
    deliveries.mark_delivered(db, doc, now)
    return deal_id


_EXISTING_ID = re.compile(r"Existing ID:\s*(\d+)")


def _contact(api: HubSpotApi, lead: Doc) -> str:
    """The buyer's contact for the lead's person: found by email, else created."""
    email = (lead.get("contact_email") or "").strip()
    if email:
        found = api.search("contacts", {
            "filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ",
                                           "value": email}]}],
            "properties": ["email"], "limit": 1})
        if found.get("results"):
            return str(found["results"][0]["id"])
    first, _, last = (lead.get("contact_name") or "").strip().partition(" ")
    props = {"email": email, "firstname": first, "lastname": last.strip(),
             "phone": lead.get("contact_phone") or "", "company": lead.get("company") or ""}
    try:
        created = api.batch_create("contacts", [{"properties": {k: v for k, v in props.items()
                                                                if v}}])
    except HubSpotCallError as exc:
        existing = _EXISTING_ID.search(str(exc)) if exc.status == 409 else None
        if existing:  # created meanwhile (HubSpot's search lags its writes)
            return existing.group(1)
        raise
    return str(created["results"][0]["id"])


def _find_deal(api: HubSpotApi, purchase_id: str) -> str | None:
    found = api.search("deals", {
        "filterGroups": [{"filters": [{"propertyName": "description", "operator": "EQ",
                                       "value": marker(purchase_id)}]}],
        "properties": ["description"], "limit": 1})
    results = found.get("results") or []
    return str(results[0]["id"]) if results else None


def _create_deal(api: HubSpotApi, target: _Target, lead: Doc, purchase_id: str,
                 contact_id: str | None) -> str:
    properties = {"dealname": lead.get("title") or "Partner Connector lead",
                  "amount": amount_text(lead.get("amount_cents")),
                  "description": marker(purchase_id)}
    stage_id = target.stage_id(lead.get("stage") or "new")
    if target.pipeline and stage_id:
        properties.update(pipeline=target.pipeline, dealstage=stage_id)
    item: Doc = {"properties": properties}
    if contact_id:
        item["associations"] = [_assoc(contact_id, DEAL_TO_CONTACT)]
    created = api.batch_create("deals", [item])
    return str(created["results"][0]["id"])


def _link(db: Database, lead: Doc, buyer_id: str, deal_id: str, now: datetime) -> None:
    """The lead ↔ buyer deal link the buyer's lead builder and the relay read."""
    with contextlib.suppress(DuplicateKeyError):
        db[deal_links.DEAL_LINKS].insert_one(deal_links.new_link(lead, buyer_id, deal_id, now))
    update_with_retry(db[c.LEADS], lead["_id"],
                      lambda cur: None if cur.get("buyer_hubspot_deal_id") == deal_id else
                      {"buyer_hubspot_deal_id": deal_id, "buyer_delivered_at": now},
                      what="lead")


def _assoc(to_id: str, type_id: int) -> Doc:
    return {"to": {"id": str(to_id)},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]}


def _note(deal_id: str, contact_id: str | None, body: str, at: datetime) -> Doc:
    associations = [_assoc(deal_id, NOTE_TO_DEAL)]
    if contact_id:
        associations.append(_assoc(contact_id, NOTE_TO_CONTACT))
    return {"properties": {"hs_note_body": body,
                           "hs_timestamp": at.isoformat().replace("+00:00", "Z")},
            "associations": associations}


def _note_body(db: Database, lead: Doc, doc: Doc) -> str:
    """What the buyer paid for, in the buyer's CRM: the lead and its contact."""
    parts = [f"Bought through Partner Connector: {lead.get('title') or ''}".strip()]
    purchase = db[c.PURCHASES].find_one({"_id": doc["purchase_id"]}, {"price_cents": 1})
    if purchase and purchase.get("price_cents") is not None:
        parts.append(f"Price: {format_cents(int(purchase['price_cents']))}")
    for label, key in (("Contact", "contact_name"), ("Email", "contact_email"),
                       ("Phone", "contact_phone"), ("Company", "company"),
                       ("Industry", "industry"), ("Location", "location")):
        if lead.get(key):
            parts.append(f"{label}: {lead[key]}")
    return "\n".join(parts)
