"""Multi-partner HubSpot runs: which partners have pending work, and running each
partner's share of it in isolation.

Under Kubernetes every Dagster run is a pod start, so the webhook apply, the pushback
and the cross-partner sync run as **one run covering every partner with pending work**
(bounded launches, issue 14.8). Inside the run ``for_each_partner`` gives each partner
a worker thread (at most ``MAX_WORKERS`` at once: one thread per partner, so a
portal's request budget is spent by one caller at a time); a partner's exception is
caught, recorded on its own ``sync_task`` (by the ``run_*`` function, which marks it
failed) and in its sync health (``GET /v1/integrations/hubspot/status`` shows the
failure), and the others go on. Per-partner ``sync_task`` records are the same as a
per-partner run made.

The pending-work queries are equalities on indexed flags with a limit
(``pc_core.store.queues``), one query per kind of work however many partners there are.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core.hubspot.connection import sync_health
from pc_core.hubspot.connection.oauth import PartnerTokens, connected_among
from pc_core.hubspot.lead_build.deal_links import FLAGGED_AT as LINK_FLAGGED_AT
from pc_core.hubspot.lead_build.deal_links import pending_links
from pc_core.hubspot.pull.raw_store import EPOCH
from pc_core.hubspot.sync_back.cross_partner import CrossStats, sync_buyer
from pc_core.hubspot.sync_back.pushback import FLAGGED_AT as PUSH_FLAGGED_AT
from pc_core.hubspot.sync_back.pushback import PushStats, pending_leads, push_partner
from pc_core.settings import Settings
from pc_core.sync import tasks as sync_tasks
from pc_core.timeutil import ensure_utc

log = logging.getLogger(__name__)

MAX_WORKERS = 8  # partners worked on at once inside one run
PEEK = 5_000  # pending items read per query

# -- pending work ---------------------------------------------------------------------


def webhook_pending(db: Database, limit: int = PEEK,
                    received_before: int | None = None) -> dict[str, int]:
    """Connected partners with unprocessed inbox events → the highest inbox sequence
    seen (one indexed aggregation grouping by partner, so a backlog of thousands of
    events is not shipped to the caller; events of a partner that disconnected are
    left alone). With ``received_before`` (an inbox sequence), only partners with an
    event received before it: the backstop's "left behind by the hot path"."""
    rows = list(db[c.WEBHOOK_EVENTS].aggregate([
        {"$match": {"processed": False}},
        {"$group": {"_id": "$partner_id", "max_seq": {"$max": "$seq"},
                    "min_seq": {"$min": "$seq"}}}]))
    connected = connected_among(db, [r["_id"] for r in rows if r["_id"]])
    seqs: dict[str, int] = {}
    for row in rows:
        partner_id = row["_id"]
        if partner_id not in connected:
            continue
        if received_before is not None and int(row.get("min_seq") or 0) >= received_before:
            continue
        seqs[partner_id] = int(row.get("max_seq") or 0)
        if len(seqs) >= limit:
            break
    return seqs


def webhook_partners(db: Database, limit: int = PEEK) -> list[str]:
    """Connected partners with unprocessed inbox events, for the hot-path worker,
    which needs no sequences: a ``distinct`` over the ``processed`` index (2 ms over
    20,000 pending events on the embedded store, where ``webhook_pending``'s grouping took
    110 ms, once per worker pass)."""
    partners = sorted(p for p in db[c.WEBHOOK_EVENTS].distinct("partner_id", {"processed": False})
                      if p)
    connected = connected_among(db, partners)
    return [p for p in partners if p in connected][:limit]


def _by_partner(pairs: Iterable[tuple[str, str, int]]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for partner_id, doc_id, rev in pairs:
        if partner_id:
            found[partner_id].append(f"{doc_id}@{rev}")
    return dict(found)


def _flagged_at(doc: dict[str, Any], field_name: str) -> datetime:
    """When the document's work was flagged (a document from before the flag time
    was recorded counts as long ago: the backstop picks it up)."""
    value = doc.get(field_name)
    return ensure_utc(value) if isinstance(value, datetime) else EPOCH


def oldest_flags(docs: Iterable[dict[str, Any]], partner_field: str,
                 time_field: str) -> dict[str, datetime]:
    """Partner → when its oldest pending item was flagged (the hot path's latency
    starts there)."""
    oldest: dict[str, datetime] = {}
    for doc in docs:
        partner_id = doc.get(partner_field)
        if partner_id:
            at = _flagged_at(doc, time_field)
            oldest[partner_id] = min(at, oldest.get(partner_id, at))
    return oldest


def _left_behind(docs: list[dict[str, Any]], partner_field: str, time_field: str,
                 flagged_before: datetime | None) -> list[dict[str, Any]]:
    """With ``flagged_before``: only partners with an item flagged before it (the
    backstop's "left behind by the hot path"); all their items are kept, for the run
    key."""
    if flagged_before is None:
        return docs
    stale = {p for p, at in oldest_flags(docs, partner_field, time_field).items()
             if at < flagged_before}
    return [d for d in docs if d.get(partner_field) in stale]


def pushback_pending(db: Database, limit: int = PEEK,
                     flagged_before: datetime | None = None) -> dict[str, list[str]]:
    """Partners with leads edited in the platform and not pushed → ``lead@rev``s
    (with ``flagged_before``: only partners with an edit older than it)."""
    docs = _left_behind(pending_leads(db, limit), "partner_id", PUSH_FLAGGED_AT,
                        flagged_before)
    return _by_partner((d["partner_id"], d["_id"], d.get("rev") or 0) for d in docs)


def cross_partner_pending(db: Database, limit: int = PEEK,
                          flagged_before: datetime | None = None) -> dict[str, list[str]]:
    """Buyers whose bought leads' deals moved → ``link@rev``s (with
    ``flagged_before``: only buyers with a move flagged before it)."""
    docs = _left_behind(pending_links(db, limit), "buyer_partner_id", LINK_FLAGGED_AT,
                        flagged_before)
    return _by_partner((d["buyer_partner_id"], d["_id"], d.get("rev") or 0) for d in docs)


# -- one partner's share, recorded on its sync task -------------------------------------


def _failed(db: Database, task_id: str, exc: Exception) -> None:
    sync_tasks.add_counts(db, task_id, "failure", {"errors": 1},
                          [f"{type(exc).__name__}: {exc}"[:500]], kind="push")
    sync_tasks.finish(db, task_id, "failed")


def _push_task(db: Database, partner_id: str, run_id: str | None, trigger: str) -> str:
    """The run's push task of the partner, or (``run_id`` None: the hot-path worker)
    a task of its own."""
    if run_id is None:
        return sync_tasks.create_task(db, partner_id, trigger=trigger, direction="push",
                                      status="running")["_id"]
    return sync_tasks.task_for_run_id(db, partner_id, run_id, direction="push",
                                      trigger=trigger)


def run_pushback(db: Database, settings: Settings, partner_id: str, *, run_id: str | None,
                 trigger: str) -> tuple[str, PushStats]:
    """Push the partner's platform edits to HubSpot, recorded as its push task of the
    run (or of the worker: ``run_id`` None); HubSpot trouble leaves leads pending and
    marks the task failed."""
    task_id = _push_task(db, partner_id, run_id, trigger)
    try:
        stats = push_partner(db, settings, partner_id, PartnerTokens(db, settings, partner_id))
    except Exception as exc:
        _failed(db, task_id, exc)
        raise
    errors = [*stats.errors, *(f"{s['lead_id']}: {s['reason']}" for s in stats.skipped)]
    sync_tasks.add_counts(db, task_id, "pushback", {
        "updated": stats.deals_updated, "unchanged": stats.up_to_date,
        "errors": stats.failed + len(stats.skipped), "leads": stats.leads,
        "notes": stats.notes_created, "deferred": stats.deferred, "failed": stats.failed,
        "missing_deals": len(stats.missing), "requests": stats.requests,
    }, errors, kind="push")
    sync_tasks.add_conflicts(db, task_id, stats.conflicts)
    sync_tasks.finish(db, task_id, "failed" if stats.failed else "succeeded")
    return task_id, stats


def run_cross_partner(db: Database, settings: Settings, buyer_id: str, *,
                      run_id: str | None, trigger: str) -> tuple[str, CrossStats]:
    """The buyer's purchases to its HubSpot and its deals' stages to the sellers,
    recorded as its push task of the run (or of the worker: ``run_id`` None)."""
    task_id = _push_task(db, buyer_id, run_id, trigger)
    try:
        stats = sync_buyer(db, settings, buyer_id)
    except Exception as exc:
        _failed(db, task_id, exc)
        raise
    sync_tasks.add_counts(db, task_id, "cross_partner", {
        "created": stats.delivered, "updated": stats.relayed, "errors": len(stats.errors),
        "seller_deals_updated": stats.seller_deals_updated,
    }, stats.errors, kind="push")
    sync_tasks.finish(db, task_id, "failed" if stats.errors else "succeeded")
    return task_id, stats


# -- the fan-out ------------------------------------------------------------------------


@dataclass
class PartnerOutcome:
    partner_id: str
    result: Any = None
    error: str | None = None


@dataclass
class FanOutReport:
    outcomes: list[PartnerOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[PartnerOutcome]:
        return [o for o in self.outcomes if o.error is not None]

    def summary(self) -> str:
        return f"{len(self.outcomes)} partners, {len(self.failed)} failed"


def for_each_partner(db: Database, partner_ids: Iterable[str], work: Callable[[str], Any], *,
                     job: str, run_id: str, max_workers: int = MAX_WORKERS) -> FanOutReport:
    """``work(partner_id)`` for each partner, ``max_workers`` at a time. A partner's
    exception is its own: logged, put in its sync health and the report (its task was
    marked failed by ``work``); the other partners are not affected."""
    partners = sorted(set(partner_ids))
    report = FanOutReport()
    if not partners:
        return report

    def one(partner_id: str) -> PartnerOutcome:
        try:
            return PartnerOutcome(partner_id, result=work(partner_id))
        except Exception as exc:  # noqa: BLE001 - isolation: one partner never stops the rest
            log.exception("%s: partner %s failed", job, partner_id)
            error = f"{type(exc).__name__}: {exc}"[:500]
            sync_health.mark_sync_failed(db, partner_id, job=job, run_id=run_id, error=error)
            return PartnerOutcome(partner_id, error=error)

    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(partners))),
                            thread_name_prefix="partner-run") as pool:
        report.outcomes = list(pool.map(one, partners))
    return report
