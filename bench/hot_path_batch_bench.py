"""The hot-path worker's cost per partner batch, counted rather than timed: database
commands and HubSpot requests for one worker pass over ``--partners`` partners with
``--events`` pending webhook events each (deal property changes over their 5 deals,
the shape of ``hot_path_bench.py``'s throughput phase), and the pass's events/s.

Counts do not depend on the machine's load, so they tell whether a change to the
apply cut round trips where ``hot_path_bench.py``'s figures, on a shared machine, may
not. Processes: nx-27017 (memory), redis-server and the vendor sandbox; the worker
runs in this process (``Worker.run_once``, the webhook lane) over a pymongo client
with a command listener. Set-up, not counted: ``hot_path_bench.connect_partners``
(portals, partners, their leads applied by a worker), then the events stored straight
into the inbox (``ingest.store_events``, what the API's route does after the
signature check). ``--profile`` prints the pass's cProfile, by cumulative time.

Targets: ≤ 18 database commands per batch when each of its 5 deals' leads changes
(17 whatever its size and however many of its leads change: the lease taken and
given back, the sync task opened and closed, the pending events read and marked,
the token read, the raw deals read and written, the build's six reads, the changed
leads in one bulk write, the raw deals marked clean; plus the ``last_synced_at``
stamp when the last one is over 5 s old, and the batch's share of the pass's two
reads; 22.1 before the second cut of 2026-12-05, which wrote each changed lead
alone and read the partner twice), ≤ 3 HubSpot requests per batch (deals batch
read, their associations), and no HubSpot client built for a partner's second
batch.

    .venv/bin/python bench/hot_path_batch_bench.py [--partners 20] [--events 100] [--profile]
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import os
import pstats
import time
import uuid

from _figures import figure, parse, quick_flag
from _stack import stores_and_sandbox
from hot_path_bench import Partner, connect_partners, rename
from pymongo import MongoClient, monitoring

from pc_core.hubspot.connection import api_pool
from pc_core.hubspot.webhooks.ingest import store_events
from pc_core.settings import Settings
from pc_core.store import wakeups
from pc_core.store.indexes import ensure_indexes
from pc_core.worker.runner import PassReport, Worker
from pc_dev import devstack

BENCH = "Hot path: cost per partner batch"


class Commands(monitoring.CommandListener):
    """Counts commands by (name, collection) while ``on``, and their time (the store's
    answer time as the driver saw it: load-dependent, for where the time goes)."""

    def __init__(self) -> None:
        self.on = False
        self.counts: collections.Counter[tuple[str, str]] = collections.Counter()
        self.micros: collections.Counter[tuple[str, str]] = collections.Counter()
        self._keys: dict[int, tuple[str, str]] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.on:
            target = event.command.get(event.command_name)
            key = (event.command_name, target if isinstance(target, str) else "-")
            self.counts[key] += 1
            self._keys[event.request_id] = key

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        key = self._keys.pop(event.request_id, None)
        if key is not None:
            self.micros[key] += event.duration_micros

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def store_changes(db, settings: Settings, partners: list[Partner], events: int,
                  first_id: int) -> None:
    """Every deal renamed in its portal, then ``events`` deal.propertyChange events per
    partner over its deals, stored in the inbox."""
    for p in partners:
        for d in p.deals:
            rename(settings, p, d, f"Batch {uuid.uuid4().hex[:8]}")
        now_ms = int(time.time() * 1000)
        store_events(db, [{"eventId": first_id + k, "subscriptionId": 4100001,
                           "portalId": int(p.portal), "appId": 1000001,
                           "occurredAt": now_ms + k, "subscriptionType": "deal.propertyChange",
                           "attemptNumber": 0, "objectId": int(p.deals[k % len(p.deals)]),
                           "propertyName": "dealname", "propertyValue": "x",
                           "changeSource": "CRM_UI"} for k in range(events)])


def one_pass(worker: Worker, listener: Commands, profile: cProfile.Profile | None,
             ) -> tuple[PassReport, float]:
    listener.counts.clear()
    listener.micros.clear()
    listener.on = True
    started = time.perf_counter()
    if profile:
        profile.enable()
    result = worker.run_once({wakeups.WEBHOOK})
    if profile:
        profile.disable()
    elapsed = time.perf_counter() - started
    listener.on = False
    return result, elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--partners", type=int, default=20)
    parser.add_argument("--events", type=int, default=100, help="pending events per partner")
    parser.add_argument("--profile", action="store_true")
    quick_flag(parser, partners=5, events=50)
    args = parse(parser)
    group = devstack.ProcessGroup()
    try:
        settings, _sandbox = stores_and_sandbox(group)
        mongo = settings.mongodb_uri
        listener = Commands()
        db = MongoClient(mongo, tz_aware=True, event_listeners=[listener])[settings.mongodb_db]
        ensure_indexes(db)
        worker = Worker(settings, holder="worker:batch-bench", lanes=(wakeups.WEBHOOK,), db=db)

        def drain() -> None:  # set-up: the creation events, applied by the same worker
            while worker.run_once({wakeups.WEBHOOK}).applied:
                pass

        started = time.monotonic()
        partners = connect_partners(db, settings, args.partners, "batch", drain=drain)
        print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; set-up "
              f"{time.monotonic() - started:.1f} s (not counted)")
        profile = cProfile.Profile() if args.profile else None
        built = api_pool.POOL.built
        store_changes(db, settings, partners, args.events, 1)
        result, elapsed = one_pass(worker, listener, profile)
        batches = len(result.applied)
        commands = sum(listener.counts.values())
        requests = sum(a.stats.requests for a in result.applied)
        if result.failed or batches != len(partners) or \
                result.events != len(partners) * args.events:
            raise SystemExit(f"the pass did not apply every partner's events: {result}")
        per_batch = commands / batches
        print(f"one pass: {batches} partner batches of {args.events} events in {elapsed:.2f} s "
              f"= {result.events / elapsed:.0f} events/s (in process, load "
              f"{os.getloadavg()[0]:.1f}); {commands} database commands = {per_batch:.1f} "
              f"per batch; {requests} HubSpot requests = {requests / batches:.1f} per batch; "
              f"HubSpot clients built {api_pool.POOL.built - built}")
        for (name, target), n in sorted(listener.counts.items(), key=lambda kv: -kv[1]):
            print(f"  {n / batches:6.2f} per batch  {name} {target}  "
                  f"({listener.micros[(name, target)] / n / 1000:.1f} ms each)")
        figure(BENCH, "database commands per partner batch (5 leads changed)",
               round(per_batch, 2), at_most=18)
        figure(BENCH, "HubSpot requests per partner batch", round(requests / batches, 2),
               at_most=3)
        figure(BENCH, "HubSpot clients built for partners' second batches",
               api_pool.POOL.built - built, equals=0)
        figure(BENCH, "events/s of one in-process pass (context, load-dependent)",
               round(result.events / elapsed), "/s")
        if profile:
            pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
    finally:
        group.stop_all()


if __name__ == "__main__":
    main()
