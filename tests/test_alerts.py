"""The run-failure alert: a failed Dagster run emails the operator (Mailgun sandbox), marks
the partner's HubSpot sync failed in ``GET /v1/integrations/hubspot/status`` until the next
good pull, and is counted in the job outcomes /metrics exports; successful runs are
recorded too. Runs are real (executed in a Dagster instance of the test's own)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from dagster import (
    DagsterEventType,
    DagsterInstance,
    build_run_status_sensor_context,
    job,
    op,
)

from pc_core import collections as c
from pc_core.hubspot.connection.oauth import mark_synced
from pc_core.observability import job_outcomes
from pc_core.timeutil import utcnow
from pc_pipelines.alerts.sensors import run_failure_alert_sensor, run_success_outcome_sensor
from pc_pipelines.lib.run_tags import partner_tags
from pc_pipelines.resources import PlatformResource

LEAKED = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJsZWFrIn0.c2lnbmF0dXJlLWxlYWs"


def _failing(name: str):
    @op(name=f"{name}_op")
    def explode() -> None:
        raise RuntimeError(f"HubSpot answered 500 while we sent Authorization: {LEAKED}")

    @job(name=name)
    def failing() -> None:
        explode()

    return failing


@op
def fine() -> None:
    pass


@job(name="hubspot_sync_job")
def succeeding() -> None:
    fine()


@pytest.fixture
def mailbox(sandbox_url, monkeypatch) -> Iterator[httpx.Client]:
    """The sensor's settings come from the environment, as in a deployment."""
    monkeypatch.setenv("PC_MAILGUN_BASE_URL", sandbox_url + "/mailgun")
    monkeypatch.delenv("PC_ALERT_EMAILS", raising=False)
    with httpx.Client(base_url=sandbox_url + "/mailgun/_sandbox", timeout=10) as box:
        box.delete("/messages").raise_for_status()
        yield box


@pytest.fixture
def connected_a(db, world):
    partner = db[c.PARTNERS].find_one({"_id": world.partner_a})
    db[c.PARTNERS].replace_one({"_id": world.partner_a}, {**partner, "hubspot": {
        "portal_id": "4242", "scopes": [], "last_synced_at": utcnow(),
        "connected_at": utcnow()}})
    return world.partner_a


def _sensor_context(instance: DagsterInstance, run_id: str, settings, status_type):
    run = instance.get_run_by_id(run_id)
    [event] = [e.dagster_event for e in instance.all_logs(run_id)
               if e.dagster_event and e.dagster_event.event_type == status_type]
    return build_run_status_sensor_context(
        sensor_name="alerts", dagster_event=event, dagster_instance=instance, dagster_run=run,
        resources={"platform": PlatformResource.of(settings)})


def _fail(instance, settings, name: str, tags: dict[str, str]) -> str:
    result = _failing(name).execute_in_process(instance=instance, tags=tags,
                                               raise_on_error=False)
    assert not result.success
    ctx = _sensor_context(instance, result.run_id, settings, DagsterEventType.RUN_FAILURE)
    run_failure_alert_sensor(ctx.for_run_failure())
    return result.run_id


def test_failed_partner_run_alerts_and_marks_the_sync_failed(
        client, db, settings, world, instance, mailbox, connected_a):
    run_id = _fail(instance, settings, "hubspot_webhook_job", partner_tags(connected_a))

    status = client.get("/v1/integrations/hubspot/status", headers=world.admin_a.headers).json()
    assert status["sync_status"] == "failed"
    assert status["last_failed_job"] == "hubspot_webhook_job"
    assert "HubSpot answered 500" in status["last_sync_error"]
    assert LEAKED.split()[1] not in status["last_sync_error"]
    assert status["last_sync_failed_at"] is not None
    other = client.get("/v1/integrations/hubspot/status", headers=world.admin_b.headers).json()
    assert other["sync_status"] is None  # B is not connected, and not touched

    [mail] = mailbox.get("/messages", params={"to": world.owner.email}).json()["items"]
    assert "hubspot_webhook_job" in mail["subject"] and "Agency A" in mail["subject"]
    body = mail.get("text") or ""
    assert run_id in body and "HubSpot answered 500" in body
    assert LEAKED.split()[1] not in str(mail)

    [outcome] = job_outcomes.outcomes(db)
    assert (outcome["job"], outcome["last_status"], outcome["failure_total"]) == (
        "hubspot_webhook_job", "failure", 1)

    # the sensor seeing the same run again changes nothing and sends nothing more
    run_failure_alert_sensor(_sensor_context(instance, run_id, settings,
                                             DagsterEventType.RUN_FAILURE).for_run_failure())
    assert len(mailbox.get("/messages").json()["items"]) == 1
    assert job_outcomes.outcomes(db)[0]["failure_total"] == 1

    mark_synced(db, connected_a)  # the next good pull
    status = client.get("/v1/integrations/hubspot/status", headers=world.admin_a.headers).json()
    assert status["sync_status"] == "ok" and status["last_sync_error"] is None


def test_a_failed_job_without_a_partner_still_emails_the_operator(
        client, db, settings, world, instance, mailbox, connected_a, monkeypatch):
    monkeypatch.setenv("PC_ALERT_EMAILS", "ops@example.com, oncall@example.com")
    _fail(instance, settings, "reservation_expiry_job", {})
    items = mailbox.get("/messages").json()["items"]
    assert len(items) == 1 and "reservation_expiry_job" in items[0]["subject"]
    to = items[0]["to"]
    recipients = {t.strip() for t in (to.split(",") if isinstance(to, str) else to)}
    assert recipients == {"ops@example.com", "oncall@example.com"}
    status = client.get("/v1/integrations/hubspot/status", headers=world.admin_a.headers).json()
    assert status["sync_status"] == "ok"


def test_a_partition_run_from_the_ui_is_tied_to_its_partner(
        client, db, settings, world, instance, mailbox, connected_a):
    _fail(instance, settings, "hubspot_sync_job", {"dagster/partition": connected_a})
    status = client.get("/v1/integrations/hubspot/status", headers=world.admin_a.headers).json()
    assert status["sync_status"] == "failed" and status["last_failed_job"] == "hubspot_sync_job"


def test_successful_runs_are_recorded(db, settings, instance):
    result = succeeding.execute_in_process(instance=instance)
    ctx = _sensor_context(instance, result.run_id, settings, DagsterEventType.RUN_SUCCESS)
    run_success_outcome_sensor(ctx)
    [outcome] = job_outcomes.outcomes(db)
    assert (outcome["last_status"], outcome["success_total"]) == ("success", 1)
    assert outcome["last_run_id"] == result.run_id
