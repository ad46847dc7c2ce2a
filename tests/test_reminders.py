"""Daily reminders against nx-27017 and the Mailgun sandbox: reservations expiring
within a day (buyer), unmapped HubSpot stages (admins), tomorrow's meetings (the
partner); a second run of the day sends nothing again; the job and its schedule."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from dagster import build_schedule_context

from pc_core import collections as c
from pc_core.reminders.daily import run_daily_reminders
from pc_core.reminders.meetings import meetings_on
from pc_core.settings import Settings
from pc_core.store.keys import time_key
from pc_core.timeutil import utcnow
from pc_pipelines.reminders.jobs import daily_reminders_job, daily_reminders_schedule
from pc_pipelines.resources import PlatformResource
from tests.conftest import market_settings
from tests.marketplace_helpers import listed_lead, reserve


@pytest.fixture
def settings(stores, sandbox_url) -> Settings:
    return market_settings(stores, sandbox_url)


@pytest.fixture
def mailbox(sandbox_url) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox_url + "/mailgun/_sandbox", timeout=10) as box:
        box.delete("/messages").raise_for_status()
        yield box


def _tags(mailbox: httpx.Client, to: str) -> list[str]:
    return sorted(t for m in mailbox.get("/messages", params={"to": to}).json()["items"]
                  for t in m["tags"])


def _meeting(db, mid: str, partner_id: str | None, start: datetime,
             status: str = "scheduled") -> None:
    db[c.MEETINGS].insert_one({
        "_id": f"chilipiper:{mid}", "source": "chilipiper", "chili_meeting_id": mid,
        "meeting_type": "Discovery call", "start_time": start, "status": status,
        "lead_id": None, "partner_id": partner_id, "unassigned": partner_id is None,
        "form": {"name": "Grace Hopper", "email": "grace@navy.example.com",
                 "company": "Navy"},
        "created_at": utcnow(), "updated_at": utcnow(), "rev": 1,
    })


def _world_of_reminders(client, db, world, now: datetime) -> str:
    # Agency B's reservation runs out in 10 hours; another one in 3 days.
    soon = reserve(client, world.admin_b, listed_lead(db, world.partner_a)).json()["id"]
    later = reserve(client, world.admin_b, listed_lead(db, world.partner_a)).json()["id"]
    for rid, left in ((soon, timedelta(hours=10)), (later, timedelta(days=3))):
        doc = db[c.RESERVATIONS].find_one({"_id": rid})
        db[c.RESERVATIONS].replace_one({"_id": rid}, {**doc, "expires_at": now + left,
                                                      "expires_key": time_key(now + left)})
    # Agency A has two unmapped HubSpot stages, B none.
    for i, canonical in enumerate((None, None, "won")):
        db[c.STAGE_MAPPINGS].insert_one({
            "_id": f"{world.partner_a}:p1:s{i}", "partner_id": world.partner_a,
            "pipeline_id": "p1", "pipeline_label": "Sales", "stage_id": f"s{i}",
            "stage_label": f"Stage {i}", "canonical_stage": canonical,
            "suggested_stage": "proposal" if i == 0 else None,
        })
    tomorrow = (now + timedelta(days=1)).replace(hour=15, minute=30)
    _meeting(db, "m-tomorrow", world.partner_b, tomorrow)
    _meeting(db, "m-cancelled", world.partner_b, tomorrow, status="cancelled")
    _meeting(db, "m-unassigned", None, tomorrow)
    _meeting(db, "m-later", world.partner_b, tomorrow + timedelta(days=1))
    _meeting(db, "m-today", world.partner_a, now + timedelta(hours=2))
    return soon


def test_each_reminder_is_sent_once_even_when_run_twice(client, db, world, settings, mailbox):
    now = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    soon = _world_of_reminders(client, db, world, now)
    assert [m["_id"] for m in meetings_on(db, (now + timedelta(days=1)).date())] == [
        "chilipiper:m-tomorrow"]

    first = run_daily_reminders(db, settings, now)
    assert (first.reservations, first.unmapped_stages, first.meetings) == (1, 1, 1)
    second = run_daily_reminders(db, settings, now + timedelta(minutes=5))
    assert (second.reservations, second.unmapped_stages, second.meetings) == (0, 0, 0)

    assert _tags(mailbox, world.admin_b.email) == ["meeting_reminder", "reservation_expiring"]
    assert _tags(mailbox, world.admin_a.email) == ["unmapped_stages"]
    assert _tags(mailbox, world.user_b.email) == []  # admins get them, not every user
    [stages] = mailbox.get("/messages", params={"to": world.admin_a.email}).json()["items"]
    assert "Stage 0" in stages["text"] and "Stage 1" in stages["text"]
    assert "Stage 2" not in stages["text"] and "suggested: proposal" in stages["text"]
    [meeting] = [m for m in mailbox.get("/messages", params={"to": world.admin_b.email})
                 .json()["items"] if m["tags"] == ["meeting_reminder"]]
    assert "15:30 UTC" in meeting["text"] and "Grace Hopper" in meeting["text"]
    assert db[c.EMAILS].find_one({"_id": f"reservation-expiring:{soon}"})["status"] == "sent"
    day = now.date().isoformat()
    assert db[c.EMAILS].find_one({"_id": f"unmapped-stages:{world.partner_a}:{day}"})

    # The next day: the stages are still unmapped, so the admins hear again (once).
    next_day = run_daily_reminders(db, settings, now + timedelta(days=1))
    assert next_day.unmapped_stages == 1 and next_day.reservations == 0
    assert _tags(mailbox, world.admin_a.email) == ["unmapped_stages", "unmapped_stages"]


def test_job_runs_twice_and_sends_once(client, db, world, settings, mailbox, monkeypatch):
    now = utcnow()
    _world_of_reminders(client, db, world, now)
    monkeypatch.setenv("PC_MAILGUN_BASE_URL", settings.mailgun_base_url)
    platform = PlatformResource.of(settings)
    for _ in range(2):
        assert daily_reminders_job.execute_in_process(resources={"platform": platform}).success
    assert _tags(mailbox, world.admin_a.email) == ["unmapped_stages"]
    assert _tags(mailbox, world.admin_b.email).count("reservation_expiring") == 1


def test_schedule_is_daily_at_nine_utc_with_a_run_key_per_day():
    assert daily_reminders_schedule.cron_schedule == "0 9 * * *"
    assert daily_reminders_schedule.execution_timezone == "UTC"
    when = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
    request = daily_reminders_schedule.evaluate_tick(
        build_schedule_context(scheduled_execution_time=when)).run_requests[0]
    assert request.run_key == "daily-reminders:2026-11-03"
