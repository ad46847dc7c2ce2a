"""Buyer alerts at scale: saved searches matched against a stream of listings, live
notices, deduplicated e-mails, and a standing-order race.

    python bench/buyer_alerts_bench.py [--searches 10000] [--buyers 500]
        [--listings 1000] [--per-minute 1000] [--watchers 20] [--quick]

Real parts: nx-27017, redis-server, the API under uvicorn (its Socket.IO server
relays the notices), one ``pc worker --lanes alert`` process (it sends the queued
e-mails), the pc_sandbox Mailgun. The buyers' searches are written as the API writes
them (``criteria.stored_fields``) and announced as one bulk change; e-mail modes 10 %
immediate, 20 % daily, 70 % off. Listings are announced from this process through
``listings.announce_listed`` (as a Dagster run or an API request does), paced at
``--per-minute`` by a few threads. Printed:

- the in-memory search index's first load in this process (once per process);
- match time per listing (``matching.matching_searches``: the index's freshness
  check, one Redis GET, + the lookup and the exact rule), p50/p95; target p95 < 50 ms;
- listings a minute achieved, and the whole announce per listing (match, standing
  orders, notices recorded, live events, e-mails queued) p50/p95;
- live notice latency, listing announced → ``search-matched`` received by a
  WebSocket client of one of ``--watchers`` buyer users, p50/p95; target p95 < 2 s;
- e-mails: every listing is announced a second time (a duplicate delivery); once
  the worker has drained the queue, the immediate notices and the e-mails the Mailgun
  sandbox holds must be equal (duplicates = 0); listing → e-mail sent p50/p95 and the
  worker's e-mails a minute;
- standing-order race: buyers with orders, leads each announced by 8 threads at
  once; double reservations and cap overruns must be 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from _figures import figure, parse, quick_flag
from _stack import pct

from pc_core import collections as c
from pc_core.access import Principal, Role
from pc_core.buyer_alerts import dispatch, mail_queue, matching
from pc_core.buyer_alerts.search_index import ALL, announce_change
from pc_core.db import get_db
from pc_core.identity.partners import create_partner
from pc_core.identity.users import create_user
from pc_core.ids import new_id
from pc_core.leads.inventory import build_lead_doc
from pc_core.marketplace import listings
from pc_core.marketplace.criteria import stored_fields
from pc_core.models.buyer_alerts import Criteria
from pc_core.models.leads import LeadFields
from pc_core.security.jwt_tokens import create_access_token
from pc_core.settings import Settings
from pc_core.stages import LeadStatus
from pc_core.store import sort_key
from pc_core.store.indexes import ensure_indexes
from pc_core.timeutil import ensure_utc, utcnow
from pc_dev import devstack

NAME = "Buyer alerts"
ROOT = Path(__file__).resolve().parents[1]
INDUSTRIES = ["SaaS", "Retail", "Fintech", "Health", "Education", "Energy", "Media", "Travel"]
LOCATIONS = ["US", "UK", "DE", "FR", "CA", "AU", "NL", "ES", "IT", "SE"]
SIZES = ["1-10", "11-50", "51-200", "201-500", "501-1000"]
SYSTEM = Principal(user_id="system", role=Role.OWNER, partner_id=None)


# -- WebSocket watchers (a separate process) ------------------------------------------

async def _watch(url: str, token: str, seen: list[tuple[str, float]],
                 ready: list[int]) -> None:
    import websockets

    ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    ws = await websockets.connect(ws_url, max_queue=None, open_timeout=60)
    assert (await ws.recv()).startswith("0")
    await ws.send("40" + json.dumps({"token": token}))
    while not (await ws.recv()).startswith("40"):
        pass
    ready[0] += 1
    async for message in ws:
        if message == "2":
            await ws.send("3")
        elif message.startswith("42"):
            event, data = json.loads(message[2:])[:2]
            if event == "search-matched":
                seen.append((data["lead_id"], time.time()))


async def _watchers(url: str, tokens: list[str], seconds: float) -> None:
    seen: list[tuple[str, float]] = []
    ready = [0]
    tasks = [asyncio.create_task(_watch(url, t, seen, ready)) for t in tokens]
    while ready[0] < len(tokens):
        await asyncio.sleep(0.05)
    print("ready", flush=True)
    await asyncio.sleep(seconds)
    for task in tasks:
        task.cancel()
    print(json.dumps(seen), flush=True)


# -- seeding ----------------------------------------------------------------------------

def _seed(db, settings: Settings, buyers: int, searches: int, rnd: random.Random
          ) -> tuple[list[str], list[str]]:
    """``buyers`` partners with one user each, ``searches`` searches over them; returns
    (partner ids, user ids)."""
    partners = [create_partner(db, SYSTEM, name=f"Buyer {i}").id for i in range(buyers)]
    template = create_user(db, SYSTEM, email=f"b0-{uuid.uuid4().hex[:6]}@example.com",
                           password="bench-password-123", role=Role.USER,
                           partner_id=partners[0])
    first = db[c.USERS].find_one({"_id": template.id})
    users = [template.id]
    clones = []
    for i, pid in enumerate(partners[1:], 1):
        uid = new_id()
        clones.append({**first, "_id": uid, "email": f"b{i}-{uid[-6:]}@example.com",
                       "partner_id": pid})
        users.append(uid)
    if clones:
        db[c.USERS].insert_many(clones)
    now = utcnow()
    docs = []
    for i in range(searches):
        owner = i % buyers
        crit = Criteria(
            industry=rnd.choice([None, *INDUSTRIES]), location=rnd.choice([None, *LOCATIONS]),
            company_size=rnd.choice([None, *SIZES]),
            price_max=rnd.choice([None, 30_000, 60_000, 100_000]),
            budget_min=rnd.choice([None, None, 500_000]))
        sid = new_id()
        mode = rnd.choices(["immediate", "daily", "off"], [10, 20, 70])[0]
        docs.append({"_id": sid, "user_id": users[owner], "partner_id": partners[owner],
                     "name": f"search {i}", "shared": False, "email": mode, "active": True,
                     **stored_fields(crit), "created_at": now, "updated_at": now,
                     "sort_key": sort_key(now, sid), "rev": 1})
    for start in range(0, len(docs), 1000):
        db[c.SAVED_SEARCHES].insert_many(docs[start:start + 1000])
    announce_change(db, settings, [ALL])
    return partners, users


def _lead(partner_id: str, rnd: random.Random, **fields) -> dict:
    values = {"title": "Bench deal", "industry": rnd.choice(INDUSTRIES),
              "location": rnd.choice(LOCATIONS), "company_size": rnd.choice(SIZES),
              "budget_cents": rnd.choice([100_000, 1_000_000]),
              "price_cents": rnd.choice([20_000, 50_000, 90_000]), **fields}
    return build_lead_doc(partner_id, LeadFields(**values), source="bench", now=utcnow(),
                          status=LeadStatus.LISTED)


# -- phases -----------------------------------------------------------------------------

def _stream(db, settings: Settings, partners: list[str], count: int, per_minute: int,
            rnd: random.Random) -> tuple[list[float], list[float], dict[str, float], list]:
    """Announce ``count`` listings at ``per_minute``; (match ms, announce ms, listed
    at per lead, lead docs)."""
    leads = [_lead(rnd.choice(partners), rnd) for _ in range(count)]
    db[c.LEADS].insert_many(leads)
    match_ms: list[float] = []
    announce_ms: list[float] = []
    listed_at: dict[str, float] = {}
    lock = threading.Lock()
    gap = 60.0 / per_minute
    start = time.perf_counter()

    def one(i: int) -> None:
        delay = start + i * gap - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        lead = leads[i]
        view = listings.listing_view(lead, None, settings, None, utcnow())
        t0 = time.perf_counter()
        matching.matching_searches(db, settings, view)
        t1 = time.perf_counter()
        with lock:
            listed_at[lead["_id"]] = time.time()
        listings.announce_listed(db, settings, [lead])
        t2 = time.perf_counter()
        with lock:
            match_ms.append((t1 - t0) * 1000)
            announce_ms.append((t2 - t1) * 1000)

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(one, range(count)))
    elapsed = time.perf_counter() - start
    print(f"{count} listings announced in {elapsed:.1f} s "
          f"({count / elapsed * 60:.0f} a minute; asked {per_minute})")
    figure(NAME, "listings a minute achieved", round(count / elapsed * 60), "listings/min")
    return match_ms, announce_ms, listed_at, leads


def _drained(db, timeout: float) -> bool:
    """Wait until the worker has sent every queued e-mail (or ``timeout``)."""
    deadline = time.monotonic() + timeout
    far = utcnow() + timedelta(days=1)
    while time.monotonic() < deadline:
        if not mail_queue.waiting(db, far, limit=1):
            return True
        time.sleep(0.5)
    return False


def _mail_delays(mails: list[dict], listed_at: dict[str, float]) -> tuple[list[float], float]:
    """(listing announced → e-mail sent, ms, per e-mail; e-mails sent a minute)."""
    sent = [(m["_id"].split(":", 2)[2], ensure_utc(m["sent_at"]).timestamp())
            for m in mails if m.get("sent_at")]
    delays = [(at - listed_at[lead]) * 1000 for lead, at in sent if lead in listed_at]
    if len(sent) < 2 or not listed_at:
        return delays, 0.0
    span = max(at for _, at in sent) - min(listed_at.values())
    return delays, len(sent) / span * 60 if span > 0 else 0.0


def _race(db, settings: Settings, partners: list[str], rnd: random.Random,
          orders: int, leads: int) -> tuple[int, int, int]:
    """(double reservations, cap overruns, reservations made)."""
    caps = {}
    now = utcnow()
    for pid in partners[:orders]:
        oid = new_id()
        caps[pid] = rnd.choice([1, 2, 3])
        db[c.STANDING_ORDERS].insert_one({
            "_id": oid, "partner_id": pid, "created_by": "bench", "name": "race",
            **stored_fields(Criteria(industry="Race", price_max=100_000)),
            "monthly_cap": caps[pid], "days": 7, "status": "active", "active": True,
            "card_failures": 0, "created_at": now, "updated_at": now,
            "sort_key": sort_key(now, oid), "rev": 1})
    seller = partners[-1]
    docs = [_lead(seller, rnd, industry="Race", price_cents=50_000) for _ in range(leads)]
    db[c.LEADS].insert_many(docs)
    barrier = threading.Barrier(8)

    def run(k: int) -> None:
        order = docs[:]
        random.Random(k).shuffle(order)
        barrier.wait()
        for doc in order:
            dispatch.on_listed(db, settings,
                               [listings.listing_view(doc, None, settings, None, utcnow())])

    threads = [threading.Thread(target=run, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = {d["_id"] for d in docs}
    made = [r for r in db[c.RESERVATIONS].find({"status": "active"}) if r["lead_id"] in ids]
    per_lead: dict[str, int] = {}
    per_buyer: dict[str, int] = {}
    for r in made:
        per_lead[r["lead_id"]] = per_lead.get(r["lead_id"], 0) + 1
        per_buyer[r["buyer_partner_id"]] = per_buyer.get(r["buyer_partner_id"], 0) + 1
    doubles = sum(n - 1 for n in per_lead.values() if n > 1)
    overruns = sum(max(0, n - caps.get(b, 0)) for b, n in per_buyer.items())
    return doubles, overruns, len(made)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--searches", type=int, default=10_000)
    parser.add_argument("--buyers", type=int, default=500)
    parser.add_argument("--listings", type=int, default=1000)
    parser.add_argument("--per-minute", type=int, default=1000)
    parser.add_argument("--watchers", type=int, default=20)
    parser.add_argument("--watch", nargs=3, metavar=("URL", "TOKENS", "SECONDS"),
                        help=argparse.SUPPRESS)
    quick_flag(parser, searches=2000, buyers=100, listings=200)
    args = parse(parser)
    if args.watch:
        url, tokens, seconds = args.watch
        asyncio.run(_watchers(url, json.loads(Path(tokens).read_text()), float(seconds)))
        return

    rnd = random.Random(19)
    group = devstack.ProcessGroup()
    try:
        mongo = devstack.start_nx(group, devstack.free_port(), "memory", None)
        redis_url = devstack.start_redis(group, devstack.free_port(), None, None)
        sandbox_port = devstack.free_port()
        sandbox = f"http://127.0.0.1:{sandbox_port}"
        group.start("sandbox", [devstack.venv_bin("uvicorn"), "pc_sandbox.app:app",
                                "--port", str(sandbox_port), "--log-level", "warning"],
                    cwd=ROOT)
        settings = Settings(mongodb_uri=mongo, redis_url=redis_url,
                            mongodb_db=f"bench_{uuid.uuid4().hex[:8]}",
                            mailgun_base_url=f"{sandbox}/mailgun", access_token_minutes=120,
                            max_active_reservations=50)
        port = devstack.free_port()
        api = group.start(
            "api", [devstack.venv_bin("uvicorn"), "--factory", "pc_api.main:app_factory",
                    "--port", str(port), "--workers", "1", "--log-level", "warning",
                    "--no-access-log"],
            env={"MONGODB_URI": mongo, "REDIS_URL": redis_url,
                 "MONGODB_DB": settings.mongodb_db})
        api_url = f"http://127.0.0.1:{port}"
        group.start("worker", [devstack.venv_bin("pc"), "worker", "--lanes", "alert"],
                    env={"MONGODB_URI": mongo, "REDIS_URL": redis_url,
                         "MONGODB_DB": settings.mongodb_db,
                         "PC_MAILGUN_BASE_URL": settings.mailgun_base_url}, cwd=ROOT)
        devstack.wait_until(lambda: devstack.http_answers(api_url + "/health"), 60, "API", api)
        devstack.wait_until(lambda: devstack.http_answers(sandbox + "/health"), 60, "sandbox")
        db = get_db(settings)
        ensure_indexes(db)
        t = time.perf_counter()
        partners, users = _seed(db, settings, args.buyers, args.searches, rnd)
        print(f"seeded {args.buyers} buyers and {args.searches} saved searches "
              f"in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        matching.matching_searches(db, settings, listings.listing_view(
            _lead(partners[0], rnd), None, settings, None, utcnow()))
        load_ms = (time.perf_counter() - t) * 1000
        print(f"search index loaded in this process in {load_ms:.0f} ms (once per process)")

        tokens = [create_access_token(settings, u)[0] for u in users[:args.watchers]]
        token_file = Path(tempfile.mkstemp(suffix=".json")[1])
        token_file.write_text(json.dumps(tokens))
        seconds = args.listings * 60 / args.per_minute + 20
        watcher = subprocess.Popen(
            [sys.executable, __file__, "--watch", api_url, str(token_file), str(seconds)],
            stdout=subprocess.PIPE, text=True, cwd=ROOT)
        if watcher.stdout.readline().strip() != "ready":
            raise SystemExit("the watchers did not connect")

        match_ms, announce_ms, listed_at, leads = _stream(
            db, settings, partners, args.listings, args.per_minute, rnd)
        out, _ = watcher.communicate(timeout=seconds + 60)
        token_file.unlink()
        seen = json.loads(out.strip().splitlines()[-1])
        live = [(at - listed_at[lead]) * 1000 for lead, at in seen if lead in listed_at]

        # Duplicate deliveries: every listing announced again.
        for lead in leads:
            listings.announce_listed(db, settings, [lead])
        notices = list(db[c.SEARCH_NOTICES].find({}, {"email": 1, "partner_id": 1,
                                                      "listing": 1}))
        immediate = sum(1 for n in notices if n["email"] == "immediate")
        drained = _drained(db, timeout=max(120.0, immediate / 5))
        mails = list(db[c.EMAILS].find({"template": "search_match"}, {"sent_at": 1}))
        recorded = len(mails)
        mail_ms, mail_rate = _mail_delays(mails, listed_at)
        with_sandbox = devstack.http_answers(sandbox + "/health")
        import httpx
        held = httpx.get(f"{sandbox}/mailgun/_sandbox/messages", timeout=30).json()
        in_box = sum(1 for m in held["items"] if "search_match" in m.get("tags", []))
        own = sum(1 for n in notices if n["partner_id"] == n["listing"]["seller_partner_id"])

        doubles, overruns, made = _race(db, settings, partners, rnd, min(50, args.buyers),
                                        2 * min(50, args.buyers))
    finally:
        group.stop_all()

    print(f"match time per listing over {args.searches} searches: p50 "
          f"{pct(match_ms, 50):.1f} ms, p95 {pct(match_ms, 95):.1f} ms "
          f"(whole announce incl. notices, events, e-mails: p50 {pct(announce_ms, 50):.1f} ms, "
          f"p95 {pct(announce_ms, 95):.1f} ms)")
    figure(NAME, "match time p50", pct(match_ms, 50), "ms")
    figure(NAME, "match time p95", pct(match_ms, 95), "ms", below=50)
    figure(NAME, "announce (match + notices + e-mails) p95", pct(announce_ms, 95), "ms")
    print(f"notices {len(notices)} ({len(notices) / len(leads):.1f} a listing); "
          f"to the seller's own partner {own}")
    figure(NAME, "notices to the seller's own partner", own, equals=0)
    if live:
        print(f"live notices received by {args.watchers} watchers: {len(live)}, p50 "
              f"{pct(live, 50):.0f} ms, p95 {pct(live, 95):.0f} ms")
        figure(NAME, "live notice p50", pct(live, 50), "ms")
        figure(NAME, "live notice p95", pct(live, 95), "ms", below=2000)
    else:
        print("no live notice reached the watchers")
        figure(NAME, "live notices received", 0, above=0)
    figure(NAME, "search index first load", load_ms, "ms")
    print(f"e-mails: immediate notices {immediate}, e-mails recorded {recorded}, in the "
          f"Mailgun sandbox {in_box} (every listing announced twice; sandbox up "
          f"{with_sandbox}; queue drained {drained})")
    if mail_ms:
        print(f"listing → e-mail sent by the worker: p50 {pct(mail_ms, 50) / 1000:.1f} s, "
              f"p95 {pct(mail_ms, 95) / 1000:.1f} s; {mail_rate:.0f} e-mails a minute")
        figure(NAME, "listing to e-mail sent p95", pct(mail_ms, 95) / 1000, "s")
        figure(NAME, "e-mails a minute (one worker)", round(mail_rate), "e-mails/min")
    figure(NAME, "immediate e-mails sent", in_box, "e-mails")
    figure(NAME, "duplicate e-mails", in_box - immediate, equals=0)
    print(f"standing-order race: {made} reservations, double reservations {doubles}, "
          f"cap overruns {overruns}")
    figure(NAME, "standing-order double reservations", doubles, equals=0)
    figure(NAME, "standing-order cap overruns", overruns, equals=0)


if __name__ == "__main__":
    main()
