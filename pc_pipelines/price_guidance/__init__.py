"""Price guidance (``pc_core.analytics.price_guidance``): the ``price_guidance``
asset, rebuilt daily at 06:00 UTC from every listing and sale (lineage:
``marketplace_listings``, ``marketplace_purchases`` → ``price_guidance``), with two
checks: ``price_guidance_fresh`` (rebuilt within 26 hours; evaluated hourly by its
own schedule, on by default) and ``price_guidance_sample`` (the whole market has at
least the minimum of sales; how many segments fall back to a broader one)."""

from datetime import timedelta

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetSelection,
    DefaultScheduleStatus,
    Definitions,
    MetadataValue,
    Output,
    RunRequest,
    ScheduleEvaluationContext,
    asset,
    asset_check,
    define_asset_job,
    in_process_executor,
    schedule,
)

from pc_core import collections as c
from pc_core.analytics import price_guidance as pg
from pc_core.timeutil import ensure_utc, utcnow
from pc_pipelines.analytics.assets import marketplace_listings, marketplace_purchases
from pc_pipelines.analytics.metadata import preview
from pc_pipelines.analytics.warehouse import IO_MANAGER_KEY
from pc_pipelines.lib.run_keys import scheduled_run_key
from pc_pipelines.resources import PlatformResource

MAX_AGE = timedelta(hours=26)


@asset(group_name="marketplace", deps=[marketplace_listings, marketplace_purchases],
       io_manager_key=IO_MANAGER_KEY, kinds={"polars", "parquet", "mongodb"})
def price_guidance(context: AssetExecutionContext,
                   platform: PlatformResource) -> Output[pl.DataFrame]:
    """Per segment (industry × company size × region, and broader): sell-through in
    7/14/30 days, median days to sell, sold and unsold price quartiles. Stored in
    MongoDB for the API's ``GET /v1/marketplace/price-guidance``."""
    db = platform.db()
    now = utcnow()
    outcomes = pg.listing_outcomes(db, platform.settings().default_lead_price_cents)
    table = pg.guidance_table(outcomes, now)
    stored = pg.store(db, table, now)
    market = table.filter(pl.col("level") == len(pg.LEVELS) - 1)
    return Output(table, metadata={
        "dagster/row_count": table.height, "segments_stored": stored,
        "listings": outcomes.height,
        "sales": int(market["sales"][0]) if market.height else 0,
        "preview": preview(table.drop("price_points"),
                           ["level", "industry", "company_size", "region", "listings",
                            "sales", "sell_through_7", "sold_median"]),
    })


@asset_check(asset=price_guidance, description="Enough sales for guidance: the whole "
             "market has at least the minimum; segments below it fall back to broader ones")
def price_guidance_sample(platform: PlatformResource) -> AssetCheckResult:
    docs = list(platform.db()[c.PRICE_GUIDANCE].find({}, {"level": 1, "sales": 1}))
    market = next((d for d in docs if d["level"] == len(pg.LEVELS) - 1), None)
    narrow = [d for d in docs if d["level"] == 0]
    short = [d for d in narrow if d["sales"] < pg.MIN_SALES]
    return AssetCheckResult(
        passed=market is not None and market["sales"] >= pg.MIN_SALES,
        severity=AssetCheckSeverity.WARN,
        metadata={"market_sales": market["sales"] if market else 0,
                  "minimum_sales": pg.MIN_SALES, "segments": len(narrow),
                  "segments_falling_back": len(short),
                  "note": MetadataValue.text("segments below the minimum use a broader one")})


@asset_check(asset=price_guidance, description="The guidance was rebuilt within the "
             "last 26 hours (evaluated hourly by price_guidance_freshness_job)")
def price_guidance_fresh(platform: PlatformResource) -> AssetCheckResult:
    latest = max((ensure_utc(d["computed_at"]) for d in platform.db()[c.PRICE_GUIDANCE].find(
        {"level": len(pg.LEVELS) - 1}, {"computed_at": 1})), default=None)
    age_h = (utcnow() - latest).total_seconds() / 3600 if latest else None
    return AssetCheckResult(
        passed=age_h is not None and age_h <= MAX_AGE.total_seconds() / 3600,
        severity=AssetCheckSeverity.WARN,
        metadata={"age_hours": round(age_h, 2) if age_h is not None else -1,
                  "max_age_hours": MAX_AGE.total_seconds() / 3600})


price_guidance_freshness_job = define_asset_job(
    "price_guidance_freshness_job", selection=AssetSelection.checks(price_guidance_fresh),
    executor_def=in_process_executor, description="Hourly: is the price guidance fresh?")


@schedule(job=price_guidance_freshness_job, cron_schedule="17 * * * *",
          execution_timezone="UTC", default_status=DefaultScheduleStatus.RUNNING)
def price_guidance_freshness_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    return RunRequest(run_key=scheduled_run_key(context, "price-guidance-fresh"))


price_guidance_job = define_asset_job(
    "price_guidance_job", selection=AssetSelection.assets(price_guidance),
    executor_def=in_process_executor, description="Daily: price guidance per segment.")


@schedule(job=price_guidance_job, cron_schedule="0 6 * * *", execution_timezone="UTC",
          default_status=DefaultScheduleStatus.RUNNING)
def price_guidance_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    return RunRequest(run_key=scheduled_run_key(context, "price-guidance"))


defs = Definitions(assets=[price_guidance],
                   asset_checks=[price_guidance_sample, price_guidance_fresh],
                   jobs=[price_guidance_job, price_guidance_freshness_job],
                   schedules=[price_guidance_schedule, price_guidance_freshness_schedule])
