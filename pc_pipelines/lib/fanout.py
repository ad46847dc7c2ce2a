"""The launch rule of the multi-partner runs (webhook apply, pushback, cross-partner):
at most **one** run per sensor tick, none while a run of the job is queued or in
progress, covering every partner with pending work. Launches per minute are then
bounded by the sensor's interval, whatever the number of partners (issue 14.8); the
run fans out per partner inside (``pc_core.hubspot.sync_back.partner_runs``).

The run key is a digest of what is pending (``run_keys``): the same pending set is
launched once, new work launches again. With ``retry_after_s``, a set a failed run
left untouched is launched again after that long (``RetryingKeys``); without it, it
waits for new work or the 15-minute sync.

``backstop_run`` is the same rule for the backstops of queues that are not per
partner (sales due for the buyer's CRM, saved-search e-mails): stale pending work →
one run, retried after ``retry_after_s`` while the same set stays pending.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence

from dagster import (
    DagsterRunStatus,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
)

from pc_pipelines.lib.run_keys import RetryingKeys, digest
from pc_pipelines.lib.run_tags import TRIGGER_TAG, fanout_tags

ACTIVE = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
          DagsterRunStatus.STARTED]
SCOPE = "all"


def run_active(context: SensorEvaluationContext, job_name: str) -> bool:
    return bool(context.instance.get_runs(
        filters=RunsFilter(job_name=job_name, statuses=ACTIVE), limit=1))


def one_run(context: SensorEvaluationContext, job_name: str, *, prefix: str, trigger: str,
            pending: dict[str, Iterable[str]], retry_after_s: float | None = None,
            **tags: str) -> SensorResult:
    """The tick's one run request for every partner in ``pending`` (partner → what is
    pending for it, for the run key), or why there is none."""
    if not pending:
        return SensorResult(skip_reason="nothing pending", cursor=context.cursor)
    if run_active(context, job_name):
        return SensorResult(skip_reason=f"{len(pending)} partners pending; a {job_name} run "
                            "is in progress", cursor=context.cursor)
    base = f"{prefix}:" + digest(f"{p}:{item}" for p, items in pending.items() for item in items)
    cursor = context.cursor
    if retry_after_s is None:
        key: str | None = base
    else:
        keys = RetryingKeys(context.cursor, retry_after_s)
        key = keys.key_for(SCOPE, base, time.time())
        cursor = keys.cursor()
        if key is None:
            return SensorResult(skip_reason=f"{len(pending)} partners pending; their run was "
                                f"requested less than {retry_after_s:.0f} s ago", cursor=cursor)
    request = RunRequest(run_key=key, tags=fanout_tags(job_name, len(pending),
                                                       **{TRIGGER_TAG: trigger}, **tags))
    return SensorResult(run_requests=[request], cursor=cursor)


def backstop_run(context: SensorEvaluationContext, job_name: str, *, pending: Sequence[str],
                 prefix: str, retry_after_s: float, idle: str, noun: str, run_name: str,
                 tags: Mapping[str, str]) -> SensorResult | SkipReason:
    """The tick's one run for the work the hot path left behind (``pending``: one text
    per item, for the run key; ``tags`` on the request), or why there is none:
    ``idle`` with nothing pending, else "N ``noun``; a ``run_name`` run is in
    progress" or "...; their run was requested less than ``retry_after_s`` ago"."""
    if not pending:
        return SkipReason(idle)
    if run_active(context, job_name):
        return SkipReason(f"{len(pending)} {noun}; a {run_name} run is in progress")
    keys = RetryingKeys(context.cursor, retry_after_s)
    key = keys.key_for(SCOPE, f"{prefix}:" + digest(pending), time.time())
    if key is None:
        return SkipReason(f"{len(pending)} {noun}; their run was requested less than "
                          f"{retry_after_s:.0f} s ago")
    return SensorResult(run_requests=[RunRequest(run_key=key, tags=dict(tags))],
                        cursor=keys.cursor())
