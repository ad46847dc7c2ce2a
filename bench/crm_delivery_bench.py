"""Sale → buyer's CRM: how long from a purchase completing to its deal being in the
buyer's HubSpot portal, with the processes ``pc run`` and the deployment run: the
standing worker (``pc worker``, which delivers a sale as soon as it is announced) and
a Dagster daemon whose ``crm_delivery_sensor`` is the backstop (it launches a
``crm_delivery_job`` run for a sale the worker left undelivered for
``backstop_after_seconds``).

Set-up: nx-27017, redis-server and the vendor sandbox (Stripe, HubSpot, Mailgun) on
free ports; a seller and ``--buyers`` buyer partners, each buyer connected to its own
sandbox portal. Each sale is made through pc_core as the API makes it (reservation,
purchase with a sandbox PaymentIntent, the intent succeeded in the sandbox) and
completed by ``fulfilment.payment_succeeded`` (what the Stripe webhook runs); the
clock starts when that returns and stops when the deal is readable in the buyer's
portal (polled every 100 ms).

Phases, worker running: the first sale, ``--rounds`` single sales a few seconds apart
(the steady state), then a burst of ``--burst`` sales at once across the buyers. Then
the worker is stopped and ``--backstop`` sales are made: the daemon's backstop run
delivers them (what a user waits when the worker is down: the backstop threshold, a
sensor tick and a run's start). Target for every phase: under 60 s.

    .venv/bin/python bench/crm_delivery_bench.py [--rounds 10] [--burst 20] [--buyers 3]
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from _dagster import attach_sandbox_portal, start_daemon, start_worker
from _figures import figure, parse, quick_flag
from _stack import pct

from pc_core import collections as c
from pc_core.access import Principal, Role
from pc_core.db import get_db
from pc_core.identity.partners import create_partner
from pc_core.leads.inventory import build_lead_doc
from pc_core.marketplace import fulfilment, purchases, reservations
from pc_core.models.leads import LeadFields
from pc_core.settings import Settings
from pc_core.stages import LeadStatus
from pc_core.store.indexes import ensure_indexes
from pc_core.timeutil import utcnow
from pc_dev import devstack

REPO = Path(__file__).resolve().parents[1]
SYSTEM = Principal(user_id="system", role=Role.OWNER, partner_id=None)


def sell(db, settings: Settings, seller: str, buyer: str, sandbox: str, n: int) -> str:
    """One sale through pc_core, completed; returns the lead id."""
    fields = LeadFields(title=f"Bench lead {n}", company="Acme", contact_name="Ada Lovelace",
                        contact_email=f"ada.{n}.{uuid.uuid4().hex[:6]}@acme.example.com",
                        industry="SaaS", location="US", company_size="51-200",
                        amount_cents=1_000_000, price_cents=5_000)
    lead = build_lead_doc(seller, fields, source="bench", now=utcnow(),
                          status=LeadStatus.LISTED)
    db[c.LEADS].insert_one(lead)
    actor = Principal(user_id=f"bench-{buyer}", role=Role.ADMIN, partner_id=buyer)
    reservation = reservations.reserve(db, settings, actor, lead["_id"])
    purchase = purchases.create_purchase(db, settings, actor, reservation.id)
    intent = purchase.payment_intent_id
    httpx.post(f"{sandbox}/stripe/_sandbox/payment_intents/{intent}/succeed",
               timeout=10).raise_for_status()
    result = fulfilment.payment_succeeded(db, settings, {
        "id": intent, "amount_received": purchase.amount_cents,
        "metadata": {"purchase_id": purchase.id}})
    assert result == "completed", result
    return lead["_id"]


def wait_delivered(db, settings: Settings, started: dict[str, float],
                   timeout: float = 180) -> dict[str, float]:
    """Seconds from each sale's completion to its deal being readable in the buyer's
    portal."""
    pending = dict(started)
    done: dict[str, float] = {}
    tokens: dict[str, str] = {}
    hubspot = settings.hubspot_base_url
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for lead in db[c.LEADS].find({"_id": {"$in": list(pending)}},
                                     {"buyer_hubspot_deal_id": 1, "buyer_partner_id": 1}):
            deal_id = lead.get("buyer_hubspot_deal_id")
            if not deal_id:
                continue
            buyer = lead["buyer_partner_id"]
            if buyer not in tokens:
                portal = db[c.PARTNERS].find_one({"_id": buyer})["hubspot"]["portal_id"]
                tokens[buyer] = httpx.post(
                    f"{hubspot}/_sandbox/portals/{portal}/tokens").json()["access_token"]
            r = httpx.get(f"{hubspot}/crm/v3/objects/deals/{deal_id}",
                          headers={"Authorization": f"Bearer {tokens[buyer]}"})
            if r.status_code == 200:
                done[lead["_id"]] = time.monotonic() - pending.pop(lead["_id"])
        time.sleep(0.1)
    if pending:
        print(f"  {len(pending)} sales not delivered within {timeout:.0f} s")
    return done


def report(label: str, delays: list[float], expected: int) -> None:
    bench = f"sale -> deal in buyer's CRM: {label}"
    if delays:
        print(f"{label:<44} n={len(delays):3d}  p50 {pct(delays, 50):5.1f} s  "
              f"p95 {pct(delays, 95):5.1f} s  max {max(delays):5.1f} s  "
              f"(target < 60 s: {'met' if max(delays) < 60 else 'MISSED'})")
        figure(bench, "p50", round(pct(delays, 50), 1), "s")
        figure(bench, "max", round(max(delays), 1), "s", below=60)
    figure(bench, "sales not delivered", expected - len(delays), equals=0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--buyers", type=int, default=3)
    parser.add_argument("--backstop", type=int, default=3,
                        help="sales made while the worker is stopped")
    parser.add_argument("--gap", type=float, default=3.0, help="seconds between singles")
    parser.add_argument("--dagster-home", default=None, help="kept afterwards (logs)")
    quick_flag(parser, rounds=3, burst=6, buyers=2, backstop=2)
    args = parse(parser)
    # A SIGTERM (e.g. from ``timeout``) still stops the daemon and its runs below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    group = devstack.ProcessGroup()
    try:
        mongo = devstack.start_nx(group, devstack.free_port(), "memory", None)
        redis_url = devstack.start_redis(group, devstack.free_port(), None, None)
        port = devstack.free_port()
        sandbox_proc = group.start("sandbox", [devstack.venv_bin("uvicorn"),
                                               "pc_sandbox.app:app", "--port", str(port),
                                               "--log-level", "warning"], cwd=REPO)
        sandbox = f"http://127.0.0.1:{port}"
        devstack.wait_until(lambda: devstack.http_answers(sandbox + "/health"), 60,
                            "sandbox", sandbox_proc)
        httpx.put(f"{sandbox}/hubspot/_sandbox/config", json={"rate_limits": False})
        settings = Settings(mongodb_uri=mongo, redis_url=redis_url,
                            mongodb_db=f"bench_{uuid.uuid4().hex[:8]}",
                            hubspot_base_url=f"{sandbox}/hubspot",
                            stripe_api_base=f"{sandbox}/stripe",
                            mailgun_base_url=f"{sandbox}/mailgun",
                            max_active_reservations=1000)
        db = get_db(settings)
        ensure_indexes(db)
        seller = create_partner(db, SYSTEM, name="Bench Seller").id
        buyers = [create_partner(db, SYSTEM, name=f"Bench Buyer {i}").id
                  for i in range(args.buyers)]
        for i, buyer in enumerate(buyers):
            attach_sandbox_portal(db, settings, buyer, contacts=50, deals=50, seed=40 + i)
        home = Path(args.dagster_home or tempfile.mkdtemp(prefix="pc-dagster-"))
        home.mkdir(parents=True, exist_ok=True)
        start_daemon(group, settings, home, buyers)
        worker = start_worker(group, settings, home)
        print(f"purchase completed -> deal in the buyer's portal "
              f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
              f"load average {os.getloadavg()[0]:.1f} at start)")
        warm = sell(db, settings, seller, buyers[0], sandbox, 0)
        first = wait_delivered(db, settings, {warm: time.monotonic()}, timeout=300)
        report("first sale after the worker started", list(first.values()), 1)

        singles: dict[str, float] = {}
        for n in range(args.rounds):
            lead = sell(db, settings, seller, buyers[n % len(buyers)], sandbox, 100 + n)
            singles.update(wait_delivered(db, settings, {lead: time.monotonic()}))
            time.sleep(args.gap)
        report(f"single sales ({args.gap:.0f} s apart)", list(singles.values()),
               args.rounds)

        runs_before = db[c.SYNC_TASKS].count_documents({"trigger": "sale"})
        started: dict[str, float] = {}
        for n in range(args.burst):
            lead = sell(db, settings, seller, buyers[n % len(buyers)], sandbox, 1000 + n)
            started[lead] = time.monotonic()
        burst = wait_delivered(db, settings, started)
        report(f"burst of {args.burst} sales over {len(buyers)} buyers",
               list(burst.values()), args.burst)
        tasks = db[c.SYNC_TASKS].count_documents({"trigger": "sale"}) - runs_before
        print(f"  buyer sync tasks for the burst: {tasks}")

        worker.popen.terminate()
        worker.popen.wait(30)
        stranded: dict[str, float] = {}
        for n in range(args.backstop):
            lead = sell(db, settings, seller, buyers[n % len(buyers)], sandbox, 5000 + n)
            stranded[lead] = time.monotonic()
        backstop = wait_delivered(db, settings, stranded)
        report(f"worker stopped: backstop run ({settings.backstop_after_seconds:.0f} s "
               "threshold)", list(backstop.values()), args.backstop)
        print(f"load average at the end: {os.getloadavg()[0]:.1f}; daemon and worker "
              f"logs: {home}/daemon.log, {home}/worker.log")
    finally:
        group.stop_all()


if __name__ == "__main__":
    main()
