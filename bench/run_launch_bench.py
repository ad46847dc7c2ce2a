"""Bounded run launches (issue 14.8): run launches per minute and webhook → lead
latency with 1, 100 and 1,000 active partners.

For each partner count a simulated minute of ``hubspot_webhook_sensor`` ticks (every
3 s, as deployed) is evaluated for real against a Dagster instance; every partner
receives a webhook event at some moment of the minute (spread evenly), written to the
inbox as the API writes it. When the sensor requests a run, ``hubspot_webhook_job``
is executed in-process (the real fan-out: a worker thread per partner, the sandbox's
HubSpot answering), and the run stays "in progress" for the following ticks until the
pod start (``--pod-start``, a stated parameter: K8sRunLauncher's Job start, not
measured here) plus the measured run time has passed in simulated time. The pod start
is counted once per run, in the latency of every partner of that run; everything
else (the sensor's query, the run's apply against the sandbox) is measured.
Webhook → lead latency of a partner = from its event's arrival to its webhook
``sync_task`` finishing (the leads rebuilt), in simulated time: the wait for the
tick, the wait for a run in progress, the pod start, and the real time the run took
to reach that partner.

Set-up: nx-27017, redis-server and the vendor sandbox on free ports. All partners'
connections point at one sandbox portal (the per-partner work and records are the
same; HubSpot's limits are per portal and are off in the sandbox here). The
per-partner design launched one run per partner with pending events, so its
launches per minute equal the partners with an event in the minute: printed beside.

    .venv/bin/python bench/run_launch_bench.py [--partners 1 100 1000] [--pod-start 10]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from datetime import datetime, timedelta

import httpx
from _figures import figure, parse, quick_flag
from _stack import pct
from dagster import DagsterInstance, DagsterRunStatus, build_sensor_context

from pc_core import collections as c
from pc_core.db import get_db
from pc_core.hubspot.webhooks.ingest import inbox_doc
from pc_core.security.encryption import encrypt_secret
from pc_core.settings import Settings
from pc_core.store.indexes import ensure_indexes
from pc_core.timeutil import utcnow
from pc_dev import devstack
from pc_pipelines.definitions import defs
from pc_pipelines.hubspot_webhooks.jobs import hubspot_webhook_job
from pc_pipelines.hubspot_webhooks.sensors import hubspot_webhook_sensor
from pc_pipelines.resources import PlatformResource

BENCH = "Run launches (webhook sensor)"
TICK_S = 3.0
MINUTE_S = 60.0
# Webhook runs the run coordinator can start per minute beside the scheduled pulls
# (docs/capacity.md "Dagster run pods": ~40 starts a minute for all HubSpot runs).
LAUNCH_BUDGET = 5
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def connect_partners(db, settings: Settings, n: int, portal: str) -> list[str]:
    """``n`` partners connected to the sandbox portal (documents as the OAuth flow
    leaves them)."""
    tokens = httpx.post(f"{settings.hubspot_base_url}/_sandbox/portals/{portal}/tokens").json()
    key = settings.token_encryption_key
    hub = {"portal_id": portal, "scopes": [], "last_synced_at": None,
           "access_token": encrypt_secret(key, tokens["access_token"]),
           "refresh_token": encrypt_secret(key, tokens["refresh_token"]),
           "expires_at": utcnow() + timedelta(seconds=tokens["expires_in"])}
    ids = [f"bench-p{i:05d}" for i in range(n)]
    now = utcnow()
    db[c.PARTNERS].insert_many([{"_id": p, "name": p, "status": "active", "rev": 1,
                                 "created_at": now, "hubspot": dict(hub)} for p in ids])
    return ids


def deal_ids(settings: Settings, portal: str) -> list[str]:
    token = httpx.post(f"{settings.hubspot_base_url}/_sandbox/portals/{portal}/tokens").json()
    page = httpx.get(f"{settings.hubspot_base_url}/crm/v3/objects/deals", params={"limit": 20},
                     headers={"Authorization": f"Bearer {token['access_token']}"}).json()
    return [r["id"] for r in page["results"]]


def _at(value) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def simulate(settings: Settings, partners: int, portal: str, pod_start: float) -> dict:
    db = get_db(settings.model_copy(update={"mongodb_db": f"bench_{uuid.uuid4().hex[:8]}"}))
    sim_settings = settings.model_copy(update={"mongodb_db": db.name})
    ensure_indexes(db)
    ids = connect_partners(db, sim_settings, partners, portal)
    deals = deal_ids(sim_settings, portal)
    arrivals = {p: i * MINUTE_S / partners for i, p in enumerate(ids)}
    number = {p: i for i, p in enumerate(ids)}
    resources = {"platform": PlatformResource.of(sim_settings)}
    os.environ.update({"MONGODB_URI": sim_settings.mongodb_uri, "MONGODB_DB": db.name,
                       "REDIS_URL": sim_settings.redis_url,
                       "PC_HUBSPOT_CLIENT_SECRET": sim_settings.hubspot_client_secret,
                       "PC_TOKEN_ENCRYPTION_KEY": sim_settings.token_encryption_key,
                       # the run-per-tick design: no hot path, so no backstop threshold
                       "PC_BACKSTOP_AFTER_SECONDS": "0"})
    latencies: list[float] = []
    launches, run_seconds, partners_per_run = 0, [], []
    busy_until, busy_run = -1.0, None
    cursor = None
    delivered: set[str] = set()
    with tempfile.TemporaryDirectory() as home, DagsterInstance.local_temp(home) as instance:
        job_def = defs.get_repository_def().get_job(hubspot_webhook_job.name)
        tick = 0.0
        # the minute of events, then ticks until every event is applied (≤ 2 more minutes)
        while tick < 3 * MINUTE_S and (tick < MINUTE_S or len(latencies) < partners):
            due = [p for p in ids if p not in delivered and arrivals[p] <= tick]
            docs = [inbox_doc({"eventId": 10_000 + number[p],
                               "subscriptionType": "deal.propertyChange",
                               "objectId": int(deals[number[p] % len(deals)]),
                               "portalId": int(portal), "propertyName": "dealstage",
                               "occurredAt": 0}, p, 1 + number[p], utcnow()) for p in due]
            if docs:
                db[c.WEBHOOK_EVENTS].insert_many(docs)
                delivered.update(due)
            if busy_run is not None and tick >= busy_until:
                instance.delete_run(busy_run)  # the run pod has finished
                busy_run = None
            result = hubspot_webhook_sensor(build_sensor_context(
                instance=instance, resources=resources, cursor=cursor))
            cursor = result.cursor
            for request in result.run_requests:
                launches += 1 if tick < MINUTE_S else 0
                started = utcnow()
                t0 = time.perf_counter()
                run = hubspot_webhook_job.execute_in_process(
                    instance=instance, resources=resources, tags=request.tags,
                    raise_on_error=False, run_config=QUIET)
                took = time.perf_counter() - t0
                run_seconds.append(took)
                tasks = list(db[c.SYNC_TASKS].find({"dagster_run_id": run.run_id}))
                partners_per_run.append(len(tasks))
                for task in tasks:
                    reached = (_at(task["finished_at"]) - started).total_seconds()
                    latencies.append(tick + pod_start + reached - arrivals[task["partner_id"]])
                busy_until = tick + pod_start + took
                busy_run = instance.create_run_for_job(
                    job_def, run_id=str(uuid.uuid4()), status=DagsterRunStatus.STARTED,
                    tags=request.tags).run_id
            tick += TICK_S
    get_db(sim_settings).client.drop_database(db.name)
    return {"launches": launches, "latencies": latencies, "run_seconds": run_seconds,
            "partners_per_run": partners_per_run, "applied": len(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--partners", type=int, nargs="+", default=[1, 100, 1000])
    parser.add_argument("--pod-start", type=float, default=10.0,
                        help="assumed run pod start under K8sRunLauncher, seconds")
    quick_flag(parser, partners=[1, 20, 100])
    args = parse(parser)
    group = devstack.ProcessGroup()
    try:
        mongo = devstack.start_nx(group, devstack.free_port(), "memory", None)
        redis_url = devstack.start_redis(group, devstack.free_port(), None, None)
        port = devstack.free_port()
        proc = group.start("sandbox", [devstack.venv_bin("uvicorn"), "pc_sandbox.app:app",
                                       "--port", str(port), "--log-level", "warning"])
        sandbox = f"http://127.0.0.1:{port}"
        devstack.wait_until(lambda: devstack.http_answers(sandbox + "/health"), 60,
                            "sandbox", proc)
        httpx.put(f"{sandbox}/hubspot/_sandbox/config", json={"rate_limits": False})
        settings = Settings(mongodb_uri=mongo, redis_url=redis_url, mongodb_db="bench",
                            hubspot_base_url=f"{sandbox}/hubspot")
        portal = str(httpx.post(f"{settings.hubspot_base_url}/_sandbox/portals", json={
            "contacts": 20, "deals": 20, "pipelines": 1, "seed": 5}).json()["id"])
        print(f"webhook sensor over a simulated minute, ticks every {TICK_S:.0f} s, pod start "
              f"{args.pod_start:.0f} s assumed ({os.cpu_count()} cores, load average "
              f"{os.getloadavg()[0]:.1f})")
        print(f"{'partners':>9} {'launches/min':>13} {'per-partner design':>19} "
              f"{'runs: partners, s':>22} {'webhook->lead p50 / p95 / p99 / max':>38}")
        for n in args.partners:
            out = simulate(settings, n, portal, args.pod_start)
            lat = out["latencies"] or [float("nan")]
            label = f"{BENCH}: {n} partners"
            # Targets the design can miss: the launch budget of the cluster's run
            # coordinator (LAUNCH_BUDGET, not the sensor's tick rate, which bounds it by
            # construction) and issue 22's latency targets (p95 <= 3 s, p99 <= 5 s).
            figure(label, "run launches per minute", out["launches"], "/min",
                   at_most=LAUNCH_BUDGET)
            figure(label, "per-partner design launches per minute", n, "/min")
            figure(label, "partners applied", out["applied"], equals=n)
            figure(label, "webhook -> lead p50", pct(lat, 50), "s")
            figure(label, "webhook -> lead p95", pct(lat, 95), "s", at_most=3.0)
            figure(label, "webhook -> lead p99", pct(lat, 99), "s", at_most=5.0)
            runs = out["partners_per_run"]
            print(f"{n:>9} {out['launches']:>13} {n:>19} "
                  f"{max(runs, default=0):>8} max, {max(out['run_seconds'], default=0):6.2f} s"
                  f"   {pct(lat, 50):7.1f} / {pct(lat, 95):5.1f} / {pct(lat, 99):5.1f} / "
                  f"{max(lat):5.1f} s")
    finally:
        group.stop_all()


if __name__ == "__main__":
    main()
