"""The names a person recognises beside the ids of a marketplace answer: a lead's
title and company, a partner's name. One ``$in`` lookup per page, never per row.

A lead's title and company identify its contact, so, as on the marketplace's
listings, a buyer sees them only once the lead is its own (bought); before that a
reservation or an unpaid purchase shows the listing's summary (industry, size,
location)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core.marketplace.money_words import money_outcome
from pc_core.models.leads import ValueLabels, value_label
from pc_core.sync import value_labels


def partner_names(db: Database, ids: Iterable[str | None]) -> dict[str, str]:
    """Partner id → name, for the given ids (unknown ids are left out)."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    return {d["_id"]: d.get("name") or d["_id"]
            for d in db[c.PARTNERS].find({"_id": {"$in": wanted}}, {"name": 1})}


LEAD_NAME_FIELDS = {"title": 1, "company": 1, "partner_id": 1, "buyer_partner_id": 1,
                    "industry": 1, "company_size": 1, "location": 1}


def lead_summary(lead: dict[str, Any], labels: ValueLabels | None = None) -> str:
    """What a listing says about a lead without naming it (its industry as the
    seller's CRM labels it, where ``labels`` has it)."""
    size = f"{lead['company_size']} staff" if lead.get("company_size") else None
    industry = value_label(labels, lead.get("partner_id") or "", "industry",
                           lead.get("industry")) or lead.get("industry")
    parts = [p for p in (industry, size, lead.get("location")) if p]
    return " · ".join(parts) or "Lead"


def named(db: Database, docs: list[dict[str, Any]], viewer: str | None
          ) -> list[dict[str, Any]]:
    """Reservations or purchases with ``lead_summary``, ``seller_name``, ``buyer_name``
    and, where ``viewer`` (a partner id; ``None``: the owner) may see them,
    ``lead_title`` and ``lead_company`` added, and a purchase's ``money_outcome``
    (copies; the stored documents are not changed)."""
    ids = sorted({d["lead_id"] for d in docs if d.get("lead_id")})
    leads = {d["_id"]: d for d in db[c.LEADS].find({"_id": {"$in": ids}}, LEAD_NAME_FIELDS)}
    partners = partner_names(db, [p for d in docs for p in (d.get("seller_partner_id"),
                                                             d.get("buyer_partner_id"))])
    labels = value_labels.labels_of(db, (lead.get("partner_id") for lead in leads.values()))
    out = []
    for doc in docs:
        lead = leads.get(doc.get("lead_id"), {})
        named_ok = viewer is None or viewer in (lead.get("partner_id"),
                                                lead.get("buyer_partner_id"))
        out.append({**doc, "lead_summary": lead_summary(lead, labels),
                    "lead_title": lead.get("title") if named_ok else None,
                    "lead_company": lead.get("company") if named_ok else None,
                    "seller_name": partners.get(doc.get("seller_partner_id")),
                    "buyer_name": partners.get(doc.get("buyer_partner_id"))})
        if "amount_cents" in doc:  # a purchase
            out[-1]["money_outcome"] = money_outcome(doc)
    return out
