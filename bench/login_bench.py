"""POST /v1/auth/login throughput on one uvicorn worker. argon2id verification is
deliberately expensive (it is what makes stolen hashes slow to crack), so this is
bounded by CPU, not by the platform.

    .venv/bin/python bench/login_bench.py [--logins 200] [--concurrency 4] [--quick]
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from _figures import figure, parse, quick_flag
from _stack import pct, running_stack, server_timing, summary

from pc_core.access import Principal, Role
from pc_core.db import get_db
from pc_core.identity.partners import create_partner
from pc_core.identity.users import create_user
from pc_core.store.indexes import ensure_indexes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--logins", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=4)
    quick_flag(ap, logins=40)
    args = parse(ap)
    with running_stack() as stack:
        db = get_db(stack.settings)
        ensure_indexes(db)
        system = Principal("bench", Role.OWNER, None)
        partner = create_partner(db, system, name="Bench").id
        create_user(db, system, email="login@example.com", password="bench-password",
                    role=Role.USER, partner_id=partner)
        body = {"email": "login@example.com", "password": "bench-password"}
        latencies: list[float] = []
        dbt: list[float] = []

        def one(http: httpx.Client) -> None:
            s = time.perf_counter()
            r = http.post("/v1/auth/login", json=body)
            latencies.append((time.perf_counter() - s) * 1000)
            assert r.status_code == 200, r.text
            dbt.append(server_timing(r.headers["server-timing"])["db"])

        clients = [httpx.Client(base_url=stack.api_url) for _ in range(args.concurrency)]
        one(clients[0])
        latencies.clear()
        dbt.clear()
        started = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            list(pool.map(lambda i: one(clients[i % args.concurrency]), range(args.logins)))
        elapsed = time.perf_counter() - started
        print(f"{args.logins} logins, {args.concurrency} concurrent clients, 1 uvicorn worker")
        print(f"logins/s                     {args.logins / elapsed:.1f}")
        print(summary("login latency", latencies))
        print(summary("database time per login", dbt))
        name = f"logins, {args.concurrency} concurrent clients"
        figure(name, "logins/s", args.logins / elapsed, "/s")
        figure(name, "latency p50", pct(latencies, 50), "ms")
        figure(name, "latency p99", pct(latencies, 99), "ms")


if __name__ == "__main__":
    main()
