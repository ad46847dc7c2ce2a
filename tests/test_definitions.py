"""The code location loads with exactly the asset keys, jobs, sensors, schedules and
asset checks the README, the web client, the Helm values and run tags name (a feature
folder that forgets its ``defs`` or renames something fails here), and the
multi-partner sensors launch one run per tick whatever the number of partners."""

from __future__ import annotations

import uuid

import pytest
from dagster import DagsterInstance, DagsterRunStatus, build_sensor_context

from pc_core import collections as c
from pc_core.hubspot.connection import sync_health
from pc_core.hubspot.sync_back import partner_runs
from pc_pipelines.definitions import defs, feature_modules
from pc_pipelines.hubspot_webhooks.sensors import hubspot_webhook_sensor
from pc_pipelines.resources import PlatformResource


@pytest.fixture(autouse=True)
def _backstop_at_once(monkeypatch):
    """These tests are about the backstop run's launch rule, not its threshold (the
    hot-path worker's tests cover that): events count as left behind at once."""
    monkeypatch.setenv("PC_BACKSTOP_AFTER_SECONDS", "0")


ASSETS = {"hubspot_pipelines", "hubspot_contacts", "hubspot_deals", "leads",
          "hubspot_pushback", "cross_partner_sync", "monthly_invoices", "lead_stage_history",
          "marketplace_listings", "marketplace_purchases", "partner_funnel", "price_guidance",
          "pruned_history", "hubspot_reconciliation"}
JOBS = {"hubspot_sync_job", "hubspot_webhook_job", "hubspot_pushback_job",
        "cross_partner_sync_job", "crm_delivery_job", "lead_rebuild_job",
        "reservation_expiry_job", "monthly_invoices_job", "daily_reminders_job",
        "ensure_indexes_job", "analytics_job", "data_quality_job", "buyer_alert_digest_job",
        "buyer_alert_mail_job",
        "price_guidance_job", "price_guidance_freshness_job", "price_aging_job",
        "retention_job", "hubspot_reconcile_job", "return_deadlines_job"}
SCHEDULES = {"hubspot_sync_schedule", "reservation_expiry", "monthly_invoices_schedule",
             "daily_reminders_schedule", "data_quality_schedule", "buyer_alert_digest",
             "price_guidance_schedule", "price_guidance_freshness_schedule", "price_aging",
             "retention_schedule", "hubspot_reconcile_schedule", "return_deadlines"}
SENSORS = {"partners_sensor", "hubspot_sync_requests_sensor", "hubspot_sync_failure_sensor",
           "hubspot_webhook_sensor", "hubspot_pushback_sensor", "cross_partner_sensor",
           "crm_delivery_sensor", "lead_rebuild_sensor", "run_failure_alert_sensor",
           "run_success_outcome_sensor", "analytics_sensor", "purchases_outbox_sensor",
           "buyer_alert_mail_sensor"}
FEATURES = ["alerts", "analytics", "billing", "buyer_alerts", "crm_delivery",
            "hubspot_reconcile", "hubspot_sync", "hubspot_webhooks", "lead_rebuild",
            "maintenance", "marketplace", "price_guidance", "reminders", "sync_back"]


def _repo():
    return defs.get_repository_def()


def test_every_feature_folder_is_loaded():
    assert feature_modules() == FEATURES


def test_the_exact_set_of_assets_jobs_schedules_and_sensors():
    repo = _repo()
    assert {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()} == ASSETS
    assert {j.name for j in repo.get_all_jobs() if not j.name.startswith("__")} == JOBS
    assert {s.name for s in repo.schedule_defs} == SCHEDULES
    assert {s.name for s in repo.sensor_defs} == SENSORS


def test_the_exact_set_of_asset_checks():
    checks = {(k.asset_key.to_user_string(), k.name)
              for k in repo_checks(_repo())}
    assert checks == {
        ("hubspot_pipelines", "no_unmapped_stages"),
        ("hubspot_reconciliation", "no_hubspot_drift"),
        ("monthly_invoices", "invoice_totals_match_purchases"),
        ("price_guidance", "price_guidance_fresh"),
        ("price_guidance", "price_guidance_sample"),
        ("pruned_history", "nothing_past_retention"),
        *ANALYTICS_CHECKS,
    }


def repo_checks(repo):
    return repo.asset_graph.asset_check_keys


ANALYTICS_CHECKS = {
    ("marketplace_purchases", "no_lead_sold_twice"),
    ("marketplace_listings", "listings_expose_no_contact_data"),
    ("monthly_invoices", "invoice_totals_add_up"),
    ("leads", "leads_match_hubspot_deals"),
    ("leads", "partners_synced_recently"),
    ("leads", "webhook_inbox_fresh"),
}


def test_every_schedule_and_sensor_runs_by_default():
    repo = _repo()
    assert all(s.default_status.value == "RUNNING" for s in repo.schedule_defs)
    assert all(s.default_status.value == "RUNNING" for s in repo.sensor_defs)


# -- bounded launches (issue 14.8) --------------------------------------------------------


def _pending_partners(db, n: int) -> list[str]:
    """``n`` connected partners, each with pending webhook events."""
    ids = [f"launch-p{i:04d}" for i in range(n)]
    db[c.PARTNERS].insert_many([{"_id": p, "name": p, "rev": 1,
                                 "hubspot": {"portal_id": 1000 + i}}
                                for i, p in enumerate(ids)])
    db[c.WEBHOOK_EVENTS].insert_many([
        {"_id": f"{p}:{k}", "partner_id": p, "processed": False, "seq": i * 10 + k,
         "object_type": "deal", "object_id": str(k)} for i, p in enumerate(ids) for k in (1, 2)])
    return ids


def test_a_tick_with_many_partners_pending_launches_one_run(db, settings, tmp_path,
                                                            monkeypatch):
    for name, value in {"MONGODB_URI": settings.mongodb_uri, "REDIS_URL": settings.redis_url,
                        "PC_HUBSPOT_CLIENT_SECRET": "x", "PC_TOKEN_ENCRYPTION_KEY": "x"}.items():
        monkeypatch.setenv(name, value)  # the code location's resources, to record a run
    ids = _pending_partners(db, 40)
    assert set(partner_runs.webhook_pending(db)) == set(ids)
    resources = {"platform": PlatformResource.of(settings)}
    with DagsterInstance.local_temp(str(tmp_path)) as instance:
        result = hubspot_webhook_sensor(build_sensor_context(instance=instance,
                                                             resources=resources))
        [request] = result.run_requests
        assert request.tags["pc/partners"] == "40" and request.tags["pc/hubspot"] == "true"
        # while that run is in progress, the next tick launches nothing
        instance.create_run_for_job(
            _repo().get_job("hubspot_webhook_job"), run_id=str(uuid.uuid4()),
            status=DagsterRunStatus.STARTED, tags=request.tags)
        later = hubspot_webhook_sensor(build_sensor_context(
            instance=instance, resources=resources, cursor=result.cursor))
        assert later.run_requests == []


def test_one_partners_failure_does_not_stop_the_others(db):
    ids = _pending_partners(db, 5)
    done: list[str] = []

    def work(partner_id: str) -> str:
        if partner_id == ids[2]:
            raise RuntimeError("portal unreachable")
        done.append(partner_id)
        return partner_id

    report = partner_runs.for_each_partner(db, ids, work, job="hubspot_webhook_job",
                                           run_id="run-1", max_workers=3)
    assert sorted(done) == sorted(ids[:2] + ids[3:])
    [failed] = report.failed
    assert failed.partner_id == ids[2] and "portal unreachable" in failed.error
    health = sync_health.health_fields(db[c.PARTNERS].find_one({"_id": ids[2]})["hubspot"])
    assert health["sync_status"] == sync_health.FAILED
    assert health["last_failed_job"] == "hubspot_webhook_job"
