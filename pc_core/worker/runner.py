"""The standing worker (``pc worker``): applies webhook events and delivers sales as
they arrive, instead of waiting for a Dagster run to start.

Each pass of a lane reads its pending work in one indexed query and works on it with
the same pc_core functions the Dagster runs call:

- ``webhook``: every partner with unprocessed inbox events, a partner per thread, each
  under its lease (``webhook_lane.apply_partner``); each applied batch is handed to
  ``report`` (the CLI reports it to Dagster as a runless materialisation of ``leads``);
- ``sale``: every sale due to reach its buyer's CRM (``sale_delivery.deliver_due``,
  whose compare-and-set claims keep two workers from delivering one sale twice); each
  buyer's delivered sales are handed to ``report`` (as the buyer's
  ``cross_partner_sync``, the asset that delivers them in the 15-minute sync);
- ``alert``: saved searches' e-mails queued by listings (``mail_queue.drain``, whose
  batch claims keep two workers from sending one e-mail twice);
- ``pushback`` and ``relay``: every partner with platform edits to push, every buyer
  with deal moves to relay to the sellers (``sync_back_lane``: a partner per thread
  under its lease, reported like the webhook batches as ``hubspot_pushback`` /
  ``cross_partner_sync``). A webhook batch that moved a bought lead's deal wakes the
  relay lane at once.

Between passes the worker waits for a Redis wake-up (``wakeups``) or
``worker_poll_seconds``, whichever comes first. A failing pass (database restarting,
a partner's portal down) is logged and retried on the next; a partner's failure is
recorded on its sync task and sync health as in a run, and its events stay pending.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pymongo.database import Database

from pc_core.buyer_alerts import mail_queue
from pc_core.db import get_db
from pc_core.hubspot.sync_back import partner_runs
from pc_core.hubspot.sync_back.sale_delivery import BuyerResult, DeliveryReport, deliver_due
from pc_core.settings import Settings
from pc_core.store import leases, wakeups
from pc_core.worker import sync_back_lane
from pc_core.worker.sync_back_lane import Pushed
from pc_core.worker.webhook_lane import Applied, apply_partner, sweep_abandoned_tasks

log = logging.getLogger(__name__)
# How often a waiting worker looks at ``stop`` (a shutdown waits no longer than this).
STOP_CHECK_S = 0.5

Report = Callable[[Applied | Pushed | BuyerResult], None]


@dataclass
class PassReport:
    """What one pass over the lanes did."""

    applied: list[Applied] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # partners leased elsewhere
    failed: dict[str, str] = field(default_factory=dict)
    sales: DeliveryReport | None = None
    mails: mail_queue.MailReport | None = None
    pushed: list[Pushed] = field(default_factory=list)  # pushback and relay batches
    closed: list[str] = field(default_factory=list)  # abandoned tasks closed

    @property
    def events(self) -> int:
        return sum(a.stats.events for a in self.applied)


class Worker:
    """One worker process's loop. ``lanes`` picks what it does (all by default)."""

    def __init__(self, settings: Settings, *, report: Report | None = None,
                 holder: str | None = None, lanes: tuple[str, ...] = wakeups.LANES,
                 db: Database | None = None) -> None:
        self.settings = settings
        self.db = db if db is not None else get_db(settings)
        self.report = report
        self.holder = holder or leases.holder_name("worker")
        self.lanes = lanes
        self.stop = threading.Event()
        self.backoff = sync_back_lane.Backoff()

    # -- one pass -------------------------------------------------------------------

    def webhook_pass(self, result: PassReport) -> None:
        pending = partner_runs.webhook_partners(self.db)
        if not pending:
            return
        outcomes = partner_runs.for_each_partner(
            self.db, pending,
            lambda p: apply_partner(self.db, self.settings, p, self.holder),
            job="hot-path worker", run_id=self.holder).outcomes
        for outcome in outcomes:
            if outcome.error is not None:
                result.failed[outcome.partner_id] = outcome.error
            elif outcome.result is None:
                result.skipped.append(outcome.partner_id)
            else:
                result.applied.append(outcome.result)
                self._report(outcome.result)
        moved = [a.partner_id for a in result.applied if a.stats.leads.linked]
        wakeups.announce(self.settings, wakeups.RELAY, moved)  # bought leads' deals moved

    def sale_pass(self, result: PassReport) -> None:
        result.sales = deliver_due(self.db, self.settings)
        if result.sales.buyers:
            log.info("sales: %s", result.sales.summary())
        for buyer in result.sales.buyers:
            if buyer.delivered and self.report is not None:
                self._send(buyer)

    def alert_pass(self, result: PassReport) -> None:
        result.mails = mail_queue.drain(self.db, self.settings, stop=self.stop)

    def sync_back_pass(self, lane: str, result: PassReport) -> None:
        done = sync_back_lane.lane_pass(self.db, self.settings, lane, self.holder,
                                        self.backoff)
        result.skipped.extend(done.skipped)
        result.failed.update({f"{lane}:{p}": e for p, e in done.failed.items()})
        for pushed in done.written:
            result.pushed.append(pushed)
            self._report(pushed)

    def run_once(self, lanes: set[str] | None = None) -> PassReport:
        """One pass over ``lanes`` (default: all of this worker's)."""
        result = PassReport()
        if lanes is None:  # a poll pass: tidy up the tasks of this worker's lanes too
            try:
                if wakeups.WEBHOOK in self.lanes:
                    result.closed += sweep_abandoned_tasks(self.db)
                if {wakeups.PUSHBACK, wakeups.RELAY}.intersection(self.lanes):
                    result.closed += sync_back_lane.sweep_abandoned(self.db)
            except Exception:  # noqa: BLE001 - retried on the next poll
                log.exception("sweep of abandoned tasks failed")
        for lane in self.lanes:
            if lanes is not None and lane not in lanes:
                continue
            try:
                passes = {wakeups.WEBHOOK: self.webhook_pass,
                          wakeups.SALE: self.sale_pass,
                          wakeups.ALERT: self.alert_pass}
                if lane in passes:
                    passes[lane](result)
                else:  # pushback, relay
                    self.sync_back_pass(lane, result)
            except Exception:  # noqa: BLE001 - the next pass retries; nothing is lost
                log.exception("worker pass of lane %s failed", lane)
        return result

    def _report(self, applied: Applied | Pushed) -> None:
        if isinstance(applied, Pushed):
            log.info("%s %s: %s, latency %.2f s", applied.lane, applied.partner_id,
                     applied.figures(), applied.latency_s)
            if self.report is not None:
                self._send(applied)
            return
        stats = applied.stats
        log.info("%s: %d events applied, leads created %d updated %d, latency %.2f s",
                 applied.partner_id, stats.events, stats.leads.created, stats.leads.updated,
                 applied.latency_s)
        if self.report is None or not stats.events:
            return
        self._send(applied)

    def _send(self, applied: Applied | Pushed | BuyerResult) -> None:
        try:
            self.report(applied)  # type: ignore[misc]
        except Exception:  # noqa: BLE001 - the leads are written; only the report is lost
            log.warning("could not report %s's batch to Dagster", applied.partner_id,
                        exc_info=True)

    # -- the loop ---------------------------------------------------------------------

    def run_forever(self) -> None:
        """Pass over every lane, then wait for a wake-up or the poll interval; until
        ``stop`` is set."""
        listener = wakeups.Listener(self.settings)
        log.info("worker %s started (lanes: %s)", self.holder, ", ".join(self.lanes))
        try:
            woken: set[str] | None = None  # None: every lane (start, poll)
            next_poll = 0.0
            while not self.stop.is_set():
                if time.monotonic() >= next_poll:
                    woken = None
                    next_poll = time.monotonic() + self.settings.worker_poll_seconds
                if woken is None or woken:
                    self.run_once(woken)
                # at most STOP_CHECK_S at a time, so ``stop`` ends even a long poll at once
                woken = listener.wait(min(STOP_CHECK_S, max(0.0, next_poll - time.monotonic())))
        finally:
            listener.close()
            log.info("worker %s stopped", self.holder)
