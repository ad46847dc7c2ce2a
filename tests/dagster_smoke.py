"""Checks the ``pc run`` smoke test makes against the running platform's Dagster (not a
test module): schedule and sensor states read from the webserver's GraphQL API, the
every-minute reservation expiry really releasing a lapsed reservation, and a paid
purchase reaching the buyer's sandbox portal as a deal by itself."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from pymongo import MongoClient

from pc_core import collections as c
from pc_core.store.keys import time_key
from pc_core.timeutil import utcnow
from pc_dev import devstack

STATES = """
query {
  repositoriesOrError {
    ... on RepositoryConnection {
      nodes {
        name
        schedules { name cronSchedule scheduleState { status
                    ticks(limit: 10) { status timestamp runIds } } }
        sensors { name sensorState { status ticks(limit: 1) { status timestamp } } }
      }
    }
  }
}
"""


def instigator_states(dagster_url: str, timeout: float = 240) -> dict[str, Any]:
    """{"schedules": {name: {...}}, "sensors": {name: {...}}} as the webserver reports
    them, once the code location has loaded."""
    found: dict[str, Any] = {}
    last: list[str] = ["no answer yet"]

    def loaded() -> bool:
        started = time.monotonic()
        try:
            r = httpx.post(f"{dagster_url}/graphql", json={"query": STATES}, timeout=30)
        except httpx.HTTPError as exc:
            last[0] = f"{type(exc).__name__} after {time.monotonic() - started:.1f} s: {exc}"
            return False
        answer = r.json()
        nodes = ((answer.get("data") or {}).get("repositoriesOrError") or {}).get("nodes")
        if not nodes:
            last[0] = f"HTTP {r.status_code}: {str(answer)[:600]}"
            return False
        found["schedules"] = {s["name"]: s for n in nodes for s in n["schedules"]}
        found["sensors"] = {s["name"]: s for n in nodes for s in n["sensors"]}
        return bool(found["schedules"])

    try:
        devstack.wait_until(loaded, timeout, "Dagster GraphQL")
    except TimeoutError as exc:
        # Say what the webserver last answered: a code location that failed to load, a
        # query slower than the client's timeout and a webserver that is not up at all
        # need different fixes.
        raise TimeoutError(f"{exc}; last answer: {last[0]}") from None
    return found


def wait_for_sensor_tick(dagster_url: str, sensor: str, timeout: float = 240) -> None:
    """Until the daemon has evaluated ``sensor`` once: the daemon, not only the
    webserver, is running."""
    def ticked() -> bool:
        return bool(instigator_states(dagster_url, 10)["sensors"][sensor]["sensorState"]
                    ["ticks"])

    devstack.wait_until(ticked, timeout, f"a tick of {sensor}")


RUNS = """
query { runsOrError(filter: {pipelineName: "crm_delivery_job"}) {
  ... on Runs { results { runId status creationTime startTime endTime } } } }
"""


def delivery_runs(dagster_url: str) -> list[dict[str, Any]]:
    """The delivery runs with their times (for a failure message)."""
    r = httpx.post(f"{dagster_url}/graphql", json={"query": RUNS}, timeout=10)
    return ((r.json().get("data") or {}).get("runsOrError") or {}).get("results") or []


@dataclass
class Platform:
    api: str
    sandbox: str
    mongo_uri: str
    db_name: str = "partner_connector"

    def login(self, email: str, password: str = "demo-pass-123") -> dict[str, str]:
        r = httpx.post(f"{self.api}/v1/auth/login", json={"email": email,
                                                          "password": password})
        r.raise_for_status()
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def db(self):
        return MongoClient(self.mongo_uri, tz_aware=True)[self.db_name]


def _reserve_someone_elses(platform: Platform, headers: dict[str, str],
                           skip: set[str]) -> tuple[str, str]:
    listings = httpx.get(f"{platform.api}/v1/marketplace/listings", params={"limit": 50},
                         headers=headers).json()["items"]
    for item in listings:
        if item.get("own") or item["id"] in skip:
            continue
        r = httpx.post(f"{platform.api}/v1/marketplace/reservations",
                       json={"lead_id": item["id"]}, headers=headers)
        if r.status_code == 201:
            return item["id"], r.json()["id"]
    raise AssertionError("no listing could be reserved")


def lapse_a_reservation(platform: Platform) -> tuple[str, str]:
    """Northwind reserves a listed lead; its end is then set in the past (as if its
    days had gone by). Returns (lead id, reservation id)."""
    headers = platform.login("admin@northwind.example.com")
    lead_id, rid = _reserve_someone_elses(platform, headers, set())
    db = platform.db()
    doc = db[c.RESERVATIONS].find_one({"_id": rid})
    past = utcnow() - timedelta(minutes=1)
    db[c.RESERVATIONS].replace_one({"_id": rid}, {**doc, "expires_at": past,
                                                  "expires_key": time_key(past),
                                                  "rev": (doc.get("rev") or 0) + 1})
    return lead_id, rid


def buy_as_bluebird(platform: Platform, skip: set[str]) -> tuple[str, float]:
    """Bluebird reserves and pays for a lead; the Stripe sandbox sends its signed
    webhook to the API by itself. Returns (lead id, time the payment succeeded)."""
    headers = platform.login("admin@bluebird.example.com")
    lead_id, rid = _reserve_someone_elses(platform, headers, skip)
    purchase = httpx.post(f"{platform.api}/v1/marketplace/purchases",
                          json={"reservation_id": rid}, headers=headers)
    assert purchase.status_code == 201, purchase.text
    pi = purchase.json()["payment_intent_id"]
    httpx.post(f"{platform.sandbox}/stripe/_sandbox/payment_intents/{pi}/succeed",
               timeout=10).raise_for_status()
    return lead_id, time.monotonic()


def wait_for_expiry(platform: Platform, lead_id: str, rid: str, timeout: float) -> None:
    db = platform.db()

    def released() -> bool:
        return (db[c.RESERVATIONS].find_one({"_id": rid})["status"] == "expired"
                and db[c.LEADS].find_one({"_id": lead_id})["status"] == "listed")

    devstack.wait_until(released, timeout, "reservation expiry")


def wait_for_buyer_deal(platform: Platform, lead_id: str, timeout: float) -> dict[str, Any]:
    """The deal the delivery created in Bluebird's sandbox portal, read with a token
    of that portal."""
    db = platform.db()
    found: dict[str, Any] = {}

    def delivered() -> bool:
        lead = db[c.LEADS].find_one({"_id": lead_id}) or {}
        found["deal_id"] = lead.get("buyer_hubspot_deal_id")
        return bool(found["deal_id"])

    devstack.wait_until(delivered, timeout, "delivery to the buyer's CRM")
    portal = db[c.PARTNERS].find_one({"_id": "bluebird"})["hubspot"]["portal_id"]
    hubspot = f"{platform.sandbox}/hubspot"
    token = httpx.post(f"{hubspot}/_sandbox/portals/{portal}/tokens").json()["access_token"]
    r = httpx.get(f"{hubspot}/crm/v3/objects/deals/{found['deal_id']}",
                  params={"properties": "dealname", "associations": "contacts,notes"},
                  headers={"Authorization": f"Bearer {token}"})
    r.raise_for_status()
    return r.json()
