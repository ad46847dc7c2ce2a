"""Run outcomes: the failure alert (operator email, partner's sync failed) and the
figures behind ``pc_dagster_job_*`` (``pc_core.observability.operator_alerts``,
``pc_core.observability``)."""

from dagster import Definitions

from pc_pipelines.alerts.sensors import run_failure_alert_sensor, run_success_outcome_sensor

defs = Definitions(sensors=[run_failure_alert_sensor, run_success_outcome_sensor])
