"""Marketplace benchmarks on one uvicorn worker against nx-27017:

1. GET /v1/marketplace/listings?limit=50 over 100,000 listed leads of 10 sellers
   (first and deep pages, plus filtered pages): client-observed latency, requests/s,
   and the server's own split from Server-Timing (MongoDB time vs the platform's).
2. A race of 1,000 reservation attempts by 100 buyer partners over 100 leads,
   32 concurrent clients: double reservations (must be 0) and reservations/s.

    .venv/bin/python bench/marketplace_bench.py [--leads 100000] [--requests 1000] [--quick]
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
from _figures import figure, parse, quick_flag
from _stack import pct, report_split, running_stack, server_timing, summary

from pc_core import collections as c
from pc_core.access import Principal, Role
from pc_core.db import get_db
from pc_core.identity.partners import create_partner
from pc_core.identity.users import create_user
from pc_core.leads.inventory import build_lead_doc
from pc_core.models.leads import CompanySize, LeadFields
from pc_core.security.jwt_tokens import create_access_token
from pc_core.stages import LeadStatus, Stage
from pc_core.store.indexes import ensure_indexes
from pc_core.timeutil import utcnow

SYSTEM = Principal("bench", Role.OWNER, None)
INDUSTRIES = ["SaaS", "Retail", "Fintech", "Health", "Manufacturing", "Logistics"]
LOCATIONS = ["US", "DE", "UK", "FR", "NL", "ES", "PL", "SE"]


def load(db, sellers: list[str], n: int, offset: int = 0) -> list[str]:
    rng = random.Random(offset + 1)
    base = utcnow() - timedelta(days=365)
    batch, ids = [], []
    for i in range(n):
        fields = LeadFields.model_construct(
            title=f"Lead {i}", company=f"Company {i % 997}", contact_name="Someone",
            contact_email=f"c{i}@example.com", contact_phone=None,
            company_size=rng.choice(list(CompanySize)), industry=rng.choice(INDUSTRIES),
            location=rng.choice(LOCATIONS), budget_cents=rng.randrange(0, 10**7),
            amount_cents=None, price_cents=rng.choice([None, rng.randrange(1000, 10**6)]),
            stage=rng.choice(list(Stage)), external_id=None,
        )
        doc = build_lead_doc(sellers[i % len(sellers)], fields, source="bench",
                             now=base + timedelta(seconds=(offset + i) * 300),
                             status=LeadStatus.LISTED)
        batch.append(doc)
        ids.append(doc["_id"])
        if len(batch) == 1000:
            db[c.LEADS].insert_many(batch, ordered=False)
            batch = []
    if batch:
        db[c.LEADS].insert_many(batch, ordered=False)
    return ids


def token_headers(settings, user_id: str) -> dict[str, str]:
    token, _ = create_access_token(settings, user_id)
    return {"Authorization": f"Bearer {token}"}


def listings_bench(stack, headers, n_requests: int, n_leads: int) -> None:
    http = httpx.Client(base_url=stack.api_url, timeout=30)
    for _ in range(20):  # warm-up
        http.get("/v1/marketplace/listings", params={"limit": 50}, headers=headers)
    total, app, dbt = [], [], []
    cursor = None
    rng = random.Random(7)
    started = time.perf_counter()
    for i in range(n_requests):
        params: dict = {"limit": 50}
        if i % 4 == 3:  # a quarter of the requests filter on one indexed field
            key = rng.choice(["industry", "location", "company_size"])
            params[key] = {"industry": rng.choice(INDUSTRIES),
                           "location": rng.choice(LOCATIONS),
                           "company_size": rng.choice(list(CompanySize)).value}[key]
        elif cursor and i % 50:
            params["cursor"] = cursor
        s = time.perf_counter()
        r = http.get("/v1/marketplace/listings", params=params, headers=headers)
        total.append((time.perf_counter() - s) * 1000)
        r.raise_for_status()
        body = r.json()
        assert len(body["items"]) == 50, len(body["items"])
        if "industry" not in params and "location" not in params and \
                "company_size" not in params:
            cursor = body["next_cursor"]
        timing = server_timing(r.headers["server-timing"])
        app.append(timing["app"])
        dbt.append(timing["db"])
    elapsed = time.perf_counter() - started
    report_split(f"\nGET /v1/marketplace/listings?limit=50 over {n_leads:,} listed leads, "
                 f"{n_requests} sequential requests (1 in 4 filtered), 1 uvicorn worker, "
                 "nx-27017", total, app, dbt, elapsed,
                 benchmark=f"listings, {n_leads:,} listed leads")

def race_bench(stack, db, seller: str, attempts: int, n_leads: int, n_buyers: int) -> None:
    lead_ids = load(db, [seller], n_leads, offset=10_000_000)
    buyers = []
    for b in range(n_buyers):
        partner = create_partner(db, SYSTEM, name=f"Race buyer {b}").id
        user = create_user(db, SYSTEM, email=f"race{b}@example.com", password="bench-password",
                           role=Role.ADMIN, partner_id=partner)
        buyers.append(token_headers(stack.settings, user.id))
    rng = random.Random(3)
    plan = [(buyers[i % n_buyers], rng.choice(lead_ids)) for i in range(attempts)]
    local = __import__("threading").local()

    def attempt(item):
        headers, lead_id = item
        http = getattr(local, "http", None)
        if http is None:
            http = local.http = httpx.Client(base_url=stack.api_url, timeout=60)
        s = time.perf_counter()
        r = http.post("/v1/marketplace/reservations", json={"lead_id": lead_id},
                      headers=headers)
        return r.status_code, (time.perf_counter() - s) * 1000

    started = time.perf_counter()
    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(attempt, plan))
    elapsed = time.perf_counter() - started
    codes = Counter(code for code, _ in results)
    per_lead = Counter(
        d["lead_id"] for d in db[c.RESERVATIONS].find({"lead_id": {"$in": lead_ids}},
                                                       {"lead_id": 1})
    )
    doubles = sum(n - 1 for n in per_lead.values() if n > 1)
    held = {d["_id"]: d.get("reservation") for d in db[c.LEADS].find(
        {"_id": {"$in": lead_ids}}, {"reservation": 1, "status": 1})}
    mismatched = sum(1 for lead, n in per_lead.items() if n and not held.get(lead))
    print(f"\nreservation race: {attempts:,} attempts by {n_buyers} buyer partners over "
          f"{n_leads} leads, 32 concurrent clients, 1 uvicorn worker")
    print(f"answers: {dict(sorted(codes.items()))}")
    print(f"leads reserved {len(per_lead)}, reservations written {sum(per_lead.values())}, "
          f"double reservations {doubles} (must be 0), lead/reservation mismatches "
          f"{mismatched}")
    print(summary("attempt latency", [ms for _, ms in results]))
    print(f"attempts/s {attempts / elapsed:.0f}; successful reservations/s "
          f"{codes.get(201, 0) / elapsed:.0f}")
    name = f"reservation race, {attempts:,} attempts, 32 clients"
    figure(name, "double reservations", doubles, equals=0)
    figure(name, "lead/reservation mismatches", mismatched, equals=0)
    figure(name, "attempts/s", attempts / elapsed, "/s")
    figure(name, "attempt latency p99", pct([ms for _, ms in results], 99), "ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--leads", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--race-attempts", type=int, default=1000)
    quick_flag(ap, leads=10_000, requests=200, race_attempts=200)
    args = parse(ap)
    with running_stack() as stack:
        db = get_db(stack.settings)
        ensure_indexes(db)
        sellers = [create_partner(db, SYSTEM, name=f"Seller {i}").id for i in range(10)]
        buyer = create_partner(db, SYSTEM, name="Bench Buyer").id
        user = create_user(db, SYSTEM, email="bench@example.com", password="bench-password",
                           role=Role.USER, partner_id=buyer)
        t0 = time.perf_counter()
        load(db, sellers, args.leads)
        print(f"loaded {args.leads:,} listed leads in {time.perf_counter() - t0:.1f}s")
        listings_bench(stack, token_headers(stack.settings, user.id), args.requests,
                       args.leads)
        race_bench(stack, db, sellers[0], args.race_attempts, 100, 100)


if __name__ == "__main__":
    main()
