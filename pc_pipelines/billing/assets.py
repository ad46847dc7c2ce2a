"""``monthly_invoices``: one partition per calendar month (UTC).

A materialisation builds every partner's invoice for the month from its
completed purchases (``pc_core.billing.build``), sends the drafts to Stripe and
closes them (``stripe_invoices``), then runs the check "invoice totals equal the
completed purchases of the month" in the same run, for that partition.
Re-materialising a month (a backfill from the UI) rebuilds drafts identically and
leaves finalised or paid invoices alone; corrections to those are carried on a
later open month.

Partition keys are the months as the API and invoices name them (``2026-11``: the
store's month key, ``MONTH_FORMAT``), one naming wherever a user sees a month. They
start at 2025-01, before the platform's first purchase: an earlier month has no
purchases and materialises to no invoices. The current month is not a partition yet (Dagster adds
a month once it has ended), and even when asked to, the asset never sends or locks a
month that has not ended (UTC): it builds its drafts only, whatever the config.
"""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    MonthlyPartitionsDefinition,
    asset,
)

from pc_core.billing.build import build_month
from pc_core.billing.checks import check_month_totals
from pc_core.billing.months import has_ended
from pc_core.billing.stripe_invoices import finalize_month
from pc_core.store.keys import MONTH_FORMAT
from pc_pipelines.resources import PlatformResource

GROUP = "billing"
CHECK_NAME = "invoice_totals_match_purchases"
monthly_partitions = MonthlyPartitionsDefinition(start_date="2025-01", fmt=MONTH_FORMAT,
                                                 timezone="UTC")


class MonthlyInvoicesConfig(Config):
    """``send_to_stripe: false`` builds drafts only (a preview that stays open). A
    month that has not ended is never sent, whatever this says."""

    send_to_stripe: bool = True


def month_of_partition(partition_key: str) -> str:
    """The partition key is the month (``2026-10``); a key of the older daily form
    (``2026-10-01``, runs recorded before the rename) names the same month."""
    return partition_key[:7]


@asset(
    partitions_def=monthly_partitions,
    group_name=GROUP,
    # Lineage: HubSpot → leads → marketplace_listings → marketplace_purchases (the
    # external asset the API's purchases report into, pc_pipelines/analytics) → here.
    deps=["marketplace_purchases"],
    kinds={"stripe", "mongodb"},
    check_specs=[AssetCheckSpec(
        CHECK_NAME, asset="monthly_invoices",
        description="Each partner's month total equals its completed purchases minus credits",
    )],
)
def monthly_invoices(context: AssetExecutionContext, config: MonthlyInvoicesConfig,
                     platform: PlatformResource) -> MaterializeResult:
    """Every partner's invoice for the month: purchase lines, refund credits,
    corrections to locked months; sent to Stripe and closed."""
    month = month_of_partition(context.partition_key)
    db = platform.db()
    built = build_month(db, month)
    context.log.info(f"{month}: {built.partners} invoices, {built.created} created, "
                     f"{built.updated} updated, {built.unchanged} unchanged, "
                     f"{built.locked} locked, {built.conflicts} conflicts")
    metadata = {
        "month": month, "invoices": built.partners, "created": built.created,
        "updated": built.updated, "unchanged": built.unchanged,
        "locked_untouched": built.locked, "conflicts": built.conflicts,
        "lines": built.lines, "adjustment_lines": built.adjustment_lines,
        "total_cents": built.total_cents,
    }
    still_open = not has_ended(month)
    metadata["month_still_open"] = still_open
    if still_open:
        context.log.warning(f"{month} has not ended: its invoices stay drafts (not sent, "
                            "not locked)")
    elif config.send_to_stripe:
        sent = finalize_month(db, platform.settings(), month)
        metadata.update(stripe_finalized=sent.finalized, stripe_paid=sent.paid,
                        closed_empty=sent.closed_empty, stripe_errors=len(sent.errors))
        if sent.errors:
            raise Failure(f"{len(sent.errors)} invoices could not be sent to Stripe; "
                          "re-run the partition to retry them",
                          metadata={"errors": MetadataValue.text("\n".join(sent.errors[:50]))})
    check = check_month_totals(db, month)
    listing = "\n".join(f"{m['partner_id']}: expected {m['expected_cents']}, billed "
                        f"{m['billed_cents']}" for m in check.mismatches[:50])
    return MaterializeResult(
        metadata=metadata,
        check_results=[AssetCheckResult(
            check_name=CHECK_NAME, passed=check.passed, severity=AssetCheckSeverity.ERROR,
            metadata={"partners": check.partners, "expected_cents": check.expected_cents,
                      "billed_cents": check.billed_cents,
                      "mismatches": len(check.mismatches),
                      "details": MetadataValue.text(listing or "none")},
        )],
    )
