"""GET /v1/leads?limit=50&status=... over 100,000 leads of one partner, on one uvicorn
worker against nx-27017. Prints client-side latency, requests/s, and the server's own
split (Server-Timing: time in MongoDB vs the platform's own time).

    .venv/bin/python bench/leads_list_bench.py [--leads 100000] [--requests 1000] [--quick]
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import timedelta

import httpx
from _figures import parse, quick_flag
from _stack import report_split, running_stack, server_timing

from pc_core import collections as c
from pc_core.access import Principal, Role
from pc_core.db import get_db
from pc_core.identity.partners import create_partner
from pc_core.identity.users import create_user
from pc_core.leads.inventory import build_lead_doc
from pc_core.models.leads import CompanySize, LeadFields
from pc_core.stages import LeadStatus, Stage
from pc_core.store.indexes import ensure_indexes
from pc_core.timeutil import utcnow

SYSTEM = Principal("bench", Role.OWNER, None)


def load(db, partner_id: str, n: int) -> None:
    rng = random.Random(1)
    base = utcnow() - timedelta(days=365)
    batch = []
    statuses = [LeadStatus.OPEN, LeadStatus.LISTED, LeadStatus.ARCHIVED, LeadStatus.SOLD]
    for i in range(n):
        fields = LeadFields.model_construct(
            title=f"Lead {i}", company=f"Company {i % 997}", contact_name=None,
            contact_email=f"c{i}@example.com", contact_phone=None,
            company_size=rng.choice(list(CompanySize)), industry="SaaS", location="US",
            budget_cents=None, amount_cents=rng.randrange(100, 10**7), price_cents=None,
            stage=rng.choice(list(Stage)), external_id=None,
        )
        doc = build_lead_doc(partner_id, fields, source="bench",
                             now=base + timedelta(seconds=i * 300))
        doc["status"] = rng.choice(statuses).value
        batch.append(doc)
        if len(batch) == 1000:
            db[c.LEADS].insert_many(batch, ordered=False)
            batch = []
    if batch:
        db[c.LEADS].insert_many(batch, ordered=False)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--leads", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=1000)
    quick_flag(ap, leads=20_000, requests=200)
    args = parse(ap)
    with running_stack() as stack:
        db = get_db(stack.settings)
        ensure_indexes(db)
        partner = create_partner(db, SYSTEM, name="Bench Agency").id
        create_user(db, SYSTEM, email="bench@example.com", password="bench-password",
                    role=Role.USER, partner_id=partner)
        t0 = time.perf_counter()
        load(db, partner, args.leads)
        print(f"loaded {args.leads:,} leads in {time.perf_counter() - t0:.1f}s")
        http = httpx.Client(base_url=stack.api_url, timeout=30)
        token = http.post("/v1/auth/login", json={"email": "bench@example.com",
                                                   "password": "bench-password"}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        for _ in range(20):  # warm-up
            http.get("/v1/leads", params={"limit": 50, "status": "listed"}, headers=headers)
        total, app, dbt = [], [], []
        cursor = None
        started = time.perf_counter()
        for i in range(args.requests):
            # Walk pages for a while, then start over: first pages and deep pages.
            params = {"limit": 50, "status": "listed"}
            if cursor and i % 50:
                params["cursor"] = cursor
            s = time.perf_counter()
            r = http.get("/v1/leads", params=params, headers=headers)
            total.append((time.perf_counter() - s) * 1000)
            r.raise_for_status()
            body = r.json()
            assert len(body["items"]) == 50
            cursor = body["next_cursor"]
            timing = server_timing(r.headers["server-timing"])
            app.append(timing["app"])
            dbt.append(timing["db"])
        elapsed = time.perf_counter() - started
        report_split(f"GET /v1/leads?limit=50&status=listed over {args.leads:,} leads, "
                     f"{args.requests} requests, 1 uvicorn worker, nx-27017",
                     total, app, dbt, elapsed, benchmark=f"lead list, {args.leads:,} leads")

if __name__ == "__main__":
    main()
