"""A randomized soak of the HubSpot sync against a sandbox portal (issue 17, point 8).

A portal of N deals and contacts is connected to a fresh partner and pulled once;
then, round after round, the portal changes at random (the sandbox's ``simulate``:
creates, updates, stage moves, deletions — plus bulk deletions well past the 200
archived records an incremental pull looks at), some webhook events are dropped and
some delivered twice, 429 storms and search-index lag hit the calls, while the
webhook apply (``pc_core.hubspot.webhooks.apply``) and the scheduled incremental
pulls run through the same ``pc_core`` code the Dagster jobs use. At the end the
storms stop, the pending work is applied, one pull and the daily reconciliation
run, and our leads are compared with the portal's truth: the same set of deals, the
same mapped stages, no deal with two leads, nothing sold twice.

Used by ``tests/test_hubspot_soak.py`` (small, fixed seed) and
``bench/hubspot_soak_bench.py`` (large, random seed printed).

Each round also merges deals, restores deleted ones and changes deals' contacts
(``merges_restores_and_associations``; once, one deal gets a few hundred contacts),
with their webhook events dropped and repeated like the others. The truth is then the
set of canonical deals: a merged-away id must have no lead left.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from pymongo.database import Database

from pc_core import collections as c
from pc_core.access import Principal, Role
from pc_core.hubspot.connection.oauth import PartnerTokens
from pc_core.hubspot.connection.transport import HubSpotCallError
from pc_core.hubspot.lead_build.lead_builder import build_leads
from pc_core.hubspot.lead_build.stage_mapping import stage_lookup, store_pipeline_stages
from pc_core.hubspot.pull.engine import PullFailed, pull_objects, pull_pipelines
from pc_core.hubspot.reconcile.drift import DriftReport, reconcile_partner
from pc_core.hubspot.webhooks.apply import apply_pending
from pc_core.hubspot.webhooks.ingest import store_events
from pc_core.identity.partners import create_partner
from pc_core.security.encryption import encrypt_secret
from pc_core.settings import Settings
from pc_core.timeutil import utcnow

SYSTEM = Principal(user_id="soak", role=Role.OWNER, partner_id=None)


@dataclass
class SoakPlan:
    deals: int = 300
    contacts: int = 200
    mutations: int = 400
    rounds: int = 8
    seed: int = 17
    drop_fraction: float = 0.15  # webhook events never delivered
    duplicate_fraction: float = 0.05  # delivered twice
    bulk_deletions: int = 230  # one clean-up, well past 200 archived records
    storm_rounds: float = 0.3  # share of rounds with a 429 storm
    storm_size: int = 12  # 429 answers per storm
    search_lag_ms: int = 1500
    pull_every: int = 2  # a scheduled pull every this many rounds
    merges_per_round: int = 2
    restores_per_round: int = 1
    association_changes_per_round: int = 3
    big_association: int = 150  # contacts given to one deal, once


@dataclass
class SoakReport:
    seed: int
    did: Counter = field(default_factory=Counter)
    failures: Counter = field(default_factory=Counter)
    reconciliation: dict[str, Any] = field(default_factory=dict)
    portal_deals: int = 0
    our_deals: int = 0
    missing: list[str] = field(default_factory=list)  # in HubSpot, no live lead
    extra: list[str] = field(default_factory=list)  # live lead, not in HubSpot
    wrong_stage: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    sold_twice: list[str] = field(default_factory=list)
    detail: list[str] = field(default_factory=list)  # what we hold for missing deals
    seconds: float = 0.0

    @property
    def differences(self) -> int:
        return (len(self.missing) + len(self.extra) + len(self.wrong_stage)
                + len(self.duplicates) + len(self.sold_twice))

    def lines(self) -> list[str]:
        did = ", ".join(f"{k}={v}" for k, v in sorted(self.did.items()))
        failed = ", ".join(f"{k}={v}" for k, v in sorted(self.failures.items())) or "none"
        return [
            f"soak seed={self.seed} in {self.seconds:.1f}s",
            f"did: {did}",
            f"recovered failures: {failed}",
            f"reconciliation healed: {self.reconciliation}",
            f"portal deals={self.portal_deals} our live leads={self.our_deals}",
            f"differences={self.differences}: missing={self.missing[:10]} "
            f"extra={self.extra[:10]} wrong_stage={self.wrong_stage[:10]} "
            f"duplicates={self.duplicates[:10]} sold_twice={self.sold_twice[:10]}",
            *self.detail[:10],
        ]


class SandboxPortal:
    """The sandbox's admin API and one portal's REST API (as a HubSpot user)."""

    def __init__(self, host: str, portal_id: str) -> None:
        self.host = host.rstrip("/")
        self.id = portal_id
        self.http = httpx.Client(timeout=120)
        token = self.admin("POST", f"/portals/{portal_id}/tokens")["access_token"]
        self.headers = {"Authorization": f"Bearer {token}"}

    @classmethod
    def create(cls, host: str, deals: int, contacts: int, seed: int) -> SandboxPortal:
        r = httpx.post(f"{host.rstrip('/')}/_sandbox/portals", timeout=300, json={
            "deals": deals, "contacts": contacts, "pipelines": 2, "seed": seed})
        r.raise_for_status()
        return cls(host, str(r.json()["id"]))

    def admin(self, method: str, path: str, **kw: Any) -> Any:
        r = self.http.request(method, f"{self.host}/_sandbox{path}", **kw)
        r.raise_for_status()
        return r.json() if r.content else None

    def live_deals(self) -> dict[str, tuple[str, str]]:
        """The truth: every live deal → (pipeline, stage), through the list endpoint."""
        out: dict[str, tuple[str, str]] = {}
        after: str | None = None
        while True:
            params = {"limit": 100, "properties": "pipeline,dealstage",
                      **({"after": after} if after else {})}
            r = self.http.get(f"{self.host}/crm/v3/objects/deals", params=params,
                              headers=self.headers)
            r.raise_for_status()
            body = r.json()
            for item in body["results"]:
                props = item["properties"]
                out[str(item["id"])] = (str(props.get("pipeline")), str(props.get("dealstage")))
            after = (body.get("paging") or {}).get("next", {}).get("after")
            if not after:
                return out

    def live_contacts(self) -> list[str]:
        ids: list[str] = []
        after: str | None = None
        while True:
            params = {"limit": 100, **({"after": after} if after else {})}
            r = self.http.get(f"{self.host}/crm/v3/objects/contacts", params=params,
                              headers=self.headers)
            r.raise_for_status()
            body = r.json()
            ids.extend(str(item["id"]) for item in body["results"])
            after = (body.get("paging") or {}).get("next", {}).get("after")
            if not after:
                return ids

    def archive_deals(self, ids: list[str]) -> None:
        for start in range(0, len(ids), 100):
            r = self.http.post(f"{self.host}/crm/v3/objects/deals/batch/archive",
                               headers=self.headers,
                               json={"inputs": [{"id": i} for i in ids[start:start + 100]]})
            r.raise_for_status()


def connect_partner(db: Database, settings: Settings, portal: SandboxPortal,
                    name: str) -> str:
    """A new partner connected to the portal (tokens minted by the sandbox)."""
    partner_id = create_partner(db, SYSTEM, name=name).id
    tokens = portal.admin("POST", f"/portals/{portal.id}/tokens")
    key = settings.token_encryption_key
    partner = db[c.PARTNERS].find_one({"_id": partner_id})
    hub = {"portal_id": portal.id, "scopes": [], "last_synced_at": None,
           "access_token": encrypt_secret(key, tokens["access_token"]),
           "refresh_token": encrypt_secret(key, tokens["refresh_token"]),
           "expires_at": utcnow() + timedelta(seconds=tokens["expires_in"]),
           "connected_at": utcnow()}
    db[c.PARTNERS].replace_one({"_id": partner_id}, {**partner, "hubspot": hub})
    return partner_id


def scheduled_pull(db: Database, settings: Settings, partner_id: str) -> None:
    """What ``hubspot_sync_job`` does for one partner."""
    tokens = PartnerTokens(db, settings, partner_id)
    store_pipeline_stages(db, partner_id, pull_pipelines(db, settings, partner_id, tokens))
    for object_type in ("contacts", "deals"):
        pull_objects(db, settings, partner_id, object_type, tokens)
    build_leads(db, partner_id, settings=settings)


@dataclass
class PortalBook:
    """What the soak knows of the portal's ids without asking it every round."""

    live: set[str]
    deleted: set[str]
    contacts: list[str]
    big_done: bool = False

    def follow(self, changes: list[dict[str, Any]]) -> None:
        """Creations and deletions of a ``simulate`` answer."""
        for change in changes:
            if change["objectType"] == "contacts":
                contact_id = str(change["objectId"])
                if change["action"] == "contact.creation":
                    self.contacts.append(contact_id)
                elif change["action"] == "contact.deletion" and contact_id in self.contacts:
                    self.contacts.remove(contact_id)
                continue
            deal_id = str(change["objectId"])
            if change["action"] == "deal.creation":
                self.live.add(deal_id)
            elif change["action"] == "deal.deletion":
                self.live.discard(deal_id)
                self.deleted.add(deal_id)


def merges_restores_and_associations(portal: SandboxPortal, book: PortalBook, plan: SoakPlan,
                                     rng: random.Random,
                                     report: SoakReport) -> list[dict[str, Any]]:
    """Merge deals, restore deleted ones, change deals' contacts (as users do in the
    HubSpot UI); returns the webhook events HubSpot would send."""
    events: list[dict[str, Any]] = []
    for _ in range(plan.merges_per_round):
        if len(book.live) < 4:
            break
        primary, other = rng.sample(sorted(book.live), 2)
        out = portal.admin("POST", f"/portals/{portal.id}/merge", json={
            "object_type": "deals", "primary_id": primary, "merge_id": other})
        book.live -= {primary, other}
        book.live.add(str(out["id"]))
        events.extend(out["events"])
        report.did["portal_deal.merge"] += 1
    for _ in range(plan.restores_per_round):
        if not book.deleted:
            break
        deal_id = rng.choice(sorted(book.deleted))
        out = portal.admin("POST", f"/portals/{portal.id}/restore", json={
            "object_type": "deals", "ids": [deal_id]})
        book.deleted.discard(deal_id)
        book.live.add(deal_id)
        events.extend(out["events"])
        report.did["portal_deal.restore"] += 1
    for _ in range(plan.association_changes_per_round):
        if not book.live or not book.contacts:
            break
        big = not book.big_done and plan.big_association > 0
        count = min(len(book.contacts), plan.big_association if big else rng.randint(1, 3))
        book.big_done = book.big_done or big
        out = portal.admin("POST", f"/portals/{portal.id}/associations", json={
            "deal_id": rng.choice(sorted(book.live)),
            "contact_ids": rng.sample(book.contacts, count)})
        events.extend(out["events"])
        report.did["portal_association_changes"] += count
    return events


def _deliver(db: Database, events: list[dict[str, Any]], plan: SoakPlan,
             rng: random.Random, report: SoakReport) -> None:
    """Webhook deliveries as HubSpot makes them: some never arrive, some twice."""
    kept = []
    for event in events:
        if rng.random() < plan.drop_fraction:
            report.did["webhooks_dropped"] += 1
            continue
        kept.append(event)
        if rng.random() < plan.duplicate_fraction:
            kept.append(dict(event))
            report.did["webhooks_duplicated"] += 1
    for start in range(0, len(kept), 10):  # HubSpot batches up to 10 events
        store_events(db, kept[start:start + 10])
    report.did["webhooks_delivered"] += len(kept)


def _attempt(what: str, report: SoakReport, step: Callable[[], Any]) -> None:
    """Run a step; a failure HubSpot caused is recorded and left to the next round
    (the cursors and the inbox keep the work), as the Dagster runs would."""
    try:
        step()
        report.did[what] += 1
    except (PullFailed, HubSpotCallError) as exc:
        report.failures[f"{what}: {type(exc).__name__}"] += 1


def run_soak(db: Database, settings: Settings, plan: SoakPlan,
             log: Callable[[str], None] = print) -> SoakReport:
    """Run the soak; the report holds what it did and every difference found."""
    started = time.perf_counter()
    rng = random.Random(plan.seed)
    report = SoakReport(plan.seed)
    host = settings.hubspot_base_url
    httpx.put(f"{host}/_sandbox/config", json={"rate_limits": False, "search_lag_ms": 0})
    portal = SandboxPortal.create(host, plan.deals, plan.contacts, plan.seed)
    partner_id = connect_partner(db, settings, portal, f"Soak {plan.seed}")
    log(f"soak seed={plan.seed}: portal {portal.id} with {plan.deals} deals, "
        f"{plan.contacts} contacts; partner {partner_id}")
    scheduled_pull(db, settings, partner_id)
    report.did["initial_full_pull"] += 1

    book = PortalBook(live=set(portal.live_deals()), deleted=set(),
                      contacts=portal.live_contacts())
    per_round = max(1, plan.mutations // plan.rounds)
    # Early, so later deletions come after the pull stopped looking at archived records.
    bulk_round = rng.randrange(max(1, plan.rounds // 3))
    try:
        httpx.put(f"{host}/_sandbox/config", json={"search_lag_ms": plan.search_lag_ms})
        for n in range(plan.rounds):
            sim = portal.admin("POST", f"/portals/{portal.id}/simulate",
                               json={"changes": per_round, "seed": rng.randrange(1 << 30)})
            report.did.update(f"portal_{e['action']}" for e in sim["changes"])
            book.follow(sim["changes"])
            if n == bulk_round and plan.bulk_deletions:
                live = sorted(book.live)
                doomed = rng.sample(live, min(plan.bulk_deletions, max(0, len(live) - 20)))
                portal.archive_deals(doomed)  # a clean-up: no webhook reaches us
                book.live -= set(doomed)
                book.deleted |= set(doomed)
                report.did["portal_bulk_deleted"] += len(doomed)
            try:
                more = merges_restores_and_associations(portal, book, plan, rng, report)
            except httpx.HTTPStatusError as exc:  # our bookkeeping drifted: re-read it
                if exc.response.status_code != 404:
                    raise
                report.did["book_reread"] += 1
                book.live, book.contacts = set(portal.live_deals()), portal.live_contacts()
                more = []
            _deliver(db, sim["events"] + more, plan, rng, report)
            if rng.random() < plan.storm_rounds:
                portal.admin("POST", f"/portals/{portal.id}/quota",
                             json={"storm_429": plan.storm_size})
                report.did["429_storms"] += 1
            _attempt("webhook_applies", report, lambda: apply_pending(
                db, settings, partner_id, PartnerTokens(db, settings, partner_id)))
            if n % plan.pull_every == plan.pull_every - 1:
                _attempt("scheduled_pulls", report,
                         lambda: scheduled_pull(db, settings, partner_id))
    finally:
        portal.admin("POST", f"/portals/{portal.id}/quota", json={"storm_429": 0})
        httpx.put(f"{host}/_sandbox/config", json={"search_lag_ms": 0})

    # The end of the day: pending webhooks, one pull, the daily reconciliation.
    apply_pending(db, settings, partner_id, PartnerTokens(db, settings, partner_id))
    scheduled_pull(db, settings, partner_id)
    drift: DriftReport = reconcile_partner(db, settings, partner_id,
                                           PartnerTokens(db, settings, partner_id))
    report.reconciliation = {k: v for k, v in drift.as_metadata().items()
                             if k in ("missing", "stale", "deleted", "stages_removed",
                                      "leads_missing", "healed")}
    compare(db, partner_id, portal, report)
    report.seconds = time.perf_counter() - started
    for line in report.lines():
        log(line)
    return report


def compare(db: Database, partner_id: str, portal: SandboxPortal, report: SoakReport) -> None:
    """Our leads against the portal's truth."""
    truth = portal.live_deals()
    mapping = stage_lookup(db, partner_id)
    leads = list(db[c.LEADS].find({"partner_id": partner_id, "hubspot_deal_id": {"$ne": None}},
                                  {"hubspot_deal_id": 1, "status": 1, "stage": 1,
                                   "stage_unmapped": 1}))
    per_deal = Counter(str(lead["hubspot_deal_id"]) for lead in leads)
    report.duplicates = sorted(d for d, n in per_deal.items() if n > 1)
    live = {str(lead["hubspot_deal_id"]): lead for lead in leads
            if lead.get("status") != "archived"}
    report.portal_deals, report.our_deals = len(truth), len(live)
    report.missing = sorted(set(truth) - set(live), key=int)
    report.extra = sorted(set(live) - set(truth), key=int)
    for deal_id in report.missing[:10]:
        raw = db[c.HUBSPOT_DEALS].find_one({"partner_id": partner_id, "hubspot_id": deal_id},
                                           {"archived": 1, "dirty": 1, "properties": 1,
                                            "associations": 1})
        kept = [(lead["_id"], lead.get("status")) for lead in leads
                if str(lead["hubspot_deal_id"]) == deal_id]
        props = (raw or {}).get("properties") or {}
        state = "none" if raw is None else "archived" if raw.get("archived") else "live"
        report.detail.append(
            f"  missing {deal_id}: raw={state}"
            f" dirty={(raw or {}).get('dirty')} merged={props.get('hs_merged_object_ids')!r}"
            f" contacts={len(((raw or {}).get('associations') or {}).get('contacts') or [])}"
            f" leads={kept}")
    for deal_id in sorted(set(truth) & set(live), key=int):
        expected = mapping.get(truth[deal_id])
        lead = live[deal_id]
        if expected is None:
            if not lead.get("stage_unmapped"):
                report.wrong_stage.append(deal_id)
        elif lead.get("stage_unmapped") or lead.get("stage") != expected:
            report.wrong_stage.append(deal_id)
    lead_ids = [lead["_id"] for lead in leads]
    sold = Counter(p["lead_id"] for p in db[c.PURCHASES].find(
        {"lead_id": {"$in": lead_ids}, "status": {"$ne": "refunded"}}, {"lead_id": 1}))
    report.sold_twice = sorted(str(lead) for lead, n in sold.items() if n > 1)
