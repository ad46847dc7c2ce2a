"""Shared helpers of the marketplace tests (not a test module)."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core.leads.inventory import build_lead_doc
from pc_core.models.leads import LeadFields
from pc_core.stages import LeadStatus
from pc_core.timeutil import utcnow


def listed_lead(db: Database, partner_id: str, **fields: Any) -> str:
    """A listed lead of ``partner_id`` written straight to the store."""
    values = {"title": "Acme deal", "company": "Acme", "contact_name": "Ada Lovelace",
              "contact_email": "ada@acme.example.com", "contact_phone": "+1 555 0100",
              "industry": "SaaS", "location": "US", "company_size": "51-200",
              "budget_cents": 2_000_000, **fields}
    doc = build_lead_doc(partner_id, LeadFields(**values), source="test", now=utcnow(),
                         status=LeadStatus.LISTED)
    db[c.LEADS].insert_one(doc)
    return doc["_id"]


def reserve(client, account, lead_id: str, days: int | None = None):
    body: dict[str, Any] = {"lead_id": lead_id}
    if days is not None:
        body["days"] = days
    return client.post("/v1/marketplace/reservations", json=body, headers=account.headers)


def published(pubsub, *needles: str) -> bool:
    """Whether a message containing every needle reaches ``pubsub`` within ~10 s."""
    for _ in range(20):
        message = pubsub.get_message(timeout=0.5)
        if message and message["type"] == "message":
            data = message["data"]
            text = data.decode("latin-1") if isinstance(data, bytes) else str(data)
            if all(n in text for n in needles):
                return True
    return False
