"""Cross-partner sync: a sold lead's progress in the buyer's CRM, shown to its seller.

Delivery: when a lead is sold to a partner with HubSpot connected, its contact, a deal
(name, amount, a stage of the buyer's default pipeline matching the lead's canonical
stage) and a note with what the buyer paid for are created in the buyer's portal and
the deal is linked to the lead (pc_core/hubspot/lead_build/deal_links.py). That is
``pc_core.hubspot.sync_back.sale_delivery``'s job, within seconds of the sale through
``crm_delivery_sensor``; this sync's delivery step catches up with whatever is
left. The buyer works the lead there; its lead builder recognises the deal by the
link and does not make it a lead of the buyer's own.

Relay: when the buyer's deal moves (seen by the pull or the webhook path, which flag
the link), its stage is mapped through the *buyer's* stage mapping to a canonical
stage, and only that crosses over: the seller's deal gets it in the custom deal
property ``pc_buyer_stage`` (created in the seller's portal if missing) plus a note,
and the lead's ``buyer_stage`` (shown to the seller by ``LeadOut``) is set. No
other data of the buyer's CRM (its stage names, amounts, notes, owners) is copied.

Runs per buyer (the hot-path worker's relay lane, or a Dagster run as its backstop,
each under the buyer's lease: pc_core/worker/sync_back_lane.py); every step is
idempotent: a relay that failed in HubSpot keeps its link pending and is redone by the
next pass. The deal update sets a value (a repeat changes nothing); the note, which
HubSpot cannot deduplicate, carries a reference recorded on the link *before* it is
written (``relay_intent``), so a pass that follows a crash or a failure finds a note
already written under that reference (a search) instead of writing it again. Links
are recorded as relayed per chunk of 100, as soon as their chunk is written.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from pymongo.database import Database
from urllib3.util.retry import Retry

from pc_core import collections as c
from pc_core.hubspot.connection.oauth import PartnerTokens, connected_partner_ids
from pc_core.hubspot.connection.transport import CallPolicy, HubSpotApi, HubSpotCallError
from pc_core.hubspot.lead_build import deal_links
from pc_core.hubspot.sync_back.pushback import NOTE_TO_DEAL
from pc_core.hubspot.sync_back.reverse_mapping import ReverseStages
from pc_core.hubspot.sync_back.sale_delivery import deliver_for_buyer
from pc_core.ids import new_id
from pc_core.settings import Settings
from pc_core.stages import Stage
from pc_core.store import replace_if_unchanged, update_with_retry
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
    deliver_purchases(db, settings, buyer_id, stats, opts)
    relay_stages(db, settings, buyer_id, connected, stats, opts)
    return stats


def _api(db: Database, settings: Settings, partner_id: str, opts: _Options,
         stats: CrossStats) -> HubSpotApi:
    return HubSpotApi(settings, PartnerTokens(db, settings, partner_id), opts.policy,
                      on_incident=stats.errors.append, retry=opts.retry)


# -- delivery: the sale → a deal in the buyer's portal ------------------------------------

def deliver_purchases(db: Database, settings: Settings, buyer_id: str, stats: CrossStats,
                      opts: _Options) -> None:
    """The buyer's sales not in its CRM yet (recorded as pending deliveries at
    fulfilment, or found now): a contact, a deal and a note each, through the one
    delivery implementation (``pc_core.hubspot.sync_back.sale_delivery``) that the
    ``crm_delivery_sensor``'s runs use too; failures back off there."""
    result = deliver_for_buyer(db, settings, buyer_id, policy=opts.policy, retry=opts.retry)
    stats.delivered += result.delivered
    stats.errors.extend(result.errors)


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
                replace_if_unchanged(db[deal_links.DEAL_LINKS], link,
                                     {"pending": False, "relay_intent": None})
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
    hubspot_ids = {link["_id"] for link, _ in on_hubspot}
    for link, canonical in items:
        if link["_id"] not in hubspot_ids:
            _mark_relayed(db, link, canonical, now)
            stats.relayed += 1
    if not on_hubspot:
        return
    try:
        api = _api(db, settings, seller_id, opts, stats)
        ensure_buyer_stage_property(api)
        for start in range(0, len(on_hubspot), 100):
            _relay_chunk(db, api, leads, on_hubspot[start : start + 100], now, stats)
    except HubSpotCallError as exc:
        # What was written is recorded chunk by chunk; the rest stays pending with its
        # intent, and the next pass finds any note this one wrote before failing.
        stats.errors.append(f"seller {seller_id}'s HubSpot: {exc}")


def _relay_chunk(db: Database, api: HubSpotApi, leads: dict[str, Any],
                 chunk: list[tuple[dict[str, Any], str]], now: Any,
                 stats: CrossStats) -> None:
    """≤ 100 links: their intents recorded, the sellers' deals updated (idempotent),
    a note each unless an earlier attempt wrote it, then the links marked relayed."""
    intents = [_intend(db, link, canonical) for link, canonical in chunk]
    deal_of = {link["_id"]: str(leads[link["lead_id"]]["hubspot_deal_id"])
               for link, _ in chunk}
    api.batch_update("deals", [{"id": deal_of[link["_id"]],
                                "properties": {BUYER_STAGE_PROPERTY: canonical}}
                               for link, canonical in chunk])
    notes = []
    for (link, canonical), (_, intent_id, resumed, _) in zip(chunk, intents, strict=True):
        body = relay_note_body(canonical, intent_id)
        if resumed and _note_exists(api, body):
            continue  # written by an attempt that died before recording it
        notes.append(_note(deal_of[link["_id"]], body, now))
    if notes:
        api.batch_create("notes", notes)
    for (_, canonical), (after, _, _, clear_at) in zip(chunk, intents, strict=True):
        _mark_relayed(db, after, canonical, now, clear_at)
    stats.seller_deals_updated += len(chunk)
    stats.relayed += len(chunk)


def relay_note_body(canonical: str, intent_id: str) -> str:
    """The seller's note; the reference makes it findable if its writer died before
    recording it (HubSpot has no idempotency key for creating a note)."""
    return (f"The buyer moved this lead to: {canonical.replace('_', ' ')} "
            f"(Partner Connector, ref {intent_id})")


def _intend(db: Database, link: dict[str, Any], canonical: str) -> tuple[dict[str, Any], str,
                                                                          bool, int]:
    """Record on the link, before writing to HubSpot, which stage is being relayed
    under which reference. Returns the link after, the reference, whether an earlier
    attempt recorded the same intent (so may have written its note), and the revision
    at which the link may be cleared (-1 if the buyer's deal moved since ``link`` was
    read: it stays pending for the next pass to look again)."""
    read_rev = int(link.get("rev") or 0)
    current = db[deal_links.DEAL_LINKS].find_one({"_id": link["_id"]}) or link
    intent = current.get("relay_intent") or {}
    if intent.get("stage") == canonical and intent.get("id"):
        unchanged = int(current.get("rev") or 0) == read_rev
        return current, str(intent["id"]), True, read_rev if unchanged else -1
    fresh = {"stage": canonical, "id": new_id()}
    after = update_with_retry(db[deal_links.DEAL_LINKS], link["_id"],
                              lambda _cur: {"relay_intent": fresh}, what="deal link")
    written = int(after.get("rev") or 0)
    return after, fresh["id"], False, written if written == read_rev + 1 else -1


def _note_exists(api: HubSpotApi, body: str) -> bool:
    found = api.search("notes", {
        "filterGroups": [{"filters": [{"propertyName": "hs_note_body", "operator": "EQ",
                                       "value": body}]}],
        "properties": ["hs_note_body"], "limit": 1})
    return bool(found.get("results"))


def _mark_relayed(db: Database, link: dict[str, Any], canonical: str, now: Any,
                  clear_at: int | None = None) -> None:
    """The link relayed at ``canonical``; it stays pending if the buyer's deal moved
    again since it was read (its revision is no longer ``clear_at``, by default the
    one read: the next pass looks again)."""
    seen = int(link.get("rev") or 0) if clear_at is None else clear_at

    def change(cur: dict[str, Any]) -> dict[str, Any]:
        return {"relayed_stage": canonical, "relayed_at": now, "relay_intent": None,
                "pending": bool(cur.get("pending")) and int(cur.get("rev") or 0) != seen}

    update_with_retry(db[deal_links.DEAL_LINKS], link["_id"], change, what="deal link")


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
