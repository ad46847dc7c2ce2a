"""Scale-out: 1 → 2 → 3 API processes against one Redis and one MongoDB, with Socket.IO
clients spread over them. Does HTTP throughput hold, and does an event published once
still reach every client, whichever process it is connected to, as processes are added?

    python bench/scaleout_bench.py [--clients 90] [--rounds 5] [--seconds 8] [--quick]

For each step (a new uvicorn process, one worker, is added to the ones running):

1. ``--clients`` python-socketio clients (WebSocket transport, in 3 client processes)
   connect round-robin to the running API processes, as an ingress would spread them;
2. ``--rounds`` events are published from another process through ``pc_core.events``
   (the Redis manager every API process listens to) to the ``marketplace`` room; each
   client records arrival time: delivered / expected, and p50 / p95 latency;
3. ``--concurrency`` HTTP clients read ``GET /v1/leads?limit=20`` round-robin over the
   processes for ``--seconds``: requests/s, p50 / p95, errors.

The store is nx-27017 (embedded, single process) and everything shares this machine's
cores, so requests/s is bounded by the machine, not by the API processes: the figure to
watch is that adding processes costs nothing (throughput and delivery hold), which is
what lets Kubernetes add API pods behind the ingress (docs/capacity.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from _figures import figure, parse, quick_flag
from _stack import emit_rounds, pct

from pc_core.settings import Settings
from pc_dev import devstack

EVENT = "bench-scaleout"
ROOT = Path(__file__).resolve().parents[1]
CLIENT_PROCS = 3


# -- Socket.IO client processes ------------------------------------------------------------

def client_main(urls: list[str], token: str, first: int, count: int, rounds: int,
                timeout: float) -> None:
    """Connect ``count`` clients (global indexes ``first``...), client i to urls[i % n];
    print "ready", then the latencies per round and per API process as JSON."""
    import socketio

    latencies: list[list[tuple[int, float]]] = [[] for _ in range(rounds)]
    lock = threading.Lock()
    done = threading.Event()
    clients = []
    expected = count * rounds
    received = [0]

    for index in range(first, first + count):
        process = index % len(urls)
        client = socketio.Client(reconnection=False)

        def on_event(data, process=process):
            now = time.time()
            with lock:
                latencies[data["round"]].append((process, (now - data["sent_at"]) * 1000))
                received[0] += 1
                if received[0] == expected:
                    done.set()

        client.on(EVENT, on_event)
        client.connect(urls[process], auth={"token": token}, transports=["websocket"],
                       wait_timeout=30)
        clients.append(client)
    print("ready", flush=True)
    done.wait(timeout)
    print(json.dumps(latencies), flush=True)
    for client in clients:
        threading.Thread(target=client.disconnect, daemon=True).start()
    time.sleep(0.5)




# -- HTTP load ------------------------------------------------------------------------------

async def http_load(urls: list[str], token: str, seconds: float, concurrency: int) -> dict:
    import httpx

    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {token}"}

    async def worker(n: int, client: httpx.AsyncClient) -> None:
        nonlocal errors
        i = n
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                r = await client.get(f"{urls[i % len(urls)]}/v1/leads?limit=20", headers=headers)
                if r.status_code != 200:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            latencies.append((time.perf_counter() - started) * 1000)
            i += 1

    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(
            max_connections=concurrency * 2)) as client:
        await asyncio.gather(*(worker(n, client) for n in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {"requests": len(latencies), "errors": errors, "rps": len(latencies) / elapsed,
            "p50": pct(latencies, 50), "p95": pct(latencies, 95)}


# -- the driver -----------------------------------------------------------------------------

def seed(settings: Settings, leads: int) -> str:
    """A partner with ``leads`` leads and a user; that user's access token."""
    from pc_core.access import Principal, Role
    from pc_core.db import get_db
    from pc_core.identity.partners import create_partner
    from pc_core.identity.users import create_user
    from pc_core.leads.inventory import create_lead
    from pc_core.models.leads import LeadCreate
    from pc_core.security.jwt_tokens import create_access_token
    from pc_core.store.indexes import ensure_indexes

    db = get_db(settings)
    ensure_indexes(db)
    system = Principal(user_id="system", role=Role.OWNER, partner_id=None)
    partner = create_partner(db, system, name=f"Scale {uuid.uuid4().hex[:6]}").id
    for n in range(leads):
        create_lead(db, system, LeadCreate(title=f"Lead {n}", partner_id=partner))
    user = create_user(db, system, email=f"scale-{uuid.uuid4().hex[:8]}@example.com",
                       password="bench-password-123", role=Role.USER, partner_id=partner)
    long_lived = settings.model_copy(update={"access_token_minutes": 120})
    return create_access_token(long_lived, user.id)[0]


def start_api(group: devstack.ProcessGroup, env: dict[str, str]) -> str:
    port = devstack.free_port()
    proc = group.start("api", [
        devstack.venv_bin("uvicorn"), "--factory", "pc_api.main:app_factory", "--host",
        "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
        "--timeout-graceful-shutdown", "2"], env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    devstack.wait_until(lambda: devstack.http_answers(url + "/health"), 60, "API", proc)
    return url


def wait_subscribed(redis_url: str, processes: int) -> None:
    """Every API process listens on the event channel before clients count on it."""
    import redis

    from pc_core import events

    r = redis.Redis.from_url(redis_url)
    try:
        devstack.wait_until(
            lambda: dict(r.pubsub_numsub(events.CHANNEL)).get(events.CHANNEL.encode(), 0)
            >= processes, 30, "Socket.IO subscriptions")
    finally:
        r.close()


def step(urls: list[str], token: str, env: dict[str, str], args) -> dict:
    shares = [args.clients // CLIENT_PROCS + (1 if i < args.clients % CLIENT_PROCS else 0)
              for i in range(CLIENT_PROCS)]
    firsts = [sum(shares[:i]) for i in range(CLIENT_PROCS)]
    started = time.perf_counter()
    procs = [subprocess.Popen(
        [sys.executable, __file__, "--rounds", str(args.rounds), "--client",
         json.dumps(urls), token, str(first), str(count)],
        stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)
        for first, count in zip(firsts, shares, strict=True) if count]
    for proc in procs:
        if proc.stdout.readline().strip() != "ready":
            raise SystemExit("a client process could not connect its clients")
    connect_s = time.perf_counter() - started
    time.sleep(1.0)
    emit_rounds(env, EVENT, args.rounds, args.gap)
    per_round: list[list[tuple[int, float]]] = [[] for _ in range(args.rounds)]
    for proc in procs:
        out, _ = proc.communicate(timeout=args.rounds * args.gap + 90)
        for i, values in enumerate(json.loads(out.strip().splitlines()[-1])):
            per_round[i].extend((p, v) for p, v in values)
    http = asyncio.run(http_load(urls, token, args.seconds, args.concurrency))
    every = [v for values in per_round for _, v in values]
    by_process = [sum(1 for values in per_round for p, _ in values if p == n)
                  for n in range(len(urls))]
    return {"processes": len(urls), "connect_s": connect_s,
            "delivered": len(every), "expected": args.clients * args.rounds,
            "by_process": by_process,
            "p50": pct(every, 50) if every else None, "p95": pct(every, 95) if every else None,
            "http": http}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=90)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--gap", type=float, default=0.5, help="seconds between events")
    parser.add_argument("--seconds", type=float, default=8.0, help="HTTP load per step")
    parser.add_argument("--concurrency", type=int, default=12)
    parser.add_argument("--leads", type=int, default=200)
    parser.add_argument("--max-processes", type=int, default=3)
    parser.add_argument("--client", nargs=4, metavar=("URLS", "TOKEN", "FIRST", "COUNT"),
                        help=argparse.SUPPRESS)
    quick_flag(parser, clients=30, rounds=3, seconds=3.0)
    args = parse(parser)
    if args.client:
        urls, token, first, count = args.client
        client_main(json.loads(urls), token, int(first), int(count), args.rounds,
                    timeout=args.rounds * args.gap + 60)
        return

    group = devstack.ProcessGroup()
    results = []
    try:
        mongo = devstack.start_nx(group, devstack.free_port(), "memory", None)
        redis_url = devstack.start_redis(group, devstack.free_port(), None, None)
        settings = Settings(mongodb_uri=mongo, redis_url=redis_url,
                            mongodb_db=f"bench_{uuid.uuid4().hex[:8]}")
        token = seed(settings, args.leads)
        env = {**os.environ, "MONGODB_URI": mongo, "REDIS_URL": redis_url,
               "MONGODB_DB": settings.mongodb_db, "PC_ENV": "development"}
        urls: list[str] = []
        for _ in range(args.max_processes):
            urls.append(start_api(group, env))
            wait_subscribed(redis_url, len(urls))
            result = step(urls, token, env, args)
            results.append(result)
            h = result["http"]
            print(f"{result['processes']} API process(es): {args.clients} Socket.IO clients "
                  f"(per process {[args.clients // len(urls)] * len(urls)}) connected in "
                  f"{result['connect_s']:.1f} s; events delivered {result['delivered']}/"
                  f"{result['expected']} (by process {result['by_process']}), "
                  f"p50 {result['p50']:.1f} ms, p95 {result['p95']:.1f} ms; "
                  f"HTTP {h['rps']:.0f} req/s, p50 {h['p50']:.1f} ms, p95 {h['p95']:.1f} ms, "
                  f"errors {h['errors']}", flush=True)
    finally:
        group.stop_all()

    name = "API scale-out (one Redis, one MongoDB)"
    print()
    print(f"{'processes':>9} | {'delivered':>11} | {'delivery p50':>12} | {'delivery p95':>12} | "
          f"{'HTTP req/s':>10} | {'HTTP p95':>9} | errors")
    for r in results:
        n, h = r["processes"], r["http"]
        print(f"{n:>9} | {r['delivered']:>5}/{r['expected']:<5} | {r['p50']:>9.1f} ms | "
              f"{r['p95']:>9.1f} ms | {h['rps']:>10.0f} | {h['p95']:>6.1f} ms | {h['errors']}")
        figure(name, f"{n} process(es): events delivered", r["delivered"], equals=r["expected"])
        figure(name, f"{n} process(es): delivery p95", r["p95"], "ms", below=500)
        figure(name, f"{n} process(es): HTTP throughput", round(h["rps"], 1), "req/s")
        figure(name, f"{n} process(es): HTTP errors", h["errors"], equals=0)
    if len(results) > 1:
        ratio = results[-1]["http"]["rps"] / results[0]["http"]["rps"]
        figure(name, f"throughput {len(results)} vs 1 process(es)", round(ratio, 2), "x",
               above=0.8)
        print(f"throughput with {len(results)} processes is {ratio:.2f}x that of one "
              f"(target: holds, > 0.8x, on a machine whose cores all processes share)")


if __name__ == "__main__":
    main()
