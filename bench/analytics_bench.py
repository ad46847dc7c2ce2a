"""Benchmark: ``lead_stage_history`` + ``partner_funnel`` for one partner with
100,000 leads and 10 stage changes each (1,000,000 stage events, plus the
marketplace's listed → reserved → sold for a tenth of the leads), target < 10 s.

Times the pc_core functions the assets run (polars): events + leads + stage mapping
→ the history table, then the history + purchases → the daily funnel table and one
30-day window (what the API's funnel route computes). The input frames are built in
memory first (not timed): reading a million event documents is the store's cost,
reported apart by the figure ``store read`` over ``--read`` events from nx-27017.

    .venv/bin/python bench/analytics_bench.py [--leads 100000] [--changes 10]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import polars as pl  # noqa: E402
from _figures import figure, parse, quick_flag  # noqa: E402

from pc_core.analytics.funnel import Window, funnel_table, purchases_frame  # noqa: E402
from pc_core.analytics.history import (  # noqa: E402
    EVENT_SCHEMA,
    LEAD_SCHEMA,
    build_history,
    mapping_frame,
)

NAME = "analytics"
TARGET_S = 10.0
STAGES = ("new", "contacted", "meeting_scheduled", "meeting_held", "proposal",
          "negotiation", "won", "lost", "non_fit")
START = datetime(2026, 1, 1, tzinfo=UTC)
HOUR_MS = 3_600_000


def make_frames(leads: int, changes: int, seed: int = 7) -> tuple[pl.DataFrame, ...]:
    """Leads created over ~35 days; each moves ``changes`` times (never to the stage
    it is in), hours apart; every tenth is listed, reserved and sold."""
    start_ms = int(START.timestamp() * 1000)
    ids = pl.int_range(0, leads, eager=True)
    lead_frame = pl.DataFrame({
        "lead_id": "L" + ids.cast(pl.Utf8).str.pad_start(7, "0"),
        "created_ms": start_ms + ids * 30_000,
    }).with_columns(
        pl.lit("won").alias("stage"), pl.lit("open").alias("status"),
        pl.lit(True).alias("hubspot"))
    steps = lead_frame.select("lead_id", "created_ms").join(
        pl.DataFrame({"k": pl.int_range(1, changes + 1, eager=True)}), how="cross")
    h = (pl.col("lead_id").hash(seed) % 1000).cast(pl.Int64)
    events = steps.with_columns(
        ((h + pl.col("k") * 7) % len(STAGES)).alias("i"),
        (pl.col("created_ms") + pl.col("k") * HOUR_MS * (1 + h % 48)).alias("at_ms"),
    ).with_columns(
        pl.col("i").replace_strict(dict(enumerate(STAGES)), return_dtype=pl.Utf8)
        .alias("to_value"),
        pl.when(pl.col("k") % 3 == 0).then(pl.lit("webhook")).otherwise(pl.lit("hubspot_pull"))
        .alias("source"),
        pl.lit("default").alias("hubspot_pipeline_id"),
    ).with_columns(
        pl.col("to_value").alias("hubspot_stage_id"),
        pl.col("to_value").shift(1).over("lead_id").alias("from_value"),
        pl.lit("stage").alias("kind"), pl.lit(True).alias("exact"),
    )
    sold = lead_frame.filter(pl.int_range(pl.len()) % 10 == 0).select("lead_id", "created_ms")
    market = pl.concat([
        sold.select("lead_id", pl.lit(value).alias("to_value"),
                    (pl.col("created_ms") + offset * 24 * HOUR_MS).alias("at_ms"))
        for value, offset in (("listed", 1), ("reserved", 3), ("sold", 6))
    ]).with_columns(pl.lit("status").alias("kind"), pl.lit("marketplace").alias("source"))
    all_events = pl.concat([events, market], how="diagonal_relaxed").select(
        [pl.col(c).cast(t) if c in events.columns or c in market.columns
         else pl.lit(None, t).alias(c) for c, t in EVENT_SCHEMA.items()])
    purchases = purchases_frame([]).vstack(sold.select(
        pl.col("lead_id").alias("purchase_id"), "lead_id",
        pl.lit("p").alias("seller_partner_id"), pl.lit("q").alias("buyer_partner_id"),
        pl.lit(50_000, pl.Int64).alias("price_cents"),
        pl.lit(10_000, pl.Int64).alias("commission_cents"),
        (pl.col("created_ms") + 6 * 24 * HOUR_MS).alias("completed_ms")))
    mapping = mapping_frame({("default", s): s for s in STAGES})
    return all_events, lead_frame.cast(LEAD_SCHEMA), mapping, purchases


def store_read(n: int) -> float:
    """Seconds to read ``n`` event documents of one partner from nx-27017."""
    from pc_core.db import get_db
    from pc_core.journal.stage_events import STAGE_EVENTS, partner_events
    from pc_core.settings import Settings
    from pc_dev import devstack

    group = devstack.ProcessGroup()
    try:
        uri = devstack.start_nx(group, devstack.free_port(), "memory", None)
        db = get_db(Settings(mongodb_uri=uri, mongodb_db=f"bench_{uuid.uuid4().hex[:8]}"))
        db[STAGE_EVENTS].create_index([("partner_id", 1), ("at_ms", 1)])
        at = START
        docs = [{"_id": f"e{i}", "partner_id": "p", "lead_id": f"L{i // 10}", "kind": "stage",
                 "from_value": "new", "to_value": "contacted", "at": at + timedelta(seconds=i),
                 "at_ms": i, "source": "hubspot_pull", "hubspot_pipeline_id": "default",
                 "hubspot_stage_id": "contacted", "exact": True} for i in range(n)]
        for start in range(0, n, 1000):
            db[STAGE_EVENTS].insert_many(docs[start:start + 1000], ordered=False)
        t0 = time.perf_counter()
        got = partner_events(db, "p")
        took = time.perf_counter() - t0
        assert len(got) == n
        return took
    finally:
        group.stop_all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--read", type=int, default=100_000,
                        help="event documents read from nx-27017 for the store figure (0: skip)")
    quick_flag(parser, leads=10_000, read=10_000)
    args = parse(parser)
    events, leads, mapping, purchases = make_frames(args.leads, args.changes)
    print(f"{args.leads:,} leads x {args.changes} stage changes: {events.height:,} events "
          f"(polars {pl.__version__}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f})")
    t0 = time.perf_counter()
    history = build_history("p", events, leads, mapping)
    t_history = time.perf_counter() - t0
    t1 = time.perf_counter()
    days = funnel_table(history, purchases, partner_id="p")
    t_days = time.perf_counter() - t1
    t2 = time.perf_counter()
    window = funnel_table(history, purchases, partner_id="p",
                          window=Window.days(START.date(), (START + timedelta(days=29)).date()))
    t_window = time.perf_counter() - t2
    total = time.perf_counter() - t0
    print(f"lead_stage_history: {history.height:,} rows in {t_history:.2f} s")
    print(f"partner_funnel:     {days.height:,} days in {t_days:.2f} s")
    print(f"30-day window (the API's funnel): {t_window:.2f} s "
          f"(entered new {window['entered_new'][0]:,}, sold {window['sold'][0]:,})")
    print(f"total {total:.2f} s (target < {TARGET_S:g} s)")
    figure(NAME, f"lead_stage_history, {args.leads:,} leads x {args.changes} changes",
           round(t_history, 2), "s")
    figure(NAME, "partner_funnel (daily) + 30-day window", round(t_days + t_window, 2), "s")
    figure(NAME, "history + funnel total", round(total, 2), "s", below=TARGET_S)
    if args.read:
        took = store_read(args.read)
        print(f"store read: {args.read:,} event documents from nx-27017 in {took:.2f} s "
              f"({args.read / took:,.0f}/s; not part of the target)")
        figure(NAME, "store read, event documents/s", round(args.read / took), "docs/s")


if __name__ == "__main__":
    main()
