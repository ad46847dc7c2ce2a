"""HubSpot pull engine, end to end: sandbox (rate limits off) → pc_core.hubspot.pull.engine →
nx-27017, on this machine's processes, as in production minus the network.

1. Full pull of a portal with 100,000 deals + 100,000 contacts into the raw collections:
   records/s end to end, and requests made against the minimum (one per 100 records).
2. Where the time goes: the HubSpot side alone (fetch + parse, nothing stored), the store
   alone (the same records inserted), and a full re-pull of unchanged data (fetch +
   compare, nothing to write).
3. Incremental pull after 1% of the records changed: requests made (and after no change).

    .venv/bin/python bench/hubspot_pull_bench.py [--records 100000] [--changed 0.01] [--quick]
"""

from __future__ import annotations

import argparse
import math
import os
import time

import httpx
from _figures import figure, parse, quick_flag
from _stack import hubspot_sandbox_stack

from pc_core.db import get_db
from pc_core.hubspot.connection import pages
from pc_core.hubspot.connection.objects import RAW_COLLECTION
from pc_core.hubspot.connection.transport import HubSpotApi
from pc_core.hubspot.pull.engine import PullOptions, PullStats, pull_objects
from pc_core.hubspot.pull.raw_store import store_records
from pc_core.store.indexes import ensure_indexes

TYPES = ("deals", "contacts")


class AdminTokens:
    """Tokens minted through the sandbox's admin route (no OAuth dance)."""

    def __init__(self, host: str, portal_id: int) -> None:
        self.host, self.portal_id = host, portal_id
        self.token = self.refresh()

    def get(self) -> str:
        return self.token

    def refresh(self) -> str:
        r = httpx.post(f"{self.host}/_sandbox/portals/{self.portal_id}/tokens", json={})
        r.raise_for_status()
        self.token = r.json()["access_token"]
        return self.token


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system, all threads) of a process; this one when ``pid`` is None.
    Unlike wall time it does not depend on what else the machine is doing."""
    if pid is None:
        return time.process_time()
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds spent by this process, the sandbox and nx-27017 between two points."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = {"engine (this process)": None, **pids}
        self.start = {k: cpu_seconds(p) for k, p in self.pids.items()}

    def report(self, records: int) -> str:
        rows = []
        for name, pid in self.pids.items():
            used = cpu_seconds(pid) - self.start[name]
            rows.append(f"    {name:<22} {used:6.1f} CPU s = {used / records * 1e6:6.0f} µs/record"
                        f" -> {records / used if used else float('inf'):8,.0f} records/s "
                        "if it had a core to itself")
        return "\n".join(rows)


def sandbox_requests(host: str, portal_id: int) -> dict[str, int]:
    return httpx.get(f"{host}/_sandbox/stats").json()["by_portal"].get(str(portal_id), {})


def line(label: str, stats: PullStats, seconds: float) -> str:
    return (f"  {label:<28} {stats.fetched:>7} records in {seconds:6.1f} s = "
            f"{stats.fetched / seconds:7.0f} records/s   requests {stats.requests}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=100_000, help="deals, and as many contacts")
    ap.add_argument("--changed", type=float, default=0.01, help="fraction changed")
    quick_flag(ap, records=10_000)
    args = parse(ap)
    n = args.records
    name = f"HubSpot pull, {n:,} deals + {n:,} contacts"
    with hubspot_sandbox_stack() as (settings, host, pids):
        db = get_db(settings)
        ensure_indexes(db)
        made = httpx.post(f"{host}/_sandbox/portals",
                          json={"contacts": n, "deals": n, "pipelines": 3, "seed": 1},
                          timeout=300).json()
        portal = made["id"]
        tokens = AdminTokens(host, portal)
        print(f"portal {portal}: {n:,} deals + {n:,} contacts "
              f"(generated in {made['generated_in_s']} s); rate limits off\n")

        # 1. full pull, end to end
        print("1. Full pull into hubspot_deals / hubspot_contacts (nx-27017)")
        partner = "bench-partner"
        httpx.post(f"{host}/_sandbox/stats/reset")
        total_records = total_requests = 0
        meter = CpuMeter(pids)
        started = time.perf_counter()
        for otype in TYPES:
            t = time.perf_counter()
            stats = pull_objects(db, settings, partner, otype, tokens)
            print(line(f"{otype} (full)", stats, time.perf_counter() - t))
            total_records += stats.fetched
            total_requests += stats.requests
        elapsed = time.perf_counter() - started
        minimum = sum(math.ceil(n / 100) for _ in TYPES)
        seen = sandbox_requests(host, portal)
        print(f"  both: {total_records:,} records in {elapsed:.1f} s = "
              f"{total_records / elapsed:,.0f} records/s end to end")
        print(f"  CPU per component ({os.cpu_count()} cores, load average "
              f"{os.getloadavg()[0]:.1f}):")
        print(meter.report(total_records))
        figure(name, "full pull, end to end", total_records / elapsed, "records/s",
               above=5000)
        figure(name, f"requests for the full pull (minimum {minimum:,})", total_requests)
        print(f"  requests: {total_requests} made (sandbox saw {seen.get('total')}: "
              f"{seen}) vs minimum {minimum} = {total_requests / minimum:.3f}x")

        # 2. where the time goes
        print("\n2. Where the time goes (deals)")
        api = HubSpotApi(settings, tokens)
        t = time.perf_counter()
        fetched = [b for b in pages.list_batches(api, "deals", archived=False, after=None)]
        fetch_s = time.perf_counter() - t
        count = sum(len(b.records) for b in fetched)
        print(f"  HubSpot side only (fetch + parse, no store): {count / fetch_s:8,.0f} records/s")
        figure(name, "fetch + parse only (deals)", count / fetch_s, "records/s")
        coll = db[RAW_COLLECTION["deals"]]
        t = time.perf_counter()
        for b in fetched:
            store_records(coll, "bench-store-only", "deals", b.records)
        store_s = time.perf_counter() - t
        print(f"  store only (new docs, 100 per bulk write):   {count / store_s:8,.0f} records/s")
        figure(name, "store only (deals)", count / store_s, "records/s")
        t = time.perf_counter()
        again = pull_objects(db, settings, partner, "deals", tokens, full=True)
        print(line("full re-pull, unchanged", again, time.perf_counter() - t))
        print(f"    (created {again.created}, updated {again.updated}, "
              f"unchanged {again.unchanged}: nothing to write)")

        # 3. incremental after changes
        changed = max(1, int(n * args.changed))
        print(f"\n3. Incremental pull after {changed:,} deals and {changed:,} contacts changed "
              f"({args.changed:.0%})")
        for otype, prop in (("deals", {"amount": "12345"}), ("contacts", {"jobtitle": "CEO"})):
            httpx.post(f"{host}/_sandbox/portals/{portal}/touch", timeout=120, json={
                "object_type": otype, "count": changed, "seed": 2, "properties": prop})
        httpx.post(f"{host}/_sandbox/stats/reset")
        exact = PullOptions(lookback_ms=0)
        total = 0
        for otype in TYPES:
            t = time.perf_counter()
            stats = pull_objects(db, settings, partner, otype, tokens, options=exact)
            total += stats.requests
            print(line(f"{otype} (incremental)", stats, time.perf_counter() - t)
                  + f"   updated {stats.updated}")
        seen = sandbox_requests(host, portal)
        floor = 2 * math.ceil(changed / 200) + math.ceil(changed / 1000)
        print(f"  requests: {total} (sandbox saw {seen})")
        figure(name, f"requests, incremental pull after {args.changed:.0%} changed", total)
        print(f"  floor for {2 * changed:,} changed records: {floor} (search pages of 200, "
              "association reads of 1,000); the rest: re-reading the timestamp the changes "
              "share, one empty page per window end, one archived-records page per type")
        for label, options in (("no change since, lookback 0", exact),
                               ("no change since, default 30 s lookback", PullOptions())):
            httpx.post(f"{host}/_sandbox/stats/reset")
            quiet = [pull_objects(db, settings, partner, otype, tokens, options=options)
                     for otype in TYPES]
            figure(name, f"requests, incremental pull, {label}",
                   sum(s.requests for s in quiet))
            print(f"  {label}: {sum(s.requests for s in quiet)} requests "
                  f"({', '.join(f'{s.object_type} {s.requests}' for s in quiet)})")

if __name__ == "__main__":
    main()
