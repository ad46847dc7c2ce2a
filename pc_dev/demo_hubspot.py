"""Demo: connect the agency partners to sandbox HubSpot portals, through the real
OAuth flow (our authorize URL → the sandbox's consent page → our callback), as a
person clicking "Connect HubSpot" would. Idempotent: connected partners are left
alone and portals are found by name."""

from __future__ import annotations

import httpx
from pymongo.database import Database

from pc_core import collections as c
from pc_core.settings import Settings
from pc_dev.demo_seed import DEMO_PASSWORD

DEMO_PORTALS = {
    "northwind": {"contacts": 400, "deals": 300, "pipelines": 2, "seed": 11},
    "bluebird": {"contacts": 250, "deals": 200, "pipelines": 1, "seed": 22},
}


def _portal_id(http: httpx.Client, hubspot: str, name: str, spec: dict) -> str:
    portals = http.get(f"{hubspot}/_sandbox/portals").json()["results"]
    for portal in portals:
        if portal.get("name") == name:
            return str(portal["id"])
    created = http.post(f"{hubspot}/_sandbox/portals", json={"name": name, **spec})
    created.raise_for_status()
    return str(created.json()["id"])


def connect_demo_partners(db: Database, settings: Settings, api_url: str) -> list[str]:
    """Returns the partners connected now (already connected ones are skipped)."""
    hubspot = settings.hubspot_base_url.rstrip("/")
    done = []
    with httpx.Client(timeout=30) as http:
        for partner_id, spec in DEMO_PORTALS.items():
            partner = db[c.PARTNERS].find_one({"_id": partner_id})
            if partner is None or (partner.get("hubspot") or {}).get("portal_id"):
                continue
            portal = _portal_id(http, hubspot, f"{partner['name']} (demo)", spec)
            login = http.post(f"{api_url}/v1/auth/login", json={
                "email": f"admin@{partner_id}.example.com", "password": DEMO_PASSWORD})
            login.raise_for_status()
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            url = http.get(f"{api_url}/v1/integrations/hubspot/authorize",
                           headers=headers).json()["url"]
            consent = http.get(f"{url}&portal_id={portal}", follow_redirects=False)
            callback = consent.headers["location"]
            result = http.get(callback, follow_redirects=False)
            if "success=true" not in result.headers.get("location", ""):
                raise RuntimeError(f"demo HubSpot connection of {partner_id} failed: "
                                   f"{result.headers.get('location')}")
            done.append(partner_id)
    return done
