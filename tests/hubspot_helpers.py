"""Helpers for tests that sync partners with sandbox portals through pc_core: connect a
partner to a fresh portal, run a sync (pipelines, contacts, deals → leads), act as a
HubSpot user on the portal, read what the portal holds."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import httpx
from pymongo.database import Database

from pc_core import collections as c
from pc_core.hubspot.connection.oauth import PartnerTokens
from pc_core.hubspot.lead_build.lead_builder import LeadBuildStats, build_leads
from pc_core.hubspot.lead_build.stage_mapping import store_pipeline_stages
from pc_core.hubspot.pull.engine import pull_objects, pull_pipelines
from pc_core.security.encryption import encrypt_secret
from pc_core.settings import Settings
from pc_core.timeutil import utcnow


def connect(db: Database, settings: Settings, partner_id: str, *, deals: int = 20,
            contacts: int = 15, seed: int = 3, scopes: list[str] | None = None) -> str:
    """The partner connected to a new sandbox portal (OAuth has its own tests), with a
    token of ``scopes`` (by default every scope the sandbox knows)."""
    host = settings.hubspot_base_url
    httpx.put(f"{host}/_sandbox/config", json={"rate_limits": False})
    portal = httpx.post(f"{host}/_sandbox/portals", json={
        "contacts": contacts, "deals": deals, "pipelines": 2, "seed": seed}).json()
    portal_id = str(portal["id"])
    tokens = httpx.post(f"{host}/_sandbox/portals/{portal_id}/tokens",
                        json={"scopes": scopes} if scopes else {}).json()
    key = settings.token_encryption_key
    partner = db[c.PARTNERS].find_one({"_id": partner_id})
    hub = {"portal_id": portal_id, "scopes": [], "last_synced_at": None,
           "access_token": encrypt_secret(key, tokens["access_token"]),
           "refresh_token": encrypt_secret(key, tokens["refresh_token"]),
           "expires_at": utcnow() + timedelta(seconds=tokens["expires_in"])}
    db[c.PARTNERS].replace_one({"_id": partner_id}, {**partner, "hubspot": hub})
    return portal_id


def sync(db: Database, settings: Settings, partner_id: str,
         task_id: str | None = None) -> LeadBuildStats:
    """What the sync job does, through pc_core."""
    tokens = PartnerTokens(db, settings, partner_id)
    store_pipeline_stages(db, partner_id, pull_pipelines(db, settings, partner_id, tokens))
    for object_type in ("contacts", "deals"):
        pull_objects(db, settings, partner_id, object_type, tokens)
    return build_leads(db, partner_id, settings=settings, task_id=task_id)


class Portal:
    """A sandbox portal, acted on like a HubSpot user would (its own token)."""

    def __init__(self, settings: Settings, portal_id: str) -> None:
        self.host = settings.hubspot_base_url
        self.portal_id = portal_id
        token = httpx.post(f"{self.host}/_sandbox/portals/{portal_id}/tokens").json()
        self.headers = {"Authorization": f"Bearer {token['access_token']}"}

    def deal(self, deal_id: str, *props: str) -> dict[str, Any]:
        names = ",".join(props or ("dealname", "dealstage", "pipeline", "amount"))
        r = httpx.get(f"{self.host}/crm/v3/objects/deals/{deal_id}",
                      params={"properties": names, "associations": "notes"},
                      headers=self.headers)
        r.raise_for_status()
        return r.json()

    def update_deal(self, deal_id: str, **props: str) -> None:
        time.sleep(0.01)  # a later millisecond than whatever happened before
        r = httpx.patch(f"{self.host}/crm/v3/objects/deals/{deal_id}",
                        json={"properties": props}, headers=self.headers)
        r.raise_for_status()
        time.sleep(0.01)

    def notes_of(self, deal_id: str) -> list[str]:
        assoc = (self.deal(deal_id).get("associations") or {}).get("notes") or {}
        bodies = []
        for item in assoc.get("results", []):
            r = httpx.get(f"{self.host}/crm/v3/objects/notes/{item['id']}",
                          params={"properties": "hs_note_body"}, headers=self.headers)
            bodies.append(r.json()["properties"]["hs_note_body"])
        return bodies

    def config(self, **changes: Any) -> None:
        httpx.put(f"{self.host}/_sandbox/config", json=changes).raise_for_status()

    def stages(self, pipeline_id: str) -> list[dict[str, Any]]:
        r = httpx.get(f"{self.host}/crm/v3/pipelines/deals/{pipeline_id}/stages",
                      headers=self.headers)
        return r.json()["results"]
