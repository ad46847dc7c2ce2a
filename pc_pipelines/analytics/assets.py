"""Analytics assets: the lineage HubSpot → leads → listings → purchases → invoices,
the stage history and the funnel. Thin over ``pc_core.analytics``; every frame is also
written to the warehouse (Parquet, ``warehouse.py``).

- ``lead_stage_history`` (per partner): refreshes the partner's HubSpot-sourced stage
  events from HubSpot's property history (only the deals waiting for it; every deal
  on a backfill or a run tagged ``pc/full=true``), then builds the table.
- ``marketplace_listings`` (per partner): the partner's listed leads as buyers see them.
- ``marketplace_purchases``: an external asset; its materialisations are the purchases
  the API completes or refunds, reported by ``purchases_outbox_sensor``.
- ``partner_funnel`` (per partner): one row per day, every day of the partner's
  history, so a backfill of a partner rebuilds all of its days.
"""

import polars as pl
from dagster import (
    AssetExecutionContext,
    AssetSpec,
    Config,
    MetadataValue,
    Output,
    asset,
)

from pc_core.analytics import sources
from pc_core.analytics.funnel import STAGES, funnel_table
from pc_core.analytics.hubspot_history import api_reader, refresh_from_hubspot
from pc_core.analytics.listings import partner_listings
from pc_core.hubspot.connection.oauth import (
    PartnerTokens,
    connected_partner_ids,
    linked_partner_ids,
)
from pc_core.hubspot.connection.transport import HubSpotApi
from pc_pipelines.analytics.metadata import counts, preview
from pc_pipelines.analytics.warehouse import IO_MANAGER_KEY
from pc_pipelines.lib.partitions import partners_partitions
from pc_pipelines.lib.run_tags import FULL_TAG
from pc_pipelines.resources import PlatformResource

ANALYTICS = "analytics"
MARKETPLACE = "marketplace"
RECENT_DAYS = 30


class StageHistoryConfig(Config):
    """``rebuild``: re-read every deal's history from HubSpot (what a backfill does)."""

    rebuild: bool = False


def _rebuild(context: AssetExecutionContext, config: StageHistoryConfig) -> bool:
    tags = context.run.tags
    return config.rebuild or "dagster/backfill" in tags or tags.get(FULL_TAG) == "true"


@asset(partitions_def=partners_partitions, group_name=ANALYTICS, deps=["leads"],
       io_manager_key=IO_MANAGER_KEY, kinds={"polars", "parquet", "hubspot"})
def lead_stage_history(context: AssetExecutionContext, config: StageHistoryConfig,
                       platform: PlatformResource) -> Output[pl.DataFrame]:
    """Every stage and marketplace-status transition of the partner's leads: canonical
    value, HubSpot pipeline/stage, time, source (hubspot_pull, webhook, platform,
    marketplace) and whether the time is exact (HubSpot's property history)."""
    partner_id = context.partition_key
    db = platform.db()
    full = _rebuild(context, config)
    figures: dict[str, object] = {"rebuilt_from_hubspot": full}
    refreshed = None
    if partner_id in connected_partner_ids(db):
        settings = platform.settings()
        try:
            api = HubSpotApi(settings, PartnerTokens(db, settings, partner_id))
            refreshed = refresh_from_hubspot(db, partner_id, api_reader(api), full=full)
        except Exception as exc:
            if full:
                raise  # a backfill that cannot read HubSpot must not look done
            # HubSpot or token trouble: the waiting events keep their approximate
            # times and are refreshed by the next run; the table is still built.
            context.log.warning(f"{partner_id}: HubSpot history not read ({exc})")
            refreshed = None
            figures["hubspot_history_error"] = str(exc)[:300]
    elif partner_id in linked_partner_ids(db):
        # Linked, but its syncs are paused (HubSpot refused the refresh token, or the
        # partner is deactivated): nothing to read until it reconnects.
        paused = "HubSpot connection paused: reconnect HubSpot (or reactivate the partner)"
        if full:
            raise RuntimeError(f"{partner_id}: {paused}; the history was not rebuilt")
        figures["hubspot_history_error"] = paused
    if refreshed is not None:
        figures.update(hubspot_history_requests=refreshed.requests,
                       deals_read=refreshed.deals, events_from_hubspot=refreshed.events_written,
                       approximate_events_replaced=refreshed.events_replaced,
                       deals_missing_in_hubspot=len(refreshed.missing_deals))
        context.log.info(f"{partner_id}: HubSpot history of {refreshed.deals} deals in "
                         f"{refreshed.requests} requests, {refreshed.events_written} events")
    history = sources.partner_history(db, partner_id)
    stage_rows = history.filter(pl.col("kind") == "stage")
    metadata = {
        "dagster/row_count": history.height,
        "leads": history["lead_id"].n_unique(),
        "stage_transitions": stage_rows.height,
        "status_transitions": history.height - stage_rows.height,
        "exact_times": int(history["exact"].sum()),
        "by_source": MetadataValue.json(counts(history, "source")),
        "current_stage": MetadataValue.json(counts(
            stage_rows.group_by("lead_id").agg(pl.col("to_value").last()), "to_value")),
        **figures,
        "preview": preview(history.sort("at_ms", descending=True),
                           ["lead_id", "kind", "at", "from_value", "to_value", "source",
                            "hubspot_stage_id"]),
    }
    return Output(history, metadata=metadata)


@asset(partitions_def=partners_partitions, group_name=MARKETPLACE, deps=["leads"],
       io_manager_key=IO_MANAGER_KEY, kinds={"polars", "parquet"})
def marketplace_listings(context: AssetExecutionContext,
                         platform: PlatformResource) -> Output[pl.DataFrame]:
    """The partner's listed leads as buyers see them (``listing_view``: no contact or
    company data, the buyer's price), and how its leads stand against the auto-listing
    rule (an open ``non_fit`` lead is listed)."""
    partner_id = context.partition_key
    db = platform.db()
    table = partner_listings(db, platform.settings(),
                             partner_id)
    frame = table.listings
    prices = frame["price_cents"]
    metadata = {
        "dagster/row_count": frame.height,
        "leads": table.leads,
        "listed": table.listed,
        "waiting_for_auto_listing": table.rule_pending,
        "non_fit_off_market": table.non_fit_off_market,
        "median_price_cents": int(prices.median()) if frame.height else 0,
        "listed_value_cents": int(prices.sum()) if frame.height else 0,
        "by_industry": MetadataValue.json(counts(frame, "industry")),
        "preview": preview(frame, ["id", "industry", "company_size", "location", "stage",
                                   "price_cents", "buyer_total_cents", "age_days"]),
    }
    return Output(frame, metadata=metadata)


marketplace_purchases = AssetSpec(
    "marketplace_purchases",
    deps=[marketplace_listings],
    group_name=MARKETPLACE,
    kinds={"stripe", "mongodb"},
    description="Purchases of listed leads, paid through Stripe. Written by the API "
                "(Stripe webhooks); each completion or refund is reported here by "
                "purchases_outbox_sensor, so the lineage reads listings → purchases → "
                "invoices.",
)


@asset(partitions_def=partners_partitions, group_name=ANALYTICS,
       deps=[marketplace_purchases], io_manager_key=IO_MANAGER_KEY, kinds={"polars", "parquet"})
def partner_funnel(context: AssetExecutionContext, platform: PlatformResource,
                   lead_stage_history: pl.DataFrame) -> Output[pl.DataFrame]:
    """One row per day of the partner's funnel: leads entering each stage, conversion
    to a later stage, median time in stage, win rate, listed → reserved → sold, days to
    sell, revenue, commission paid and earned."""
    partner_id = context.partition_key
    db = platform.db()
    operator = sources.is_operator(db, partner_id)
    purchases = sources.purchases_of(db, partner_id, is_operator=operator)
    days = funnel_table(lead_stage_history, purchases, partner_id=partner_id,
                        is_operator=operator)
    recent = days.tail(RECENT_DAYS)
    won, lost = int(recent["entered_won"].sum()), int(recent["entered_lost"].sum())
    metadata = {
        "dagster/row_count": days.height,
        "first_day": str(days["day"].min()) if days.height else "none",
        "last_day": str(days["day"].max()) if days.height else "none",
        f"last_{RECENT_DAYS}_days": MetadataValue.json({
            **{f"entered_{s}": int(recent[f"entered_{s}"].sum()) for s in STAGES},
            "win_rate": round(won / (won + lost), 4) if won + lost else None,
            "listed": int(recent["listed"].sum()), "reserved": int(recent["reserved"].sum()),
            "sold": int(recent["sold"].sum()),
            "revenue_cents": int(recent["revenue_cents"].sum()),
            "commission_paid_cents": int(recent["commission_paid_cents"].sum()),
            "commission_earned_cents": int(recent["commission_earned_cents"].sum()),
        }),
        "revenue_cents_total": int(days["revenue_cents"].sum()) if days.height else 0,
        "preview": preview(days.sort("day", descending=True),
                           ["day", "entered_new", "entered_won", "entered_lost", "win_rate",
                            "listed", "reserved", "sold", "revenue_cents"]),
    }
    return Output(days, metadata=metadata)
