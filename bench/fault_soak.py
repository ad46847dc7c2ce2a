"""Fault soak (issue 22): webhooks, reservations, purchases and live Socket.IO
clients keep going while processes are killed with SIGKILL and the stores are
restarted; after recovery the invariants are checked and printed, each failure
naming the invariant and the ids.

Processes as ``pc run`` starts them: nx-27017 in file mode (its data survives a
restart), redis-server, the vendor sandbox (HubSpot, Stripe, Mailgun), the API
(uvicorn), ``pc worker`` and, with ``--daemon``, ``dagster-daemon``.

Load, from a fixed seed:
- HubSpot: ``--partners`` partners each on a sandbox portal of its own; a client
  renames a random deal and POSTs HubSpot's signed webhook, again and again; a
  delivery the API does not acknowledge (refused, 5xx) is retried, as HubSpot does.
- Marketplace (``_soak_market``): ``--buyers`` buyers reserve listed leads, pay for
  half of them with Stripe's test card (the sandbox then delivers its signed webhook
  to the API, retrying while the API is down), release a quarter, keep the rest.
- Live clients (``_soak_live``): ``--clients`` Socket.IO connections of the buyers,
  each following the marketplace (refetch on every (re)connect, then the events).

Faults, in turn, ``--gap`` seconds apart (``--faults`` picks some):
- ``worker``: SIGKILL of the worker, restarted at once (its leases must run out
  before another holder takes its partners);
- ``api``: SIGKILL of the API, restarted (live clients are dropped and reconnect);
- ``worker-mid-apply``: SIGKILL of the worker while HubSpot answers slowly;
- ``run-mid-apply``: the worker stopped, the backstop ``hubspot_webhook_job`` run in a
  child process (``execute_in_process``) and SIGKILLed once its sync task is running
  (HubSpot slow), then the worker restarted;
- ``push-run-mid-write``: the worker stopped, a partner's lead edited through the API
  (a stage and a note, by an admin of the partner), the ``hubspot_pushback_job`` run
  in a child process SIGKILLed once its push task is running (HubSpot slow), then the
  worker restarted;
- ``daemon``: with ``--daemon``: the worker stopped, so the daemon's sensor launches
  a backstop run; the daemon's process group (daemon, code server, run) SIGKILLed,
  restarted with the worker;
- ``redis``: redis-server SIGKILLed and started again empty on its port;
- ``mongo``: nx-27017 SIGKILLed and started again on its file.

Invariants, after the load stops and everything drained:
- ``webhook-applied``: every acknowledged event is processed (in the inbox, or seen
  processed before retention pruned it);
- ``applied-once``: the succeeded webhook sync tasks' event counts add up to no more
  than the distinct events (an event applied by a holder killed before recording it
  is counted by no task, never by two);
- ``lead-matches-hubspot``: every renamed deal's lead shows HubSpot's current name;
- ``sync-history``: no webhook or push sync task left running (a killed run's
  too), every failed one says why;
- ``edit-pushed-once``: every platform edit of ``push-run-mid-write`` is on the
  partner's deal (its stage, its note exactly once) and no longer pending;
- ``purchase-completed-once``, ``no-double-sale``, ``no-double-reservation``,
  ``no-lost-reservation`` (``_soak_market.check_market``);
- ``live-clients-caught-up`` (``_soak_live.check_live``);
- with ``--long``: ``database-flat``: the retention job (``retention_job``: the
  ``pruned_history`` asset and its check, in a child process every
  ``--retention-every`` s, retention 1 minute standing for 7 and 90 days) keeps the
  database files within ``FLAT_TOLERANCE`` of their size at two retention periods.

    .venv/bin/python bench/fault_soak.py [--seed 7] [--partners 4] [--gap 6] [--daemon]
        [--faults worker,api,...] [--long 600] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from _dagster import REPO, start_daemon
from _figures import figure, parse, quick_flag
from _soak_live import LiveClient, check_live
from _soak_market import (
    STRIPE_RETRIES_MS,
    MarketLedger,
    buyer_loop,
    check_market,
    seed_market,
    settled,
)
from hot_path_bench import Partner, connect_partners, post_signed, rename, webhook_body
from pymongo.errors import PyMongoError

from pc_core import collections as c
from pc_core.access import Principal, Role
from pc_core.db import get_db
from pc_core.hubspot.lead_build.lead_builder import lead_id_for_deal
from pc_core.hubspot.sync_back.reverse_mapping import ReverseStages
from pc_core.identity.users import create_user
from pc_core.security.jwt_tokens import create_access_token
from pc_core.settings import Settings
from pc_core.store import queues
from pc_core.store.indexes import ensure_indexes
from pc_dev import devstack

BENCH = "Fault soak"
LEASE_S = 3.0
FAULTS = ("worker", "api", "worker-mid-apply", "run-mid-apply", "push-run-mid-write",
          "daemon", "redis", "mongo")
#: Canonical stages a ``push-run-mid-write`` edit moves a lead to (the first its
#: partner's pipeline maps, other than the lead's own).
EDIT_STAGES = ("proposal", "negotiation", "contacted", "meeting_scheduled")
DOWN_S = 2.0  # how long a killed store stays down before it is started again
RETENTION_DAYS = 60 / 86_400  # --long: a minute stands for the 7 and 90 days
#: --long: the end size within 25 % of the size at two retention periods (by then the
#: database holds what retention keeps; without retention it grows with every event)
FLAT_TOLERANCE = 0.25

# A Dagster job executed in a child process, as a run worker executes it; with partner
# ids, on the instance under DAGSTER_HOME knowing their partitions (the write-back
# jobs work for known partners only).
RUN_JOB = """
import sys
from dagster import DagsterInstance
from pc_pipelines.definitions import defs
instance = DagsterInstance.get() if sys.argv[2:] else None
if instance is not None:
    instance.add_dynamic_partitions("partners", sys.argv[2:])
result = defs.resolve_job_def(sys.argv[1]).execute_in_process(instance=instance,
                                                              raise_on_error=False)
checks = [f"{e.check_name}={'passed' if e.passed else 'FAILED'}"
          for e in result.get_asset_check_evaluations()]
print("run", "succeeded" if result.success else "failed", *checks, flush=True)
"""


@dataclass
class Ledger:
    """What the load did: acknowledged event keys and each deal's last name."""

    acknowledged: set[str] = field(default_factory=set)
    names: dict[tuple[str, str], str] = field(default_factory=dict)
    retries: int = 0
    sent: int = 0


@dataclass
class Tally:
    """What was seen before retention pruned it (``--long``)."""

    processed: set[str] = field(default_factory=set)
    task_events: dict[str, int] = field(default_factory=dict)

    def take(self, db) -> None:
        self.processed.update(d["_id"] for d in db[c.WEBHOOK_EVENTS].find(
            {"processed": True}, {"_id": 1}))
        for t in db[c.SYNC_TASKS].find({"trigger": "webhook", "status": "succeeded"},
                                       {"details.webhook.events": 1}):
            self.task_events[t["_id"]] = (t.get("details") or {}).get(
                "webhook", {}).get("events", 0)


@dataclass
class Edit:
    """A lead edited through the API while no worker ran (``push-run-mid-write``)."""

    partner: Partner
    lead_id: str
    deal_id: str
    stage_id: str
    note: str


@dataclass
class Violation:
    invariant: str
    ids: list[str]

    def __str__(self) -> str:
        return f"{self.invariant}: {len(self.ids)} ({', '.join(self.ids[:10])})"


class Stack:
    """The processes, each restartable by name on its own port and data."""

    def __init__(self, data: Path, daemon: bool) -> None:
        self.data, self.daemon = data, daemon
        self.group = devstack.ProcessGroup()
        self.procs: dict[str, devstack.ManagedProcess] = {}
        self.mongo_port, self.redis_port = devstack.free_port(), devstack.free_port()
        self.api_port = devstack.free_port()
        self.env: dict[str, str] = {}
        self.settings: Settings | None = None
        self.partner_ids: list[str] = []

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def start(self, name: str) -> None:
        if name == "mongo":
            devstack.start_nx(self.group, self.mongo_port, str(self.data / "pc.db"), None)
        elif name == "redis":
            devstack.start_redis(self.group, self.redis_port, None, None)
        elif name == "api":
            self.group.start(name, [
                devstack.venv_bin("uvicorn"), "--factory", "pc_api.main:app_factory",
                "--port", str(self.api_port), "--log-level", "warning", "--no-access-log"],
                env=self.env, log_path=self.data / "api.log")
        elif name == "worker":
            self.group.start(name, [devstack.venv_bin("python"), "-m", "pc_dev.cli", "worker"],
                             env=self.env, log_path=self.data / "worker.log")
        elif name == "daemon":
            start_daemon(self.group, self.settings, self.data / "dagster",
                         self.partner_ids, extra_env=self.env)
        self.procs[name] = self.group.processes[-1]
        if name == "api":
            devstack.wait_until(lambda: devstack.http_answers(self.api_url + "/health"), 60,
                                "API", self.procs[name])

    def kill(self, name: str) -> None:
        proc = self.procs[name].popen
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def run_job(self, job: str, log: str, partners: list[str] | None = None
                ) -> subprocess.Popen:
        """``job`` executed in a child process of its own session (killable as a group)."""
        out = open(self.data / log, "ab")  # noqa: SIM115 - closed with the process
        (self.data / "dagster").mkdir(exist_ok=True)
        return subprocess.Popen(
            [devstack.venv_bin("python"), "-c", RUN_JOB, job, *(partners or [])],
            env={**os.environ, **self.env, "DAGSTER_HOME": str(self.data / "dagster")},
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def webhook_load(stack: Stack, partners, ledger: Ledger, stop: threading.Event,
                 seed: int) -> None:
    rng = random.Random(seed)
    settings = stack.settings
    n = 0
    with httpx.Client(base_url=stack.api_url, timeout=10) as client:
        while not stop.is_set():
            partner = rng.choice(partners)
            deal = rng.choice(partner.deals)
            name = f"Soak {n} {rng.randrange(10**6)}"
            rename(settings, partner, deal, name)
            body = webhook_body(partner, deal, 30_000_000 + n)
            event = json.loads(body)[0]
            key = ":".join(str(event[k]) for k in ("portalId", "subscriptionType", "objectId",
                                                   "eventId", "occurredAt"))
            while not stop.is_set() or key not in ledger.acknowledged:
                try:
                    post_signed(client, stack.api_url, body, settings.hubspot_client_secret)
                    ledger.acknowledged.add(key)
                    ledger.names[(partner.id, deal)] = name
                    break
                except httpx.HTTPError:  # API down or 5xx: HubSpot retries later
                    ledger.retries += 1
                    time.sleep(0.2)
                    if stop.is_set() and ledger.retries > 10_000:
                        break
            ledger.sent += 1
            n += 1
            time.sleep(rng.uniform(0.02, 0.1))


def _deal_on_hubspot(settings: Settings, edit: Edit) -> tuple[str | None, list[str]]:
    """The partner's deal's stage and note bodies, read from its portal."""
    host, auth = settings.hubspot_base_url, {"Authorization": f"Bearer {edit.partner.token}"}
    deal = httpx.get(f"{host}/crm/v3/objects/deals/{edit.deal_id}", headers=auth, timeout=30,
                     params={"properties": "dealstage", "associations": "notes"}).json()
    notes = [httpx.get(f"{host}/crm/v3/objects/notes/{n['id']}", headers=auth, timeout=30,
                       params={"properties": "hs_note_body"}).json()["properties"]["hs_note_body"]
             for n in ((deal.get("associations") or {}).get("notes") or {}).get("results", [])]
    return deal["properties"].get("dealstage"), notes


def check_edits(db, settings: Settings, edits: list[Edit]) -> list[Violation]:
    wrong = []
    for edit in edits:
        stage, notes = _deal_on_hubspot(settings, edit)
        pending = (db[c.LEADS].find_one({"_id": edit.lead_id}, {"push_pending": 1}) or {}).get(
            "push_pending")
        if stage != edit.stage_id or notes.count(edit.note) != 1 or pending:
            wrong.append(f"{edit.lead_id} (stage {stage}, note x{notes.count(edit.note)}, "
                         f"pending {bool(pending)})")
    return [Violation("edit-pushed-once", wrong)] if wrong else []


def check(db, ledger: Ledger, tally: Tally) -> list[Violation]:
    found: list[Violation] = []
    tally.take(db)
    events = {d["_id"]: d for d in db[c.WEBHOOK_EVENTS].find({}, {"processed": 1})}
    missing = sorted(k for k in ledger.acknowledged if k not in tally.processed)
    if missing:
        found.append(Violation("webhook-applied", missing))
    tasks = list(db[c.SYNC_TASKS].find({"trigger": "webhook"}))
    applied = sum(tally.task_events.values())
    distinct = len(tally.processed | set(events))
    # Counted at most once: a holder killed between marking its events processed and
    # writing its task's counts leaves them counted by no task (that task is closed as
    # failed, saying so), never by two.
    if applied > distinct:
        found.append(Violation("applied-once",
                               [f"{applied} applied for {distinct} events"]))
    wrong = sorted(lead_id_for_deal(pid, deal) for (pid, deal), name in ledger.names.items()
                   if (db[c.LEADS].find_one({"_id": lead_id_for_deal(pid, deal)},
                                            {"title": 1}) or {}).get("title") != name)
    if wrong:
        found.append(Violation("lead-matches-hubspot", wrong))
    pushes = list(db[c.SYNC_TASKS].find({"direction": "push"}))
    stuck = sorted(f"{t['_id']} ({t['trigger']} {t['status']}, run {t.get('dagster_run_id')})"
                   for t in tasks + pushes if t["status"] == "running"
                   or (t["status"] == "failed" and not t.get("errors")))
    if stuck:
        found.append(Violation("sync-history", stuck))
    return found


def db_size(db, data: Path) -> dict[str, int]:
    """The database's size by ``dbStats`` and by its files on disk (bytes)."""
    try:
        stats = db.command("dbStats")
    except PyMongoError:  # a store without dbStats: the files say it
        stats = {}
    files = sum(p.stat().st_size for p in data.glob("pc.db*"))
    return {"data": int(stats.get("dataSize", 0)), "storage": int(stats.get("storageSize", 0)),
            "files": files, "events": db[c.WEBHOOK_EVENTS].estimated_document_count(),
            "tasks": db[c.SYNC_TASKS].estimated_document_count()}


def wait_for(check_fn, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check_fn():
                return True
        except Exception:  # noqa: BLE001,S110 - a store still coming back
            pass
        time.sleep(0.3)
    return False


class Faults:
    """Each fault: do it, then bring the stack back."""

    def __init__(self, stack: Stack, db, hubspot: str, partners: list[Partner]) -> None:
        self.stack, self.db, self.hubspot, self.partners = stack, db, hubspot, partners
        self.notes: list[str] = []
        self.edits: list[Edit] = []

    def slow_hubspot(self, on: bool) -> None:
        httpx.put(f"{self.hubspot}/_sandbox/config", json={
            "slow_fraction": 1.0 if on else 0, "slow_ms": 1500 if on else 0})

    def kill_run_mid_work(self, fault: str, start: Callable[[], subprocess.Popen],
                          at_work: Callable[[], bool], doing: tuple[str, str]) -> None:
        """Start a Dagster run and SIGKILL it once ``at_work`` says it is in the middle
        of its work (HubSpot slowed down first, so the kill lands there); note whether
        it did."""
        self.slow_hubspot(True)
        run = start()
        try:
            caught = wait_for(at_work, 90)
        finally:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait(10)
            self.slow_hubspot(False)
        how = f"killed while {doing[0]}" if caught else f"MISSED (the run never {doing[1]})"
        self.notes.append(f"{fault}: {how}")

    def events_pending(self) -> bool:
        return self.db[c.WEBHOOK_EVENTS].find_one(queues.exact({"processed": False}),
                                                  {"_id": 1}) is not None

    def running_run_task(self) -> bool:
        return self.db[c.SYNC_TASKS].find_one({"status": "running", "trigger": "webhook",
                                               "dagster_run_id": {"$ne": None}},
                                              {"_id": 1}) is not None

    def running_push_run_task(self) -> bool:
        return self.db[c.SYNC_TASKS].find_one({"status": "running", "direction": "push",
                                               "dagster_run_id": {"$ne": None}},
                                              {"_id": 1}) is not None

    def platform_edit(self) -> Edit:
        """An admin of a partner moves an open lead to another stage and adds a note,
        through the API (the lead is then pending for the pushback)."""
        db, settings = self.db, self.stack.settings
        partner = self.partners[len(self.edits) % len(self.partners)]
        user = create_user(db, Principal(user_id="system", role=Role.OWNER, partner_id=None),
                           email=f"admin-{uuid.uuid4().hex[:8]}@soak.example.com",
                           password="soak-password-123", role=Role.ADMIN,
                           partner_id=partner.id).id
        headers = {"Authorization": f"Bearer {create_access_token(settings, user)[0]}"}
        stages = ReverseStages(db, partner.id)
        for lead in db[c.LEADS].find({"partner_id": partner.id, "status": "open"}):
            targets = [(canon, stages.stage_for(lead.get("hubspot_pipeline_id"), canon))
                       for canon in EDIT_STAGES if canon != lead.get("stage")]
            targets = [(canon, sid) for canon, sid in targets if sid]
            if lead.get("hubspot_deal_id") and not lead.get("push_pending") and targets:
                break
        else:
            raise RuntimeError(f"{partner.id} has no open lead with a stage to move to")
        canonical, stage_id = targets[0]
        note = f"Soak note {uuid.uuid4().hex[:8]}"
        with httpx.Client(base_url=self.stack.api_url, headers=headers, timeout=30) as api:
            api.patch(f"/v1/leads/{lead['_id']}", json={"stage": canonical}).raise_for_status()
            api.post(f"/v1/leads/{lead['_id']}/notes", json={"body": note}).raise_for_status()
        return Edit(partner, lead["_id"], str(lead["hubspot_deal_id"]), str(stage_id), note)

    def __call__(self, fault: str) -> None:
        s = self.stack
        if fault in ("worker", "api"):
            s.kill(fault)
            s.start(fault)
        elif fault == "worker-mid-apply":
            self.slow_hubspot(True)
            time.sleep(1.0)
            s.kill("worker")
            self.slow_hubspot(False)
            s.start("worker")
        elif fault == "run-mid-apply":
            s.kill("worker")
            # The run must find events to apply: wait for the load to leave some
            # pending (with the worker gone, the next delivery does).
            wait_for(self.events_pending, 30)
            self.kill_run_mid_work(fault, lambda: s.run_job("hubspot_webhook_job", "run.log"),
                                   self.running_run_task, ("applying", "applied"))
            s.start("worker")
        elif fault == "push-run-mid-write":
            s.kill("worker")
            self.edits.append(self.platform_edit())
            self.kill_run_mid_work(fault, lambda: s.run_job("hubspot_pushback_job", "run.log",
                                                            s.partner_ids),
                                   self.running_push_run_task, ("writing", "wrote"))
            s.start("worker")
        elif fault == "daemon":
            s.kill("worker")
            caught = wait_for(self.running_run_task, 90)
            s.kill("daemon")
            how = "its backstop run applying" if caught else "no backstop run applying"
            self.notes.append(f"daemon: killed with {how}")
            s.start("daemon")
            s.start("worker")
        elif fault in ("redis", "mongo"):
            s.kill(fault)
            time.sleep(DOWN_S)
            s.start(fault)


def soak(seed: int = 7, partners: int = 4, gap: float = 6.0, *,
         faults: tuple[str, ...] = FAULTS, buyers: int = 3, clients: int = 3,
         leads: int = 40, daemon: bool = False, long_s: float = 0,
         retention_every: float = 20.0) -> tuple[list[Violation], dict]:
    """Run the soak; returns the violations and the figures."""
    faults = tuple(f for f in faults if daemon or f != "daemon")
    data = Path(tempfile.mkdtemp(prefix="pc-soak-"))
    stack = Stack(data, daemon)
    live: list[LiveClient] = []
    threads: list[threading.Thread] = []
    stop = threading.Event()
    keep = True  # the logs and database of a failed soak stay for a look
    try:
        stack.start("mongo")
        stack.start("redis")
        mongo = f"mongodb://127.0.0.1:{stack.mongo_port}"
        redis_url = f"redis://127.0.0.1:{stack.redis_port}/0"
        sport = devstack.free_port()
        sandbox = f"http://127.0.0.1:{sport}"
        stack.group.start("sandbox", [devstack.venv_bin("uvicorn"), "pc_sandbox.app:app",
                                      "--port", str(sport), "--log-level", "warning"])
        devstack.wait_until(lambda: devstack.http_answers(sandbox + "/health"), 60, "sandbox")
        hubspot = f"{sandbox}/hubspot"
        httpx.put(f"{hubspot}/_sandbox/config", json={"rate_limits": False})
        httpx.put(f"{sandbox}/stripe/_sandbox/config", json={
            "webhook_url": f"{stack.api_url}/v1/webhooks/stripe",
            "retry_delays_ms": STRIPE_RETRIES_MS})
        settings = Settings(mongodb_uri=mongo, redis_url=redis_url,
                            mongodb_db=f"soak_{uuid.uuid4().hex[:8]}",
                            hubspot_base_url=hubspot, stripe_api_base=f"{sandbox}/stripe",
                            mailgun_base_url=f"{sandbox}/mailgun", access_token_minutes=600)
        stack.settings = settings
        db = get_db(settings)
        ensure_indexes(db)
        stack.env = {
            "MONGODB_URI": mongo, "REDIS_URL": redis_url, "MONGODB_DB": settings.mongodb_db,
            "PC_HUBSPOT_BASE_URL": hubspot, "PC_STRIPE_API_BASE": settings.stripe_api_base,
            "PC_MAILGUN_BASE_URL": settings.mailgun_base_url, "PC_API_PORT": str(stack.api_port),
            "PC_HUBSPOT_CLIENT_SECRET": settings.hubspot_client_secret,
            "PC_TOKEN_ENCRYPTION_KEY": settings.token_encryption_key,
            "PC_ACCESS_TOKEN_MINUTES": "600", "PC_WORKER_LEASE_SECONDS": str(LEASE_S),
            "PC_WORKER_POLL_SECONDS": "0.5", "PC_BACKSTOP_AFTER_SECONDS": "3",
            "PC_LOG_FORMAT": "text", "PC_LOG_LEVEL": "WARNING"}
        if long_s:
            stack.env |= {"PC_WEBHOOK_EVENT_RETENTION_DAYS": str(RETENTION_DAYS),
                          "PC_SYNC_TASK_RETENTION_DAYS": str(RETENTION_DAYS)}
        stack.start("api")
        stack.start("worker")
        connected = connect_partners(db, settings, partners, f"soak{seed}")
        stack.partner_ids = [p.id for p in connected]
        if daemon:
            stack.start("daemon")
        market_buyers = seed_market(db, settings, leads, buyers, f"s{seed}")
        for i in range(clients):
            cl = LiveClient(f"client-{i}", stack.api_url, market_buyers[i % buyers].token)
            cl.start()
            live.append(cl)
        ledger, market, tally = Ledger(), MarketLedger(), Tally()
        threads.append(threading.Thread(target=webhook_load,
                                        args=(stack, connected, ledger, stop, seed)))
        threads += [threading.Thread(target=buyer_loop, args=(
            stack.api_url, settings, b, market, stop, seed * 100 + i))
            for i, b in enumerate(market_buyers)]
        for t in threads:
            t.start()
        do = Faults(stack, db, hubspot, connected)
        done: list[str] = []
        sizes: list[dict[str, int]] = []
        retention: list[str] = []
        started = time.monotonic()
        next_prune = started + retention_every
        while True:
            for fault in faults:
                time.sleep(gap)
                if long_s and time.monotonic() >= next_prune:
                    tally.take(db)
                    job = stack.run_job("retention_job", "retention.log")
                    job.wait(300)
                    retention.append((data / "retention.log").read_text().strip()
                                     .splitlines()[-1])
                    sizes.append(db_size(db, data) | {"s": int(time.monotonic() - started)})
                    next_prune = time.monotonic() + retention_every
                do(fault)
                done.append(fault)
                if long_s and time.monotonic() - started >= long_s:
                    break
            if not long_s or time.monotonic() - started >= long_s:
                break
        time.sleep(gap)
        stop.set()
        for t in threads:
            t.join(timeout=60)
        wait_for(lambda: not db[c.WEBHOOK_EVENTS].find_one({"processed": False},
                                                           {"_id": 1}), 120)
        wait_for(lambda: not db[c.SYNC_TASKS].find_one(
            {"status": "running", "trigger": "webhook"}, {"_id": 1}), 60)
        wait_for(lambda: not any((db[c.LEADS].find_one({"_id": e.lead_id}) or {}).get(
            "push_pending") for e in do.edits) and not db[c.SYNC_TASKS].find_one(
            {"status": "running", "direction": "push"}, {"_id": 1}), 60)
        wait_for(lambda: settled(db, market), 120)
        listed = {d["_id"] for d in db[c.LEADS].find({"status": "listed"}, {"_id": 1})}
        wait_for(lambda: not check_live(live, listed), 30)
        violations = check(db, ledger, tally)
        violations += check_edits(db, settings, do.edits)
        violations += [Violation(name, ids) for name, ids in check_market(db, market, settings)]
        violations += [Violation(name, ids) for name, ids in check_live(live, listed)]
        figures = {
            "faults": done, "notes": do.notes, "acknowledged": len(ledger.acknowledged),
            "retries": ledger.retries + market.retries, "deals_renamed": len(ledger.names),
            "tasks_failed": db[c.SYNC_TASKS].count_documents(
                {"status": "failed", "trigger": "webhook"}),
            "reservations": len(market.reservations), "released": len(market.released),
            "paid": len(market.paid),
            "reconnects": sum(cl.connects - 1 for cl in live),
            "recovered": sum(cl.recovered for cl in live),
            "live_events": sum(cl.events for cl in live)}
        if long_s:
            tally.take(db)
            job = stack.run_job("retention_job", "retention.log")
            job.wait(300)
            retention.append((data / "retention.log").read_text().strip().splitlines()[-1])
            sizes.append(db_size(db, data) | {"s": int(time.monotonic() - started)})
            figures |= {"sizes": sizes, "retention": retention,
                        "processed_total": len(tally.processed)}
            # steady from two retention periods on: before that the database is
            # filling up to what retention keeps
            steady = [z for z in sizes if z["s"] >= 2 * RETENTION_DAYS * 86_400]
            figures["baseline"] = steady[0] if len(steady) >= 2 else None
            if len(steady) < 2:
                violations.append(Violation("database-flat", [
                    f"soak too short to judge: run --long {int(5 * RETENTION_DAYS * 86_400)} "
                    "or more"]))
            elif steady[-1]["files"] > steady[0]["files"] * (1 + FLAT_TOLERANCE):
                violations.append(Violation("database-flat", [
                    f"files {steady[0]['files']:,} B at {steady[0]['s']} s → "
                    f"{steady[-1]['files']:,} B at {steady[-1]['s']} s "
                    f"(> +{FLAT_TOLERANCE:.0%})"]))
            failed = [r for r in retention if "succeeded" not in r or "FAILED" in r]
            if failed:
                violations.append(Violation("database-flat", failed))
        keep = bool(violations)
        if keep:
            print(f"logs and database kept in {data}")
        return violations, figures
    finally:
        stop.set()
        for cl in live:
            with contextlib.suppress(Exception):  # already gone
                cl.stop()
        stack.group.stop_all()
        if not keep:
            shutil.rmtree(data, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--partners", type=int, default=4)
    parser.add_argument("--buyers", type=int, default=3)
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--gap", type=float, default=6.0, help="seconds between faults")
    parser.add_argument("--faults", default=",".join(FAULTS))
    parser.add_argument("--daemon", action="store_true",
                        help="start dagster-daemon (needed for the daemon fault)")
    parser.add_argument("--long", type=float, default=0, metavar="SECONDS",
                        help="cycle the faults this long with retention running; check "
                             "the database stays flat")
    parser.add_argument("--retention-every", type=float, default=20.0)
    quick_flag(parser, partners=2, gap=4.0, buyers=2, clients=2)
    args = parse(parser)
    load = os.getloadavg()
    violations, figures = soak(args.seed, args.partners, args.gap,
                               faults=tuple(args.faults.split(",")), buyers=args.buyers,
                               clients=args.clients, daemon=args.daemon, long_s=args.long,
                               retention_every=args.retention_every)
    print(f"faults: {', '.join(figures['faults'])}")
    for note in figures["notes"]:
        print(f"  {note}")
    print(f"webhooks acknowledged {figures['acknowledged']} (deals renamed "
          f"{figures['deals_renamed']}), webhook tasks failed by a kill "
          f"{figures['tasks_failed']}; reservations {figures['reservations']} (released "
          f"{figures['released']}, paid {figures['paid']}); requests retried while a "
          f"process was down {figures['retries']}; live clients reconnected "
          f"{figures['reconnects']} times, {figures['live_events']} events, "
          f"{figures['recovered']} missed changes refetched")
    if "sizes" in figures:
        for i, size in enumerate(figures["sizes"]):
            print(f"  database after prune {i + 1} ({size['s']} s): files "
                  f"{size['files']:,} B, dbStats data {size['data']:,} B, webhook events "
                  f"{size['events']}, sync tasks {size['tasks']}")
        print(f"  webhook events processed in all {figures['processed_total']}; retention "
              f"runs: {figures['retention'][-1]}")
    print(f"load average (1/5/15 min) at start {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}, "
          f"at end {'/'.join(f'{x:.1f}' for x in os.getloadavg())}")
    for line in violations:
        print(f"VIOLATED {line}")
    if not violations:
        print("all invariants hold: webhook-applied, applied-once, lead-matches-hubspot, "
              "sync-history, edit-pushed-once, purchase-completed-once, no-double-sale, "
              "no-double-reservation, no-lost-reservation, live-clients-caught-up"
              + (", database-flat" if "sizes" in figures else ""))
    figure(BENCH, "acknowledged webhooks", figures["acknowledged"])
    figure(BENCH, "paid purchases", figures["paid"])
    figure(BENCH, "invariants violated", len(violations), equals=0)


if __name__ == "__main__":
    main()
