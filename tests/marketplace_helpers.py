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


def forward_stripe(client, received) -> list:
    """POST the sandbox's recorded webhook deliveries to the API under test, as sent."""
    answers = []
    for r in received:
        header = next(v for k, v in r.headers.items() if k.lower() == "stripe-signature")
        answers.append(client.post("/v1/webhooks/stripe", content=r.body,
                                   headers={"Stripe-Signature": header,
                                            "Content-Type": "application/json"}))
    return answers


def stripe_events(receiver, object_id: str, types: set[str], count: int = 1,
                  timeout: float = 15) -> list:
    """The receiver's deliveries of ``types`` about Stripe object ``object_id``."""
    import json
    import time

    deadline = time.monotonic() + timeout
    while True:
        got = [r for r in list(receiver.requests)
               if (e := json.loads(r.body))["type"] in types
               and e["data"]["object"].get("id") == object_id]
        if len(got) >= count or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def onboard(client, admin, receiver) -> str:
    """Take ``admin``'s partner through Stripe Connect onboarding on the sandbox's
    hosted page and deliver the ``account.updated``; returns the account id."""
    import httpx

    r = client.post("/v1/payouts/onboarding", headers=admin.headers)
    assert r.status_code == 200, r.text
    url = r.json()["url"]
    page = httpx.get(url)
    assert page.status_code == 200 and "Get paid" in page.text
    done = httpx.post(url, data={"business_name": "Seller Co", "routing_number": "110000000",
                                 "account_number": "000123456789"})
    assert done.status_code == 303 and "/settings/payouts?onboarding=done" in \
        done.headers["location"]
    account_id = url.split("/connect/setup/")[1].split("/")[0]
    [event] = stripe_events(receiver, account_id, {"account.updated"})
    [answer] = forward_stripe(client, [event])
    assert answer.status_code == 200 and answer.json()["result"] == "payouts-enabled", answer.text
    return account_id
