"""One month's invoices: 1,000 partners, 100,000 completed purchases, nx-27017.

Loads the purchases straight into the store (as ``marketplace.fulfilment`` leaves
them: ``month`` stamped at completion), then times ``build_month`` (read, group,
build and write every partner's invoice), a second build of the same month (the
rebuild writes nothing), and the asset check. Stripe is not part of the figure
(``finalize_month`` makes a few HTTP calls per invoice; see the README).

    .venv/bin/python bench/invoices_bench.py [--partners 1000] [--purchases 100000] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _figures import figure, parse, quick_flag  # noqa: E402

from pc_core import collections as c  # noqa: E402
from pc_core.billing.build import build_month  # noqa: E402
from pc_core.billing.checks import check_month_totals  # noqa: E402
from pc_core.db import get_db  # noqa: E402
from pc_core.marketplace.pricing import commission_cents  # noqa: E402
from pc_core.settings import Settings  # noqa: E402
from pc_core.store.indexes import ensure_indexes  # noqa: E402
from pc_dev import devstack  # noqa: E402

MONTH = "2026-10"
TARGET_S = 30.0


def load(db, partners: int, purchases: int) -> None:
    ids = [f"p{i:05d}" for i in range(partners)]
    now = datetime(2026, 11, 1, tzinfo=UTC)
    db[c.PARTNERS].insert_many([{"_id": p, "name": f"Agency {p}", "slug": p, "active": True,
                                 "is_operator": i == 0, "created_at": now, "updated_at": now}
                                for i, p in enumerate(ids)])
    start = datetime(2026, 10, 1, tzinfo=UTC)
    batch = []
    for i in range(purchases):
        buyer, seller = ids[i % partners], ids[(i * 7 + 1) % partners]
        price = 5_000 + (i * 37) % 90_001  # odd cents throughout
        commission = commission_cents(price, seller == ids[0])
        at = start + timedelta(seconds=i * 26)
        pid = f"pu{i:07d}"
        batch.append({
            "_id": pid, "reservation_id": f"r{i}", "lead_id": f"l{i}",
            "buyer_partner_id": buyer, "seller_partner_id": seller, "buyer_user_id": "u",
            "price_cents": price, "commission_cents": commission,
            "amount_cents": price + commission, "currency": "usd", "status": "completed",
            "payment_intent_id": f"pi_{i}", "created_at": at, "updated_at": at,
            "completed_at": at, "month": MONTH, "sort_key": f"{at.isoformat()}|{pid}",
            "rev": 2,
        })
        if len(batch) == 100:
            db[c.PURCHASES].insert_many(batch)
            batch = []
    if batch:
        db[c.PURCHASES].insert_many(batch)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--partners", type=int, default=1_000)
    parser.add_argument("--purchases", type=int, default=100_000)
    quick_flag(parser, partners=100, purchases=10_000)
    args = parse(parser)
    name = f"invoices, {args.partners:,} partners x {args.purchases:,} purchases"
    group = devstack.ProcessGroup()
    try:
        uri = devstack.start_nx(group, devstack.free_port(), "memory", None)
        settings = Settings(mongodb_uri=uri, mongodb_db=f"bench_{uuid.uuid4().hex[:8]}")
        db = get_db(settings)
        ensure_indexes(db)
        t0 = time.perf_counter()
        load(db, args.partners, args.purchases)
        print(f"loaded {args.partners:,} partners, {args.purchases:,} purchases "
              f"in {time.perf_counter() - t0:.1f} s")

        t0 = time.perf_counter()
        first = build_month(db, MONTH)
        build_s = time.perf_counter() - t0
        print(f"build {MONTH}: {build_s:.1f} s  ({first.created:,} invoices, "
              f"{first.lines:,} lines, total {first.total_cents:,} cents)  "
              f"target < {TARGET_S:.0f} s: {'met' if build_s < TARGET_S else 'NOT met'}")
        figure(name, "build the month", build_s, "s", below=TARGET_S)

        t0 = time.perf_counter()
        second = build_month(db, MONTH)
        figure(name, "rebuild, nothing changed", time.perf_counter() - t0, "s")
        print(f"rebuild {MONTH}: {time.perf_counter() - t0:.1f} s  "
              f"({second.unchanged:,} unchanged, {second.updated} updated, "
              f"{second.created} created)")

        t0 = time.perf_counter()
        check = check_month_totals(db, MONTH)
        figure(name, "asset check", time.perf_counter() - t0, "s")
        figure(name, "asset check passed", check.passed, equals=True)
        print(f"asset check: {time.perf_counter() - t0:.1f} s  passed={check.passed} "
              f"({check.partners:,} partners, expected {check.expected_cents:,} = "
              f"billed {check.billed_cents:,} cents)")
        assert first.created == args.partners and first.lines == args.purchases
        assert second.unchanged == args.partners and check.passed
    finally:
        group.stop_all()


if __name__ == "__main__":
    main()
