"""Asset checks an analyst can trust, over ``pc_core.analytics.checks``' rules.

Blocking (a failure stops what depends on the asset in the same run):
``no_lead_sold_twice`` (before the funnel counts revenue), ``listings_expose_no_contact_data``,
``invoice_totals_add_up``. Warnings: ``leads_match_hubspot_deals`` (runs in every sync
run, for its partner), ``partners_synced_recently``, ``webhook_inbox_fresh``. Every
failure emails the operator (``pc_core.analytics.check_emails``, at most hourly per check).
The global checks run every five minutes in ``data_quality_job``.
"""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    MetadataValue,
    asset_check,
)
from pymongo.database import Database

from pc_core import collections as c
from pc_core.analytics import check_emails as alerts
from pc_core.analytics import checks as rules
from pc_core.analytics.listings import partner_listings
from pc_core.hubspot.connection.oauth import PartnerTokens, connected_partner_ids
from pc_core.hubspot.connection.transport import HubSpotApi
from pc_core.timeutil import utcnow
from pc_pipelines.analytics.assets import marketplace_listings, marketplace_purchases
from pc_pipelines.resources import PlatformResource

ERROR, WARN = AssetCheckSeverity.ERROR, AssetCheckSeverity.WARN
PARTITION_TAG = "dagster/partition"


def _partners(context: AssetCheckExecutionContext, db: Database) -> list[str]:
    """The run's partner (a partitioned run's tag), else every partner."""
    partner = context.run.tags.get(PARTITION_TAG)
    if partner:
        return [partner]
    return sorted(d["_id"] for d in db[c.PARTNERS].find({}, {"_id": 1}))


def _result(platform: PlatformResource, name: str, problems: list[str],
            severity: AssetCheckSeverity, summary: str, **metadata: object) -> AssetCheckResult:
    """The check's result; a failure also emails the operator."""
    passed = not problems
    emailed = False
    if not passed:
        settings = platform.settings()
        emailed = alerts.check_failed(platform.db(), settings, name, summary, problems)
    return AssetCheckResult(
        passed=passed, severity=severity,
        metadata={**metadata, "problems": len(problems), "operator_emailed": emailed,
                  "details": MetadataValue.md("\n".join(f"- {p}" for p in problems[:50])
                                              or "none")},
    )


@asset_check(asset=marketplace_purchases.key, blocking=True,
             description="No lead has more than one completed sale")
def no_lead_sold_twice(platform: PlatformResource) -> AssetCheckResult:
    twice = rules.leads_sold_twice(platform.db())
    problems = [f"lead {t['lead_id']} sold {t['sales']} times: {', '.join(t['purchases'])}"
                for t in twice]
    return _result(platform, "no_lead_sold_twice", problems, ERROR,
                   f"{len(twice)} leads were sold more than once.", leads_sold_twice=len(twice))


@asset_check(asset=marketplace_listings, blocking=True,
             description="No listing shows a contact's or company's data (the run's "
                         "partner, or every partner outside a partner's run)")
def listings_expose_no_contact_data(context: AssetCheckExecutionContext,
                                    platform: PlatformResource) -> AssetCheckResult:
    db = platform.db()
    settings = platform.settings()
    problems: list[str] = []
    listings = 0
    for partner_id in _partners(context, db):
        frame = partner_listings(db, settings, partner_id).listings
        listings += frame.height
        problems += rules.listings_leaking(db, frame)
    return _result(platform, "listings_expose_no_contact_data", problems, ERROR,
                   f"{len(problems)} listings expose contact data.", listings=listings)


@asset_check(asset="monthly_invoices", blocking=True,
             description="Each invoice's total = purchases - refunds - credits (+ debits)")
def invoice_totals_add_up(platform: PlatformResource) -> AssetCheckResult:
    problems = rules.invoice_problems(platform.db())
    return _result(platform, "invoice_totals_add_up", problems, ERROR,
                   f"{len(problems)} invoices do not add up.")


@asset_check(asset="leads", description="After a sync, each partner's leads match its "
                                        "HubSpot deals in count (the run's partner in a "
                                        "sync run)")
def leads_match_hubspot_deals(context: AssetCheckExecutionContext,
                              platform: PlatformResource) -> AssetCheckResult:
    db = platform.db()
    settings = platform.settings()
    connected = set(connected_partner_ids(db))
    problems: list[str] = []
    checked = 0
    for partner_id in _partners(context, db):
        if partner_id not in connected:
            continue
        api = HubSpotApi(settings, PartnerTokens(db, settings, partner_id))
        answer = api.search("deals", {"filterGroups": [], "properties": ["hs_object_id"],
                                      "limit": 1})
        gap = rules.deal_count_gap(db, partner_id, int(answer.get("total") or 0))
        checked += 1
        if gap["difference"]:
            problems.append(f"{partner_id}: HubSpot has {gap['hubspot_deals']} deals, the "
                            f"platform {gap['leads']} leads")
    return _result(platform, "leads_match_hubspot_deals", problems, WARN,
                   "A partner's leads do not match its HubSpot deals after a sync.",
                   partners_checked=checked)


@asset_check(asset="leads", description="Each connected partner synced successfully "
                                        "within the last 30 minutes")
def partners_synced_recently(platform: PlatformResource) -> AssetCheckResult:
    now = utcnow()
    stale = rules.stale_partners(platform.db(), now)
    problems = [f"{s.partner_id}: last successful sync "
                + (f"{(now - s.last_synced_at).total_seconds() / 60:.0f} minutes ago"
                   if s.last_synced_at else "never") for s in stale]
    return _result(platform, "partners_synced_recently", problems, WARN,
                   f"{len(stale)} connected partners have not synced in 30 minutes.",
                   stale_partners=len(stale))


@asset_check(asset="leads", description="The webhook inbox's oldest unprocessed event is "
                                        "under a minute old")
def webhook_inbox_fresh(platform: PlatformResource) -> AssetCheckResult:
    lag = rules.inbox_lag(platform.db())
    limit = rules.INBOX_MAX_AGE.total_seconds()
    problems = [f"{partner}: oldest unprocessed event {age:.0f} s old"
                for partner, age in sorted(lag.by_partner.items()) if age >= limit]
    return _result(platform, "webhook_inbox_fresh", problems, WARN,
                   "HubSpot webhook events wait longer than a minute.",
                   oldest_unprocessed_s=round(lag.oldest_age_s, 1), pending_events=lag.pending)


ASSET_CHECKS = [no_lead_sold_twice, listings_expose_no_contact_data, invoice_totals_add_up,
                leads_match_hubspot_deals, partners_synced_recently, webhook_inbox_fresh]
#: Checks over the whole platform, run every five minutes.
GLOBAL_CHECKS = [no_lead_sold_twice, invoice_totals_add_up, partners_synced_recently,
                 webhook_inbox_fresh]
