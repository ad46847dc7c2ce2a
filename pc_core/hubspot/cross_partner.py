"""Cross-partner sync: a sold lead's progress in the buyer's CRM, shown to its seller.

Delivery: when a lead is sold to a partner with HubSpot connected, a deal for it is
created in the buyer's portal (name, amount, a stage of the buyer's default pipeline
matching the lead's canonical stage, and a note with the contact's details the buyer
paid for) and linked to the lead (pc_core/hubspot/deal_links.py). The buyer works the
lead there; its lead builder recognises the deal by the link and does not make it a
lead of the buyer's own.

Relay: when the buyer's deal moves (seen by the pull or the webhook path, which flag
the link), its stage is mapped through the *buyer's* stage mapping to a canonical
stage, and only that crosses over: the seller's deal gets it in the custom deal
property ``pc_buyer_stage`` (created in the seller's portal if missing) plus a note,
and the lead's ``buyer_stage`` (shown to the seller by ``public_lead``) is set. No
other data of the buyer's CRM (its stage names, amounts, notes, owners) is copied.

Runs per buyer (the Dagster partition); every step is idempotent: a relay that
failed in HubSpot keeps its link pending and is redone by the next run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from pymongo.database import Database
from urllib3.util.retry import Retry

from pc_core import collections as c
from pc_core.docstore import replace_if_unchanged, update_with_retry
from pc_core.hubspot import deal_links
from pc_core.hubspot.connection import PartnerTokens, connected_partner_ids
from pc_core.hubspot.pushback import NOTE_TO_DEAL, amount_text
from pc_core.hubspot.reverse_mapping import ReverseStages
from pc_core.hubspot.transport import CallPolicy, HubSpotApi, HubSpotCallError
from pc_core.settings import Settings
from pc_core.stages import LeadStatus, Stage
from pc_core.timeutil import utcnow

log = logging.getLogger(__name__)

BUYER_STAGE_PROPERTY = "pc_buyer_stage"
BUYER_STAGE_DEFINITION: dict[str, Any] = {
    "name": BUYER_STAGE_PROPERTY,
    "label": "Buyer's stage (Partner Connector)",
    "description": "Where the partner who bought this lead through Partner Connector "
                   "has it in their own pipeline (canonical stage).",
    "type": "enumeration",
    "fieldType": "select",
    "groupName": "dealinformation",
    "options": [{"label": s.value.replace("_", " ").capitalize(), "value": s.value,
                 "displayOrder": i} for i, s in enumerate(Stage)],
}


@dataclass
class CrossStats:
    delivered: int = 0  # deals created in the buyer's portal
    relayed: int = 0  # buyer stages shown to sellers
    seller_deals_updated: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class _Options:
    policy: CallPolicy | None = None
    retry: Retry | None = None


def sync_buyer(db: Database, settings: Settings, buyer_id: str, *,
               policy: CallPolicy | None = None, retry: Retry | None = None) -> CrossStats:
    """Deliver the buyer's new purchases to its HubSpot, then relay its deals' stages."""
    stats = CrossStats()
    opts = _Options(policy, retry)
    connected = set(connected_partner_ids(db))
    if buyer_id not in connected:
        return stats  # no buyer CRM: nothing to deliver to, nothing to relay from
    try:
        deliver_purchases(db, settings, buyer_id, stats, opts)
    except HubSpotCallError as exc:
        stats.errors.append(f"delivery to the buyer's HubSpot: {exc}")
    relay_stages(db, settings, buyer_id, connected, stats, opts)
    return stats


def _api(db: Database, settings: Settings, partner_id: str, opts: _Options,
         stats: CrossStats) -> HubSpotApi:
    return HubSpotApi(settings, PartnerTokens(db, settings, partner_id), opts.policy,
                      on_incident=stats.errors.append, retry=opts.retry)


# -- delivery: the sale → a deal in the buyer's portal ------------------------------------

def deliver_purchases(db: Database, settings: Settings, buyer_id: str, stats: CrossStats,
                      opts: _Options) -> None:
    """A deal (and a note with the contact) in the buyer's portal for each sold lead
    not delivered yet. Sales are rare, so one create per deal, which keeps the answer
    unambiguous (batch-create results are not in input order)."""
    undelivered = [lead for lead in db[c.LEADS].find({"buyer_partner_id": buyer_id})
                   if lead.get("status") == LeadStatus.SOLD.value
                   and not lead.get("buyer_hubspot_deal_id")]
    if not undelivered:
        return
    api = _api(db, settings, buyer_id, opts, stats)
    stages = ReverseStages(db, buyer_id)
    pipeline = stages.default_pipeline()
    for lead in undelivered:
        properties = {"dealname": lead.get("title") or "Partner Connector lead",
                      "amount": amount_text(lead.get("amount_cents"))}
        stage_id = _buyer_stage_id(stages, pipeline, lead.get("stage") or "new")
        if pipeline and stage_id:
            properties.update(pipeline=pipeline, dealstage=stage_id)
        created = api.batch_create("deals", [{"properties": properties}])
        deal_id = str(created["results"][0]["id"])
        now = utcnow()
        link = deal_links.new_link(lead, buyer_id, deal_id, now)
        db[deal_links.DEAL_LINKS].insert_one(link)
        update_with_retry(db[c.LEADS], lead["_id"],
                          lambda _cur, d=deal_id, t=now: {"buyer_hubspot_deal_id": d,
                                                          "buyer_delivered_at": t},
                          what="lead")
        api.batch_create("notes", [_note(deal_id, _contact_note(lead), now)])
        stats.delivered += 1


def _buyer_stage_id(stages: ReverseStages, pipeline: str | None, canonical: str) -> str | None:
    """The buyer's stage for the lead's canonical stage, else its pipeline's first."""
    if pipeline is None:
        return None
    found = stages.stage_for(pipeline, canonical) or stages.stage_for(pipeline, "new")
    if found:
        return found
    ordered = sorted((d for d in stages.docs if d["pipeline_id"] == pipeline),
                     key=lambda d: (d.get("display_order") or 0, d["stage_id"]))
    return str(ordered[0]["stage_id"]) if ordered else None


def _contact_note(lead: dict[str, Any]) -> str:
    parts = [f"Bought through Partner Connector: {lead.get('title') or ''}".strip()]
    for label, key in (("Contact", "contact_name"), ("Email", "contact_email"),
                       ("Phone", "contact_phone"), ("Company", "company"),
                       ("Industry", "industry"), ("Location", "location")):
        if lead.get(key):
            parts.append(f"{label}: {lead[key]}")
    return "\n".join(parts)


def _note(deal_id: str, body: str, at: Any) -> dict[str, Any]:
    return {"properties": {"hs_note_body": body,
                           "hs_timestamp": at.isoformat().replace("+00:00", "Z")},
            "associations": [{"to": {"id": deal_id},
                              "types": [{"associationCategory": "HUBSPOT_DEFINED",
                                         "associationTypeId": NOTE_TO_DEAL}]}]}


# -- relay: the buyer's deal stage → the seller ----------------------------------------

def relay_stages(db: Database, settings: Settings, buyer_id: str, connected: set[str],
                 stats: CrossStats, opts: _Options) -> None:
    """Every link of the buyer whose deal's canonical stage differs from the one last
    relayed: the seller's lead and (if connected) deal get it."""
    links = list(db[deal_links.DEAL_LINKS].find({"buyer_partner_id": buyer_id}))
    if not links:
        return
    raw = {d["_id"]: d for d in db[c.HUBSPOT_DEALS].find(
        {"_id": {"$in": [link["_id"] for link in links]}})}
    stages = ReverseStages(db, buyer_id)
    moves: dict[str, list[tuple[dict[str, Any], str]]] = {}
    for link in links:
        deal = raw.get(link["_id"])
        props = (deal or {}).get("properties") or {}
        canonical = stages.canonical(props.get("pipeline"), props.get("dealstage"))
        if canonical is None or canonical == link.get("relayed_stage"):
            if link.get("pending"):
                replace_if_unchanged(db[deal_links.DEAL_LINKS], link, {"pending": False})
            continue
        moves.setdefault(link["seller_partner_id"], []).append((link, canonical))
    for seller_id, items in moves.items():
        _relay_to_seller(db, settings, seller_id, items, seller_id in connected, stats, opts)


def _relay_to_seller(db: Database, settings: Settings, seller_id: str,
                     items: list[tuple[dict[str, Any], str]], connected: bool,
                     stats: CrossStats, opts: _Options) -> None:
    now = utcnow()
    leads = {d["_id"]: d for d in db[c.LEADS].find(
        {"_id": {"$in": [link["lead_id"] for link, _ in items]}})}
    for link, canonical in items:  # the seller's view first: it needs no HubSpot
        if link["lead_id"] in leads:
            update_with_retry(db[c.LEADS], link["lead_id"],
                              lambda _cur, s=canonical: {"buyer_stage": s,
                                                         "buyer_stage_at": now},
                              what="lead")
    on_hubspot = [(link, canonical) for link, canonical in items
                  if connected and (leads.get(link["lead_id"]) or {}).get("hubspot_deal_id")]
    if on_hubspot:
        try:
            api = _api(db, settings, seller_id, opts, stats)
            ensure_buyer_stage_property(api)
            updates = [{"id": str(leads[link["lead_id"]]["hubspot_deal_id"]),
                        "properties": {BUYER_STAGE_PROPERTY: canonical}}
                       for link, canonical in on_hubspot]
            notes = [_note(str(leads[link["lead_id"]]["hubspot_deal_id"]),
                           f"The buyer moved this lead to: {canonical.replace('_', ' ')} "
                           "(Partner Connector)", now) for link, canonical in on_hubspot]
            for start in range(0, len(updates), 100):
                api.batch_update("deals", updates[start : start + 100])
                api.batch_create("notes", notes[start : start + 100])
            stats.seller_deals_updated += len(updates)
        except HubSpotCallError as exc:
            stats.errors.append(f"seller {seller_id}'s HubSpot: {exc}")
            return  # links stay pending with their old relayed stage: redone next run
    for link, canonical in items:
        replace_if_unchanged(db[deal_links.DEAL_LINKS], link,
                             {"relayed_stage": canonical, "relayed_at": now, "pending": False})
    stats.relayed += len(items)


def ensure_buyer_stage_property(api: HubSpotApi) -> None:
    """Create ``pc_buyer_stage`` on the portal's deals unless it exists (a 409 from a
    concurrent creator means it exists too)."""
    if api.get_property("deals", BUYER_STAGE_PROPERTY) is not None:
        return
    try:
        api.create_property("deals", BUYER_STAGE_DEFINITION)
    except HubSpotCallError as exc:
        if exc.status != 409:
            raise
