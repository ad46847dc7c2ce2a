"""Simulated CRM activity and signed webhook deliveries, the way HubSpot sends them.

``simulate`` changes records through ``mutations`` (so lists/search see the changes) and
builds one event per change; ``deliver`` POSTs them in batches of ≤ 100 with the v3 signature
(HMAC-SHA256 of method + uri + body + timestamp, keyed by the client secret) and the legacy v1
signature, at most 10 requests in flight, as HubSpot does.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from typing import Any

import httpx
from hubspot.utils.signature import Signature

from . import clock, config, generator, mutations, render
from .state import Portal, Record

BATCH_SIZE = 100
MAX_IN_FLIGHT = 10
#: stable subscription ids per subscription type (HubSpot assigns one per subscription)
SUBSCRIPTIONS = {
    "deal.propertyChange": 4_100_001,
    "deal.creation": 4_100_002,
    "deal.deletion": 4_100_003,
    "deal.merge": 4_100_004,
    "deal.restore": 4_100_005,
    "deal.associationChange": 4_100_006,
    "contact.propertyChange": 4_100_011,
    "contact.creation": 4_100_012,
    "contact.deletion": 4_100_013,
    "contact.merge": 4_100_014,
    "contact.restore": 4_100_015,
    "contact.associationChange": 4_100_016,
}
_event_ids = itertools.count(int(time.time()) % 1_000_000 * 1000 + 3_000_000_000)


def event(portal: Portal, stype: str, fields: dict[str, Any],
          source: str = "CRM_UI") -> dict[str, Any]:
    """One webhook event of ``stype`` with HubSpot's common fields plus ``fields``
    (``objectId``; merges: ``primaryObjectId``, ``mergedObjectIds``, ``newObjectId``;
    association changes: ``fromObjectId``, ``toObjectId``, ``associationType``,
    ``associationRemoved``)."""
    return {"eventId": next(_event_ids), "subscriptionId": SUBSCRIPTIONS[stype],
            "portalId": portal.id, "appId": config.app_id(), "occurredAt": clock.now_ms(),
            "subscriptionType": stype, "attemptNumber": 0, "changeSource": source,
            "sourceId": f"userId:{portal.id % 100_000 + 7_000_000}", **fields}
#: (action, weight)
MIX = (
    ("deal.stage", 30), ("deal.amount", 15), ("contact.propertyChange", 25),
    ("deal.creation", 10), ("contact.creation", 10), ("deal.deletion", 5),
    ("contact.deletion", 5),
)
CONTACT_CHANGES = {
    "jobtitle": ("Head of Growth", "CMO", "VP Marketing", "Founder", "Sales Director"),
    "lifecyclestage": ("lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity",
                       "customer"),
    "city": ("Berlin", "London", "Austin", "Toronto", "Sydney"),
    "phone": ("+1 555 010 2030", "+44 20 7946 0018", "+49 30 901820"),
}


def _stage_change(portal: Portal, rng: random.Random, current: dict[str, Any]) -> str:
    pipe = next((p for p in portal.pipelines if p["id"] == current.get("pipeline")),
                portal.pipelines[0])
    choices = [s["id"] for s in pipe["stages"] if s["id"] != current.get("dealstage")]
    return rng.choice(choices) if choices else pipe["stages"][0]["id"]


def simulate(portal: Portal, changes: int, app_id: int, seed: int | None) -> tuple[
        list[dict[str, Any]], list[dict[str, Any]]]:
    """Apply ``changes`` random changes; returns (change log, webhook events)."""
    rng = random.Random(seed)
    actions = [a for a, _ in MIX]
    weights = [w for _, w in MIX]
    log: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    event_id = rng.randrange(1_000_000_000, 2_000_000_000)
    for _ in range(max(0, changes)):
        action = rng.choices(actions, weights)[0]
        otype = "deals" if action.startswith("deal") else "contacts"
        store = portal.store(otype)
        now = clock.now_ms()
        if action.endswith("creation") or not store.active_ids:
            action = f"{otype[:-1]}.creation"
            d = generator.Draw(rng.randrange(1 << 30), otype, store.next_id)
            props = dict(generator.base_props(portal, otype, Record(store.next_id, now, now)))
            if otype == "deals" and props.get("dealstage") is None:
                props = {"dealname": f"New deal {d.below(10_000)}", "amount": "1000",
                         "pipeline": portal.pipelines[0]["id"],
                         "dealstage": portal.pipelines[0]["stages"][0]["id"]}
            rec = mutations.create(portal, otype, props, now, source="CRM_UI")
            if otype == "deals" and portal.stores["contacts"].active_ids:
                contacts = portal.stores["contacts"].active_ids
                portal.associations.add("deals", rec.id, "contacts",
                                        contacts[rng.randrange(len(contacts))])
            entry = {"action": action, "objectType": otype, "objectId": rec.id}
        else:
            rec = store.records[store.active_ids[rng.randrange(len(store.active_ids))]]
            if action.endswith("deletion"):
                mutations.archive(portal, otype, rec, now)
                entry = {"action": action, "objectType": otype, "objectId": rec.id}
            else:
                current = render.current_props(portal, otype, rec)
                if action == "deal.stage":
                    name, value = "dealstage", _stage_change(portal, rng, current)
                elif action == "deal.amount":
                    value = str(max(500, int(float(current.get("amount") or 1000)
                                             * rng.uniform(0.7, 1.4)) // 50 * 50))
                    name = "amount"
                else:
                    name = rng.choice(sorted(CONTACT_CHANGES))
                    value = rng.choice(CONTACT_CHANGES[name])
                mutations.update(portal, otype, rec, {name: value}, now, source="CRM_UI")
                action = f"{otype[:-1]}.propertyChange"
                entry = {"action": action, "objectType": otype, "objectId": rec.id,
                         "propertyName": name, "propertyValue": value}
        log.append(entry)
        event_id += 1
        event: dict[str, Any] = {
            "eventId": event_id,
            "subscriptionId": SUBSCRIPTIONS[action],
            "portalId": portal.id,
            "appId": app_id,
            "occurredAt": now,
            "subscriptionType": action,
            "attemptNumber": 0,
            "objectId": entry["objectId"],
            "changeSource": "CRM_UI",
            "sourceId": f"userId:{portal.id % 100_000 + 7_000_000}",
        }
        if "propertyName" in entry:
            event["propertyName"] = entry["propertyName"]
            event["propertyValue"] = entry["propertyValue"]
        elif action.endswith("creation"):
            event["changeFlag"] = "NEW"
        else:
            event["changeFlag"] = "DELETED"
        events.append(event)
    return log, events


def signed_headers(url: str, body: str, secret: str) -> dict[str, str]:
    """HubSpot's webhook headers: v3 (+timestamp, real wall clock) and v1 signatures."""
    timestamp = str(int(time.time() * 1000))
    return {
        "Content-Type": "application/json",
        "User-Agent": "HubSpot Connect 2.0 (http://dev.hubspot.com/) (pc-sandbox)",
        "X-HubSpot-Request-Timestamp": timestamp,
        "X-HubSpot-Signature-v3": Signature.get_signature(
            secret, body, "v3", http_uri=url, http_method="POST", timestamp=timestamp),
        "X-HubSpot-Signature": Signature.get_signature(secret, body, "v1"),
        "X-HubSpot-Signature-Version": "v1",
    }


async def deliver(url: str, events: list[dict[str, Any]], max_attempts: int = 1,
                  timeout_s: float = 5.0) -> list[dict[str, Any]]:
    """POST events in batches of ≤ 100; retry failures up to ``max_attempts`` (attemptNumber)."""
    secret = config.client_secret()
    sem = asyncio.Semaphore(MAX_IN_FLIGHT)
    batches = [events[i : i + BATCH_SIZE] for i in range(0, len(events), BATCH_SIZE)]

    async def send(client: httpx.AsyncClient, batch: list[dict[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {"events": len(batch), "attempts": 0, "status": None}
        for attempt in range(max(1, max_attempts)):
            payload = [{**e, "attemptNumber": attempt} for e in batch]
            body = json.dumps(payload, separators=(",", ":"))
            result["attempts"] = attempt + 1
            async with sem:
                try:
                    resp = await client.post(url, content=body,
                                             headers=signed_headers(url, body, secret))
                    result["status"] = resp.status_code
                    result.pop("error", None)
                    if resp.status_code < 400:
                        break
                except httpx.HTTPError as exc:
                    result["status"], result["error"] = None, f"{type(exc).__name__}: {exc}"
        return result

    async with httpx.AsyncClient(timeout=timeout_s) as client:
        return list(await asyncio.gather(*(send(client, b) for b in batches)))
