"""The randomized HubSpot soak at size (issue 17): a sandbox portal of 10,000 deals,
5,000 random mutations (creates, updates, stage moves, deletions — a bulk clean-up
well past 200 — with dropped and repeated webhooks, 429 storms and search-index lag)
while webhooks are applied and scheduled pulls run, then the daily reconciliation;
our leads must equal the portal's truth. The seed is random unless given, and
printed, so a failing run can be replayed. Runs ``pc_dev.hubspot_soak`` over nx-27017
and the sandbox (rate limits off, storms injected per portal).

    .venv/bin/python bench/hubspot_soak_bench.py [--deals 10000] [--mutations 5000]
                                                 [--seed N] [--quick]
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _figures import figure, parse, quick_flag  # noqa: E402
from _stack import hubspot_sandbox_stack  # noqa: E402

from pc_core.db import get_db  # noqa: E402
from pc_core.store.indexes import ensure_indexes  # noqa: E402
from pc_dev.hubspot_soak import SoakPlan, run_soak  # noqa: E402

NAME = "hubspot_soak"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=10_000)
    parser.add_argument("--contacts", type=int, default=6_000)
    parser.add_argument("--mutations", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=None)
    quick_flag(parser, deals=1_000, contacts=600, mutations=800, rounds=8)
    args = parse(parser, argv)
    seed = args.seed if args.seed is not None else random.randrange(1 << 31)
    print(f"seed {seed} (replay with --seed {seed})", flush=True)
    with hubspot_sandbox_stack() as (settings, _host, _pids):
        db = get_db(settings)
        ensure_indexes(db)
        plan = SoakPlan(deals=args.deals, contacts=args.contacts, mutations=args.mutations,
                        rounds=args.rounds, seed=seed, bulk_deletions=max(230, args.deals // 20),
                        storm_size=6)
        report = run_soak(db, settings, plan, log=lambda line: print(line, flush=True))
    figure(NAME, "differences", report.differences, "", equals=0)
    figure(NAME, "seconds", round(report.seconds, 1), "s")
    figure(NAME, "deals_at_end", report.portal_deals, "")
    figure(NAME, "bulk_deleted", report.did["portal_bulk_deleted"], "", above=200)
    figure(NAME, "webhooks_dropped", report.did["webhooks_dropped"], "")
    figure(NAME, "storms_429", report.did["429_storms"], "")
    figure(NAME, "reconciliation_healed", report.reconciliation.get("healed", 0), "")
    figure(NAME, "seed", seed, "")
    return 0 if report.differences == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
