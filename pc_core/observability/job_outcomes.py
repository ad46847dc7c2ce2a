"""The last outcome of every Dagster job, kept in MongoDB for the API's /metrics.

Dagster runs in pods of their own that Prometheus does not scrape, and Dagster's
run storage is Postgres the API does not read. The run-status sensors
(``pc_pipelines/alerts/sensors.py``) record each finished run here, one document per
job; ``platform_collector`` exports them as ``pc_dagster_job_*``.

Times are epoch seconds (floats), counters plain integers: no dates or booleans
written through ``$set`` (see the README's storage rules).
"""

from __future__ import annotations

import time
from typing import Any

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

JOB_OUTCOMES = "dagster_job_outcomes"
SUCCESS, FAILURE = "success", "failure"


def record_outcome(db: Database, job: str, run_id: str, status: str, *,
                   partner_id: str | None = None, message: str | None = None,
                   finished_at: float | None = None) -> bool:
    """Record that ``run_id`` of ``job`` ended with ``status`` ("success" or
    "failure"). Once per run: a sensor that sees the same run again (a retried tick)
    changes nothing. Returns whether this call recorded it."""
    if status not in (SUCCESS, FAILURE):
        raise ValueError(f"unknown run outcome {status!r}")
    changes = {
        "job": job,
        "last_status": status,
        "last_run_id": run_id,
        "last_partner_id": partner_id,
        "last_finished_ts": float(finished_at if finished_at is not None else time.time()),
        "last_message": (message or "")[:500],
    }
    try:
        result = db[JOB_OUTCOMES].update_one(
            {"_id": job, "last_run_id": {"$ne": run_id}},
            {"$set": changes, "$inc": {f"{status}_total": 1}},
            upsert=True,
        )
    except DuplicateKeyError:  # the job's document exists and already has this run
        return False
    return bool(result.modified_count or result.upserted_id is not None)


def outcomes(db: Database) -> list[dict[str, Any]]:
    return list(db[JOB_OUTCOMES].find({}))
