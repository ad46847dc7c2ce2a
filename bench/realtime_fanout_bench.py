"""Socket.IO fan-out: one event, published through ``pc_core.events`` from another
process, delivered to N connected clients by one uvicorn worker.

    python bench/realtime_fanout_bench.py [--clients 500] [--procs 4] [--rounds 5] [--quick]

Each round publishes one event carrying its send time (``time.time()``) to the
``marketplace`` room; every client records when it arrived. Printed: per round and
overall, how many clients received it and p50 / p95 / max delivery latency
(publish in the emitter process → received in the client). Target: p95 < 500 ms.

The clients speak the Socket.IO 4 / Engine.IO 4 wire protocol over WebSocket (the
transport a browser ends up on), through the ``websockets`` package in asyncio:
python-socketio's ``AsyncClient`` would need ``aiohttp``, which the project does not
install. They are spread over a few processes so that the clients' own CPU does not
become what is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from _figures import figure, parse, quick_flag
from _stack import emit_rounds, pct, running_stack

EVENT = "bench-fanout"
ROOT = Path(__file__).resolve().parents[1]


# -- client processes ------------------------------------------------------------------


async def _client(url: str, token: str, rounds: int, latencies: list[list[float]],
                  connected: asyncio.Event, counter: list[int], total: int,
                  gate: asyncio.Semaphore) -> None:
    import websockets

    ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    async with gate:
        ws = await websockets.connect(ws_url, max_queue=None, open_timeout=60)
        opening = await ws.recv()
        assert opening.startswith("0"), opening
        await ws.send("40" + json.dumps({"token": token}))
        while True:
            answer = await ws.recv()
            if answer.startswith("40"):
                break
            if answer.startswith("44"):
                raise RuntimeError(f"refused: {answer}")
    counter[0] += 1
    if counter[0] == total:
        connected.set()
    seen = 0
    try:
        async for message in ws:
            if message == "2":  # Engine.IO ping
                await ws.send("3")
                continue
            if message.startswith("42"):
                now = time.time()
                event, data = json.loads(message[2:])[:2]
                if event == EVENT:
                    latencies[data["round"]].append((now - data["sent_at"]) * 1000)
                    seen += 1
                    if seen == rounds:
                        break
    finally:
        await ws.close()


async def _client_main(url: str, token: str, count: int, rounds: int, timeout: float) -> None:
    latencies: list[list[float]] = [[] for _ in range(rounds)]
    connected = asyncio.Event()
    gate = asyncio.Semaphore(25)
    counter = [0]
    tasks = [asyncio.create_task(
        _client(url, token, rounds, latencies, connected, counter, count, gate))
        for _ in range(count)]
    await asyncio.wait_for(connected.wait(), 120)
    print("ready", flush=True)
    _, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in pending:
        task.cancel()
    print(json.dumps(latencies), flush=True)


# -- the emitter ---------------------------------------------------------------------



# -- the driver ----------------------------------------------------------------------


def _make_token(settings) -> str:
    from pc_core.access import Principal, Role
    from pc_core.db import get_db
    from pc_core.identity.partners import create_partner
    from pc_core.identity.users import create_user
    from pc_core.security.jwt_tokens import create_access_token
    from pc_core.store.indexes import ensure_indexes

    db = get_db(settings)
    ensure_indexes(db)
    system = Principal(user_id="system", role=Role.OWNER, partner_id=None)
    partner = create_partner(db, system, name=f"Bench {uuid.uuid4().hex[:6]}").id
    user = create_user(db, system, email=f"fanout-{uuid.uuid4().hex[:8]}@example.com",
                       password="bench-password-123", role=Role.USER, partner_id=partner)
    # Long enough for the whole run.
    settings = settings.model_copy(update={"access_token_minutes": 120})
    return create_access_token(settings, user.id)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--procs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--gap", type=float, default=1.0, help="seconds between rounds")
    parser.add_argument("--client", nargs=3, metavar=("URL", "TOKEN", "COUNT"),
                        help=argparse.SUPPRESS)
    quick_flag(parser, clients=100, rounds=3)
    args = parse(parser)
    if args.client:
        url, token, count = args.client
        asyncio.run(_client_main(url, token, int(count), args.rounds,
                                 timeout=args.rounds * args.gap + 30))
        return

    with running_stack() as stack:
        token = _make_token(stack.settings)
        shares = [args.clients // args.procs + (1 if i < args.clients % args.procs else 0)
                  for i in range(args.procs)]
        started = time.perf_counter()
        clients = [subprocess.Popen(
            [sys.executable, __file__, "--rounds", str(args.rounds), "--gap", str(args.gap),
             "--client", stack.api_url, token, str(n)],
            stdout=subprocess.PIPE, text=True, cwd=ROOT) for n in shares if n]
        for proc in clients:
            line = proc.stdout.readline().strip()
            if line != "ready":
                raise SystemExit(f"a client process failed to connect its clients: {line!r}")
        connect_s = time.perf_counter() - started
        print(f"{args.clients} clients connected over WebSocket in {connect_s:.1f} s "
              f"({len(clients)} client processes, 1 uvicorn worker)")
        time.sleep(1.0)  # let the connection burst settle
        env = {**os.environ, "MONGODB_URI": stack.settings.mongodb_uri,
               "REDIS_URL": stack.settings.redis_url, "MONGODB_DB": stack.settings.mongodb_db}
        emit_rounds(env, EVENT, args.rounds, args.gap)
        per_round: list[list[float]] = [[] for _ in range(args.rounds)]
        for proc in clients:
            out, _ = proc.communicate(timeout=args.rounds * args.gap + 60)
            for i, values in enumerate(json.loads(out.strip().splitlines()[-1])):
                per_round[i].extend(values)

    print(f"event '{EVENT}' to room 'marketplace', published from another process "
          "through pc_core.events (Redis channel pc-socketio)")
    for i, values in enumerate(per_round):
        if values:
            print(f"  round {i + 1}: received {len(values):4d}/{args.clients}   "
                  f"p50 {pct(values, 50):7.1f} ms   p95 {pct(values, 95):7.1f} ms   "
                  f"max {max(values):7.1f} ms")
        else:
            print(f"  round {i + 1}: received    0/{args.clients}")
    every = [v for values in per_round for v in values]
    complete = sum(1 for values in per_round if len(values) == args.clients)
    if every:
        p95 = pct(every, 95)
        name = f"Socket.IO fan-out to {args.clients} clients"
        figure(name, "rounds that reached every client", complete, equals=args.rounds)
        figure(name, "delivery p50", pct(every, 50), "ms")
        figure(name, "delivery p95", p95, "ms", below=500)
        print(f"overall: {complete}/{args.rounds} rounds reached every client; "
              f"p50 {pct(every, 50):.1f} ms   p95 {p95:.1f} ms   max {max(every):.1f} ms   "
              f"(target p95 < 500 ms: {'met' if p95 < 500 else 'MISSED'})")


if __name__ == "__main__":
    main()
