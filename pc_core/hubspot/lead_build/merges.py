"""HubSpot merges: one lead per canonical deal, nothing left at a merged-away id.

Merging deals A and B in HubSpot creates a canonical deal C (a new id) that lists A
and B in ``hs_merged_object_ids``; A and B vanish from lists and search, and a read of
A answers with C. Merging contacts keeps one contact and lists the other in the same
property. We learn of a merge from the ``*.merge`` webhook (whose ids the webhook run
reads: they answer with the canonical record) or from a pull that meets the
canonical record; either way the canonical raw document arrives dirty, and the lead
build folds its aliases in before building it (``fold_merged_deals``), so the pull,
the webhook run and the standing worker share this one implementation.

Folding a deal: of the leads at the canonical id and at its aliases, the one furthest
in the marketplace (sold, then reserved, listed, open, archived; ties: the oldest)
survives, re-keyed to the canonical id (``{partner}:hs:{C}``) with the merged ids kept
as ``hubspot_merged_ids``. Every reference to any of those leads (reservations,
purchases, meetings, stage history, cross-partner links, CRM deliveries, outbox
events) is moved to it, the other leads and the aliases' raw documents are deleted.
In a buyer's portal, merging the copy of a bought lead moves that copy's link to the
canonical deal (and the seller's lead's ``buyer_hubspot_deal_id`` with it).
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from pc_core import collections as c
from pc_core.stages import LeadStatus

log = logging.getLogger(__name__)

MERGED_IDS = "hs_merged_object_ids"
#: Collections whose documents name a lead in ``lead_id``.
LEAD_REFERENCES: tuple[str, ...] = (
    c.RESERVATIONS, c.PURCHASES, c.MEETINGS, c.STAGE_EVENTS, c.DEAL_LINKS,
    c.CRM_DELIVERIES, c.ASSET_OUTBOX,
)
#: Which lead survives a merge: the one furthest along in the marketplace.
_RANK = {LeadStatus.SOLD.value: 0, LeadStatus.RESERVED.value: 1, LeadStatus.LISTED.value: 2,
         LeadStatus.OPEN.value: 3, LeadStatus.ARCHIVED.value: 4}


def aliases(hubspot_id: str, properties: dict[str, Any] | None) -> list[str]:
    """The ids merged into this record (``hs_merged_object_ids``), without its own."""
    raw = str((properties or {}).get(MERGED_IDS) or "")
    return [i for i in dict.fromkeys(x.strip() for x in raw.split(";"))
            if i and i != str(hubspot_id)]


def _lead_id(partner_id: str, deal_id: str) -> str:
    return f"{partner_id}:hs:{deal_id}"


@dataclass
class Folded:
    """What folding a batch did: raw deal ``_id``s deleted (to drop from the batch),
    lead ids that no longer exist (clients are told they left the marketplace) and the
    surviving leads (a listed one is announced under its new id)."""

    raw_ids: set[str] = field(default_factory=set)
    removed_leads: list[str] = field(default_factory=list)
    survivors: list[dict[str, Any]] = field(default_factory=list)


def fold_merged_deals(db: Database, partner_id: str, deals: list[dict[str, Any]]) -> Folded:
    """Fold the leads and raw documents of the aliases of these raw deals into the
    canonical ones."""
    folded = Folded()
    for deal in deals:
        merged = aliases(deal["hubspot_id"], deal.get("properties"))
        if merged and deal["_id"] not in folded.raw_ids:
            _fold(db, partner_id, str(deal["hubspot_id"]), merged, folded)
    return folded


def _fold(db: Database, partner_id: str, canonical: str, merged: list[str],
          folded: Folded) -> None:
    target = _lead_id(partner_id, canonical)
    lead_ids = [target] + [_lead_id(partner_id, a) for a in merged]
    leads = list(db[c.LEADS].find({"_id": {"$in": lead_ids}}))
    if leads and not (len(leads) == 1 and leads[0]["_id"] == target and set(
            leads[0].get("hubspot_merged_ids") or []) >= set(merged)):
        survivor = min(leads, key=lambda d: (_RANK.get(d.get("status"), 5),
                                             str(d.get("created_at") or ""), d["_id"] != target))
        doc = _rekey(db, partner_id, survivor, [d for d in leads if d is not survivor],
                     target, canonical, merged)
        if doc is not None:
            folded.survivors.append(doc)
            folded.removed_leads.extend(d["_id"] for d in leads if d["_id"] != target)
    _follow_buyer_copies(db, partner_id, canonical, merged)
    raw = [f"{partner_id}:{a}" for a in merged]
    db[c.HUBSPOT_DEALS].delete_many({"_id": {"$in": raw}})
    folded.raw_ids.update(raw)


def _rekey(db: Database, partner_id: str, survivor: dict[str, Any],
           losers: list[dict[str, Any]], target: str, canonical: str,
           merged: list[str]) -> dict[str, Any] | None:
    """The survivor under ``target``; every reference to any of the leads moved to it.
    Returns the survivor as stored (``None``: a concurrent fold did it)."""
    old_ids = [survivor["_id"]] + [d["_id"] for d in losers]
    doc = {**survivor, "_id": target, "hubspot_deal_id": canonical,
           "hubspot_merged_ids": sorted(set(survivor.get("hubspot_merged_ids") or [])
                                        | set(merged)),
           "merged_lead_ids": sorted(set(survivor.get("merged_lead_ids") or [])
                                     | {i for i in old_ids if i != target}),
           "rev": int(survivor.get("rev") or 0) + 1}
    for loser in losers:  # a sale or reservation kept on the other lead is not lost
        if _RANK.get(loser.get("status"), 5) <= _RANK[LeadStatus.RESERVED.value]:
            log.warning("merge of %s: lead %s (%s) folded into %s (%s)", canonical,
                        loser["_id"], loser.get("status"), target, survivor.get("status"))
    if survivor["_id"] != target:
        db[c.LEADS].delete_one({"_id": target})  # a loser at the canonical id
        try:
            db[c.LEADS].insert_one(doc)
        except DuplicateKeyError:  # a concurrent fold got there first
            return None
        db[c.LEADS].delete_one({"_id": survivor["_id"]})
    else:
        db[c.LEADS].replace_one({"_id": target}, doc)
    moved = [i for i in old_ids if i != target]
    if moved:
        for name in LEAD_REFERENCES:
            db[name].update_many({"lead_id": {"$in": moved}}, {"$set": {"lead_id": target}})
    db[c.LEADS].delete_many({"_id": {"$in": moved}})
    return doc


def _follow_buyer_copies(db: Database, partner_id: str, canonical: str,
                         merged: list[str]) -> None:
    """This partner as a buyer: links of merged-away copies move to the canonical deal."""
    old = [f"{partner_id}:{a}" for a in merged]
    for link in list(db[c.DEAL_LINKS].find({"_id": {"$in": old}})):
        moved = {**link, "_id": f"{partner_id}:{canonical}", "deal_id": canonical,
                 "pending": True, "rev": int(link.get("rev") or 0) + 1}
        with contextlib.suppress(DuplicateKeyError):  # two linked copies merged
            db[c.DEAL_LINKS].insert_one(moved)
        db[c.DEAL_LINKS].delete_one({"_id": link["_id"]})
        db[c.LEADS].update_many({"_id": link["lead_id"]},
                                {"$set": {"buyer_hubspot_deal_id": canonical}})


def fold_merged_contacts(db: Database, partner_id: str,
                         contacts: list[dict[str, Any]]) -> None:
    """Contacts merged into these raw contacts: deals whose lead showed a merged-away
    contact now show the surviving one (HubSpot moved the associations), and the
    merged-away raw documents are deleted."""
    for contact in contacts:
        merged = aliases(contact["hubspot_id"], contact.get("properties"))
        if not merged:
            continue
        survivor = str(contact["hubspot_id"])
        for lead in db[c.LEADS].find({"partner_id": partner_id,
                                      "hubspot_contact_id": {"$in": merged}},
                                     {"hubspot_deal_id": 1}):
            raw = db[c.HUBSPOT_DEALS].find_one({"_id": f"{partner_id}:{lead['hubspot_deal_id']}"})
            if raw is None:
                continue
            ids = [survivor if i in merged else i
                   for i in (raw.get("associations") or {}).get("contacts") or []]
            db[c.HUBSPOT_DEALS].replace_one({"_id": raw["_id"]}, {
                **raw, "associations": {**(raw.get("associations") or {}),
                                        "contacts": list(dict.fromkeys(ids))},
                "dirty": True})
        db[c.HUBSPOT_CONTACTS].delete_many(
            {"_id": {"$in": [f"{partner_id}:{a}" for a in merged]}})
