"""The write-back lanes of the hot path (issue 22): a buyer's stage change on a bought
lead → the seller's HubSpot portal (cross-partner relay), and a platform edit → the
partner's portal (pushback), measured end to end through ``pc worker``.

Processes, as ``pc run`` starts them: nx-27017 (memory), redis-server, the vendor
sandbox, the API (uvicorn, one worker) and ``pc worker`` (reporting each batch to a
Dagster instance under a temporary DAGSTER_HOME). ``--pairs`` seller/buyer pairs, each
partner connected to a sandbox portal of its own and synced once (hot_path_bench's
set-up); each seller has ``--leads`` leads sold to its buyer, delivered to the buyer's
portal (a linked deal each) before the clock runs.

1. Relay, ``--changes`` samples spread evenly over ``--window`` seconds, a pair in
   turn: the buyer's deal is moved to another stage in the buyer's sandbox portal (as
   a HubSpot user would), then the clock starts, HubSpot's signed v3 webhook for it is
   POSTed to ``/v1/webhooks/hubspot`` and the seller's deal is read from the seller's
   sandbox portal every 100 ms until its ``pc_buyer_stage`` shows the buyer's new
   canonical stage. Path measured: webhook → inbox → worker's webhook lane (reads the
   deal from HubSpot, flags the link) → Redis wake-up → relay lane (writes the
   seller's deal and a note) → readable in the seller's portal.
2. Pushback, as many samples: ``PATCH /v1/leads/{id}`` (a stage, by the seller's admin)
   then the partner's deal is read every 100 ms until its ``dealstage`` is the mapped
   stage.

Meanwhile ``hubspot_pushback_sensor`` and ``cross_partner_sensor`` (the backstops) are
evaluated every 5 s against the same database: the runs they would launch per minute
are printed (target: none while the worker keeps up). Targets as the webhook hot path:
p95 ≤ 3 s (and every change arrives). Nothing is simulated; a sample may read up to
0.1 s late.

    .venv/bin/python bench/relay_bench.py [--pairs 20] [--changes 100] [--quick]
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
from _dagster import start_api_and_worker
from _figures import figure, parse, quick_flag
from _stack import paced, pct, stores_and_sandbox
from dagster import DagsterInstance, build_sensor_context
from hot_path_bench import Partner, connect_partners, post_signed

from pc_core import collections as c
from pc_core.access import Principal, Role
from pc_core.db import get_db
from pc_core.hubspot.sync_back.cross_partner import BUYER_STAGE_PROPERTY, sync_buyer
from pc_core.hubspot.sync_back.reverse_mapping import ReverseStages
from pc_core.identity.users import create_user
from pc_core.ids import new_id
from pc_core.marketplace import leadstate
from pc_core.security.jwt_tokens import create_access_token
from pc_core.settings import Settings
from pc_core.store import wakeups
from pc_core.store.indexes import ensure_indexes
from pc_core.timeutil import utcnow
from pc_core.worker.runner import Worker
from pc_dev import devstack
from pc_pipelines.lib.partitions import partners_partitions
from pc_pipelines.resources import PlatformResource
from pc_pipelines.sync_back.sensors import cross_partner_sensor, hubspot_pushback_sensor

BENCH = "Hot path: write-back lanes (pc worker)"
POLL_S = 0.1
GIVE_UP_S = 60.0
TICK_S = 5.0
EVENT_IDS = itertools.count(30_000_000)  # HubSpot's eventId: unique per delivery
SYSTEM = Principal(user_id="system", role=Role.OWNER, partner_id=None)
#: Stages a sample moves between: open ones, so a lead stays editable and unsold.
OPEN_STAGES = ("contacted", "meeting_scheduled", "meeting_held", "proposal", "negotiation")


class Pair:
    """A seller, its buyer, the sold leads (seller deal, buyer deal) and the stages
    each side's pipelines map canonical stages to."""

    def __init__(self, seller: Partner, buyer: Partner) -> None:
        self.seller, self.buyer = seller, buyer
        self.sold: list[tuple[str, str]] = []  # (seller deal id, buyer deal id)
        self.open: list[dict] = []  # seller leads for the pushback
        self.headers: dict[str, str] = {}
        self.lock = threading.Lock()


def sell_and_deliver(db, settings: Settings, pair: Pair, n: int) -> None:
    """``n`` of the seller's leads sold to the buyer, delivered to the buyer's portal
    through pc_core (what the sale lane does)."""
    leads = list(db[c.LEADS].find({"partner_id": pair.seller.id,
                                   "hubspot_deal_id": {"$ne": None}}))
    for lead in leads[:n]:
        purchase = {"_id": new_id(), "lead_id": lead["_id"],
                    "buyer_partner_id": pair.buyer.id, "seller_partner_id": pair.seller.id,
                    "price_cents": 5000, "amount_cents": 5000, "status": "completed",
                    "created_at": utcnow()}
        db[c.PURCHASES].insert_one(purchase)
        leadstate.sell(db, lead, purchase, utcnow())
    sync_buyer(db, settings, pair.buyer.id)
    for lead in leads[:n]:
        bought = db[c.LEADS].find_one({"_id": lead["_id"]})
        if bought.get("buyer_hubspot_deal_id"):
            pair.sold.append((str(lead["hubspot_deal_id"]), str(bought["buyer_hubspot_deal_id"])))
    pair.open = [d for d in leads[n:] if d.get("hubspot_pipeline_id")
                 and d["stage"] not in ("won", "lost", "non_fit")]
    user = create_user(db, SYSTEM, email=f"admin-{uuid.uuid4().hex[:8]}@bench.example.com",
                       password="bench-password-123", role=Role.ADMIN,
                       partner_id=pair.seller.id).id
    pair.headers = {"Authorization": f"Bearer {create_access_token(settings, user)[0]}"}


def _deal(settings: Settings, partner: Partner, deal: str, *props: str) -> dict:
    r = httpx.get(f"{settings.hubspot_base_url}/crm/v3/objects/deals/{deal}",
                  params={"properties": ",".join(props)},
                  headers={"Authorization": f"Bearer {partner.token}"}, timeout=30)
    r.raise_for_status()
    return r.json()["properties"]


def _targets(db, partner_id: str, pipeline: str, current: str | None) -> list[tuple[str, str]]:
    """(canonical, stage id) pairs of the pipeline's open stages other than ``current``."""
    stages = ReverseStages(db, partner_id)
    found = [(canon, stages.stage_for(pipeline, canon)) for canon in OPEN_STAGES]
    out = [(canon, sid) for canon, sid in found if sid and canon != current]
    assert out, f"{partner_id}'s pipeline {pipeline} has no open stage to move to"
    return out


def relay_sample(settings: Settings, db, client: httpx.Client, api: str, pair: Pair,
                 k: int) -> float | None:
    seller_deal, buyer_deal = pair.sold[k % len(pair.sold)]
    props = _deal(settings, pair.buyer, buyer_deal, "pipeline", "dealstage")
    shown = _deal(settings, pair.seller, seller_deal, BUYER_STAGE_PROPERTY)
    targets = _targets(db, pair.buyer.id, props["pipeline"], shown.get(BUYER_STAGE_PROPERTY))
    canonical, stage_id = targets[k % len(targets)]
    r = httpx.patch(f"{settings.hubspot_base_url}/crm/v3/objects/deals/{buyer_deal}",
                    json={"properties": {"dealstage": stage_id}},
                    headers={"Authorization": f"Bearer {pair.buyer.token}"}, timeout=30)
    r.raise_for_status()
    started = time.perf_counter()
    body = (f'[{{"eventId": {next(EVENT_IDS)}, "subscriptionId": 4100001, '
            f'"portalId": {int(pair.buyer.portal)}, "appId": 1000001, '
            f'"occurredAt": {int(time.time() * 1000)}, '
            f'"subscriptionType": "deal.propertyChange", "attemptNumber": 0, '
            f'"objectId": {int(buyer_deal)}, "propertyName": "dealstage", '
            f'"propertyValue": "{stage_id}", "changeSource": "CRM_UI"}}]')
    post_signed(client, api, body, settings.hubspot_client_secret)
    while time.perf_counter() - started < GIVE_UP_S:
        if _deal(settings, pair.seller, seller_deal,
                 BUYER_STAGE_PROPERTY).get(BUYER_STAGE_PROPERTY) == canonical:
            return time.perf_counter() - started
        time.sleep(POLL_S)
    return None


def pushback_sample(settings: Settings, db, client: httpx.Client, pair: Pair,
                    k: int) -> float | None:
    lead = pair.open[k % len(pair.open)]
    current = db[c.LEADS].find_one({"_id": lead["_id"]}, {"stage": 1})["stage"]
    targets = _targets(db, pair.seller.id, lead["hubspot_pipeline_id"], current)
    canonical, stage_id = targets[k % len(targets)]
    started = time.perf_counter()
    r = client.patch(f"/v1/leads/{lead['_id']}", json={"stage": canonical},
                     headers=pair.headers)
    r.raise_for_status()
    while time.perf_counter() - started < GIVE_UP_S:
        if _deal(settings, pair.seller, str(lead["hubspot_deal_id"]),
                 "dealstage").get("dealstage") == stage_id:
            return time.perf_counter() - started
        time.sleep(POLL_S)
    return None


def phase(settings: Settings, api: str, pairs: list[Pair], changes: int, window: float,
          kind: str) -> dict:
    db = get_db(settings)
    samples: list[float] = []
    missing = 0
    lock = threading.Lock()
    stop = threading.Event()
    launches: list[float] = []

    def backstop() -> None:
        platform = PlatformResource.of(settings)
        with tempfile.TemporaryDirectory() as home, DagsterInstance.local_temp(home) as inst:
            inst.add_dynamic_partitions(partners_partitions.name,
                                        [p.seller.id for p in pairs] + [p.buyer.id for p in pairs])
            cursors: dict[str, str | None] = {}
            while not stop.wait(TICK_S):
                for sensor in (hubspot_pushback_sensor, cross_partner_sensor):
                    result = sensor(build_sensor_context(
                        instance=inst, resources={"platform": platform},
                        cursor=cursors.get(sensor.name)))
                    cursors[sensor.name] = result.cursor
                    launches.extend(time.monotonic() for _ in result.run_requests)

    watcher = threading.Thread(target=backstop, daemon=True)
    watcher.start()
    with httpx.Client(base_url=api, timeout=30) as client:
        def one(k: int) -> None:
            nonlocal missing
            pair = pairs[k % len(pairs)]
            with pair.lock:  # one change of a pair at a time: each sample is its own
                took = (relay_sample(settings, db, client, api, pair, k // len(pairs))
                        if kind == "relay" else
                        pushback_sample(settings, db, client, pair, k // len(pairs)))
            with lock:
                if took is None:
                    missing += 1
                else:
                    samples.append(took)

        elapsed = paced(changes, window, 32, one)
    stop.set()
    watcher.join(timeout=15)
    return {"samples": samples, "missing": missing, "launches": len(launches),
            "minutes": elapsed / 60}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=20, help="seller/buyer pairs")
    parser.add_argument("--leads", type=int, default=3, help="leads sold per pair")
    parser.add_argument("--changes", type=int, default=100, help="samples per phase")
    parser.add_argument("--window", type=float, default=60.0, help="seconds they spread over")
    quick_flag(parser, pairs=3, leads=2, changes=15, window=15.0)
    args = parse(parser)
    group = devstack.ProcessGroup()
    home = tempfile.mkdtemp(prefix="pc-bench-dagster-")
    try:
        settings, sandbox = stores_and_sandbox(group)
        db = get_db(settings)
        ensure_indexes(db)
        t_setup = time.monotonic()
        setup_worker = Worker(settings, holder="worker:relay-bench-setup",
                              lanes=(wakeups.WEBHOOK,), db=db)

        def drain() -> None:  # set-up: the portals' creation events, before the API runs
            while setup_worker.run_once({wakeups.WEBHOOK}).applied:
                pass

        partners = connect_partners(db, settings, 2 * args.pairs, "rel", drain=drain)
        pairs = [Pair(partners[2 * i], partners[2 * i + 1]) for i in range(args.pairs)]
        for pair in pairs:
            sell_and_deliver(db, settings, pair, args.leads)
        pairs = [p for p in pairs if p.sold and p.open]
        setup_s = time.monotonic() - t_setup
        api = start_api_and_worker(group, settings, Path(home))
        print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; {len(pairs)} "
              f"seller/buyer pairs ({setup_s:.0f} s set-up), {args.changes} samples over "
              f"{args.window:.0f} s per phase")
        print(f"{'path':<42} {'samples':>8} {'p50':>7} {'p95':>7} {'max':>7} "
              f"{'backstop runs/min':>18}")
        for kind, label in (("relay", "buyer's stage change -> seller's portal"),
                            ("pushback", "platform edit -> partner's portal")):
            out = phase(settings, api, pairs, args.changes, args.window, kind)
            lat = out["samples"] or [float("nan")]
            name = f"{BENCH}: {len(pairs)} pairs"
            figure(name, f"{label} p50", pct(lat, 50), "s")
            figure(name, f"{label} p95", pct(lat, 95), "s", at_most=3.0)
            figure(name, f"{kind}: changes not arrived within 60 s", out["missing"], equals=0)
            per_min = out["launches"] / max(out["minutes"], 1e-9)
            figure(name, f"{kind}: backstop run launches per minute", round(per_min, 2),
                   "/min", at_most=1.0)
            print(f"{label:<42} {len(out['samples']):>8} {pct(lat, 50):6.2f}s "
                  f"{pct(lat, 95):6.2f}s {max(lat):6.2f}s {per_min:>17.2f}")
    finally:
        group.stop_all()


if __name__ == "__main__":
    main()
