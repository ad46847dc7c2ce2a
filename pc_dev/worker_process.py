"""``pc worker``: the hot-path worker as a process (pc_core.worker.runner), with its
logging, its stop signals and its Dagster reporter wired up."""

from __future__ import annotations

import logging
import os
import signal

from dagster import DagsterInstance

from pc_core.observability.logs import configure_logging
from pc_core.settings import Settings
from pc_core.store import leases, wakeups
from pc_core.store.indexes import ensure_indexes
from pc_core.worker.report_queue import ReportQueue
from pc_core.worker.runner import Worker
from pc_pipelines.lib.runless import DagsterReporter

log = logging.getLogger(__name__)


def run_worker(settings: Settings, lanes: tuple[str, ...] = wakeups.LANES) -> None:
    """Run until SIGTERM or SIGINT; the current pass finishes first (its leases are
    released; a SIGKILL instead leaves them to expire)."""
    unknown = set(lanes) - set(wakeups.LANES)
    if unknown:
        raise SystemExit(f"unknown lane(s): {', '.join(sorted(unknown))}")
    configure_logging(settings.log_format, settings.log_level)
    holder = leases.holder_name("worker")
    instance = DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else None
    if instance is None:
        log.warning("DAGSTER_HOME is not set: applied batches are not reported to Dagster")
    # reported from a thread of their own: a pass does not wait for Dagster's writes
    reports = ReportQueue(DagsterReporter(instance, holder), name="dagster-reports") \
        if instance else None
    worker = Worker(settings, holder=holder, lanes=lanes, report=reports)
    ensure_indexes(worker.db)

    def stop(signum: int, _frame: object) -> None:
        log.info("%s received: stopping after this pass", signal.Signals(signum).name)
        worker.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        worker.run_forever()
    finally:
        if reports is not None:
            reports.close()
