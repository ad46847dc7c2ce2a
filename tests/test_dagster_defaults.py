"""Everything the README says runs on a clock or on an event runs on a fresh
deployment with no click in the Dagster UI: every schedule and sensor of the loaded
code location defaults to RUNNING. An exception must be named here *and* justified
in docs/operations.md's "Dagster schedules and sensors" table."""

from __future__ import annotations

from dagster import DefaultScheduleStatus, DefaultSensorStatus

from pc_pipelines.definitions import defs

# name → why it is off by default (mirror docs/operations.md). None today.
OFF_BY_DEFAULT: dict[str, str] = {}


def _repo():
    return defs.get_repository_def()


def test_every_schedule_is_running_by_default():
    schedules = _repo().schedule_defs
    assert {s.name for s in schedules} >= {
        "reservation_expiry", "hubspot_sync_schedule", "monthly_invoices_schedule",
        "daily_reminders_schedule"}
    stopped = [s.name for s in schedules
               if s.default_status != DefaultScheduleStatus.RUNNING
               and s.name not in OFF_BY_DEFAULT]
    assert stopped == [], f"schedules STOPPED by default: {stopped}"


def test_every_sensor_is_running_by_default():
    sensors = _repo().sensor_defs
    assert {s.name for s in sensors} >= {"partners_sensor", "crm_delivery_sensor",
                                         "lead_rebuild_sensor"}
    stopped = [s.name for s in sensors
               if s.default_status != DefaultSensorStatus.RUNNING
               and s.name not in OFF_BY_DEFAULT]
    assert stopped == [], f"sensors STOPPED by default: {stopped}"


def test_reservation_expiry_ticks_every_minute():
    schedule = _repo().get_schedule_def("reservation_expiry")
    assert schedule.cron_schedule == "* * * * *"
    assert schedule.execution_timezone == "UTC"
