"""Pull a partner's HubSpot contacts or deals into the raw collections.

The first pull per partner and object type is a full pull through the list endpoint
(active records, then archived ones so deletions are known); later pulls are
incremental through search on the last-modified property (see ``pages``). The cursor
(``cursors``) is saved after every stored batch, so an interrupted pull resumes where
it stopped, and documents are keyed by HubSpot id (``raw_store``), so running a pull
twice stores nothing twice.

Deletions on incremental pulls: search never returns archived records. The archived
list pass costs one request per 100 archived records whatever changed, so by default
(``archived_pass="auto"``) incremental pulls run it only while the partner's archived
records fit in a couple of pages; otherwise deletions arrive through HubSpot's
webhooks (``deal.deletion``) and every full pull (backfill) catches up.

Plain synchronous code: Dagster assets, tests and benchmarks call it the same way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from pymongo.database import Database
from urllib3.util.retry import Retry

from pc_core.hubspot.connection import pages
from pc_core.hubspot.connection.client import AccessTokenProvider
from pc_core.hubspot.connection.objects import RAW_COLLECTION, ObjectType, check_object_type
from pc_core.hubspot.connection.transport import CallPolicy, HubSpotApi, QuotaStop
from pc_core.hubspot.pull.cursors import SyncCursor, load_cursor, save_cursor
from pc_core.hubspot.pull.prefetch import Prefetcher
from pc_core.hubspot.pull.raw_store import StoreCounts, store_records
from pc_core.settings import Settings

log = logging.getLogger(__name__)

Mode = Literal["full", "incremental"]


@dataclass
class PullStats:
    """What one pull did. ``fetched`` = created + updated + unchanged + archived (a
    record read twice in one pull counts twice); ``requests`` counts HTTP requests sent,
    retries included; ``errors`` lists failures the pull recovered from only by trying
    again after urllib3's own retries gave up (HubSpot trouble worth seeing in the sync
    history). Failures it could not recover from raise ``PullFailed`` instead."""

    partner_id: str
    object_type: ObjectType
    mode: Mode
    fetched: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    archived: int = 0
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    # Why the pull stopped early to spare the portal's daily budget (``quota``); what
    # it stored stays and the cursor resumes from it next run.
    quota_stop: str | None = None

    def add(self, counts: StoreCounts) -> None:
        self.created += counts.created
        self.updated += counts.updated
        self.unchanged += counts.unchanged
        self.archived += counts.archived
        self.fetched += counts.created + counts.updated + counts.unchanged + counts.archived


class PullFailed(Exception):
    """The pull stopped; what was stored so far stays, and the cursor resumes from it."""

    def __init__(self, message: str, stats: PullStats) -> None:
        super().__init__(message)
        self.stats = stats


@dataclass(frozen=True)
class PullOptions:
    """Tuning; the defaults suit HubSpot itself."""

    # re-read this much before the cursor, once, against HubSpot's search-index lag
    lookback_ms: int = 30_000
    archived_pass: Literal["auto", "always", "never"] = "auto"  # on incremental pulls
    archived_auto_max: int = 200  # "auto": run it while this many archived records or fewer
    prefetch_batches: int = 4
    call: CallPolicy = field(default_factory=CallPolicy)
    retry: Retry | None = None  # another urllib3 policy than the client's (tests)


def pull_objects(
    db: Database,
    settings: Settings,
    partner_id: str,
    object_type: Literal["contacts", "deals"],
    tokens: AccessTokenProvider,
    *,
    full: bool = False,
    options: PullOptions | None = None,
    on_progress: Callable[[PullStats], None] | None = None,
) -> PullStats:
    """Full pull the first time (or with ``full=True``, e.g. a backfill), else
    incremental. Raises ``PullFailed`` (with the figures so far) when HubSpot keeps
    failing or the token cannot be refreshed; the next call resumes.

    ``on_progress`` is called after each stored batch (e.g. to log progress); an
    exception it raises stops the pull like any other failure.
    """
    otype = check_object_type(object_type)
    opts = options or PullOptions()
    cursor = load_cursor(db, partner_id, otype)
    if full or cursor is None:
        cursor = SyncCursor(partner_id, otype, archived_seen=(cursor.archived_seen
                                                             if cursor else None))
    mode: Mode = "full" if cursor.phase == "full" else "incremental"
    stats = PullStats(partner_id, otype, mode)
    started = time.perf_counter()
    api: HubSpotApi | None = None
    try:
        api = HubSpotApi(settings, tokens, opts.call, on_incident=stats.errors.append,
                         retry=opts.retry)
        if mode == "full":
            _full(db, api, cursor, stats, opts, on_progress)
        else:
            _incremental(db, api, cursor, stats, opts, on_progress)
    except QuotaStop as stop:
        stats.requests = api.requests if api is not None else 0
        stats.duration_s = time.perf_counter() - started
        stats.quota_stop = str(stop)
        log.warning("%s pull for partner %s paused: %s", otype, partner_id, stop)
        return stats
    except Exception as exc:
        if api is not None:
            stats.requests = api.requests
        stats.duration_s = time.perf_counter() - started
        raise PullFailed(f"{otype} pull for partner {partner_id} stopped: {exc}", stats) from exc
    stats.requests = api.requests
    stats.duration_s = time.perf_counter() - started
    return stats


def _run_batches(db: Database, cursor: SyncCursor, stats: PullStats, opts: PullOptions,
                 produce: Callable[[], Iterator[pages.Batch]],
                 position: Callable[[SyncCursor, dict[str, Any]], SyncCursor],
                 on_progress: Callable[[PullStats], None] | None) -> SyncCursor:
    """Fetch in a background thread, store here, move and save the cursor per batch."""
    collection = db[RAW_COLLECTION[cursor.object_type]]
    with Prefetcher(produce, opts.prefetch_batches, name=f"hubspot-{cursor.object_type}") as it:
        for batch in it:
            if batch.records:
                stats.add(store_records(collection, cursor.partner_id, cursor.object_type,
                                        batch.records, assume_new=cursor.fresh))
            cursor = save_cursor(db, position(cursor, batch.position))
            if on_progress is not None:
                on_progress(stats)
    return cursor


def _full(db: Database, api: HubSpotApi, cursor: SyncCursor, stats: PullStats,
          opts: PullOptions, on_progress: Callable[[PullStats], None] | None) -> None:
    otype = cursor.object_type
    if cursor.since_ms is None:
        # where the first incremental pull will start; taken before any page is read
        newest = pages.newest_modified_ms(api, otype)
        fresh = db[RAW_COLLECTION[otype]].find_one(
            {"partner_id": cursor.partner_id}, {"_id": 1}) is None
        cursor = save_cursor(db, cursor.moved(since_ms=newest or 0, tie_after_id=None,
                                              fresh=fresh))
    if cursor.full_stage == "active":
        active_after = cursor.full_after
        cursor = _run_batches(
            db, cursor, stats, opts,
            lambda: pages.list_batches(api, otype, archived=False, after=active_after),
            lambda cur, pos: cur.moved(full_after=pos["full_after"],
                                       full_stage="active" if pos["full_after"] else "archived"),
            on_progress)
    archived_after = cursor.full_after
    before = stats.fetched
    cursor = _run_batches(
        db, cursor, stats, opts,
        lambda: pages.list_batches(api, otype, archived=True, after=archived_after),
        lambda cur, pos: cur.moved(full_after=pos["full_after"]), on_progress)
    save_cursor(db, cursor.moved(phase="incremental", full_stage="active", full_after=None,
                                 fresh=False, archived_seen=stats.fetched - before,
                                 full_pulls=cursor.full_pulls + 1))


def _incremental(db: Database, api: HubSpotApi, cursor: SyncCursor, stats: PullStats,
                 opts: PullOptions, on_progress: Callable[[PullStats], None] | None) -> None:
    otype = cursor.object_type
    since = cursor.since_ms or 0
    tie = cursor.tie_after_id
    lookback = 0 if tie is not None else opts.lookback_ms
    if cursor.recheck_from_ms is not None:  # the previous pull re-read what lies below
        lookback = max(0, min(lookback, since - cursor.recheck_from_ms))

    def searched() -> Iterator[pages.Batch]:
        found = pages.search_pages(api, otype, since_ms=since, tie_after_id=tie,
                                   lookback_ms=lookback)
        return pages.with_associations(api, otype, found)

    cursor = _run_batches(db, cursor, stats, opts, searched,
                          lambda cur, pos: cur.moved(**pos), on_progress)
    if _archived_pass_due(cursor, opts):
        before = stats.fetched
        cursor = _run_batches(
            db, cursor, stats, opts,
            lambda: pages.list_batches(api, otype, archived=True, after=None),
            lambda cur, _pos: cur, on_progress)
        cursor = cursor.moved(archived_seen=stats.fetched - before)
    save_cursor(db, cursor.moved(recheck_from_ms=since,
                                 incremental_pulls=cursor.incremental_pulls + 1))


def _archived_pass_due(cursor: SyncCursor, opts: PullOptions) -> bool:
    if opts.archived_pass == "always":
        return True
    if opts.archived_pass == "never":
        return False
    return cursor.archived_seen is not None and cursor.archived_seen <= opts.archived_auto_max


def pull_pipelines(db: Database, settings: Settings, partner_id: str,
                   tokens: AccessTokenProvider) -> list[dict[str, Any]]:
    """The partner's deal pipelines, one row per stage (not stored here: the stage
    mapping stores them). ``probability`` is a float or None; ``is_closed`` a bool."""
    return pipeline_rows(HubSpotApi(settings, tokens).pipelines("deals"))


def pipeline_rows(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """HubSpot's ``GET /crm/v3/pipelines/deals`` answer as ``pull_pipelines``' rows."""
    rows: list[dict[str, Any]] = []
    for pipeline in answer.get("results") or []:
        for stage in pipeline.get("stages") or []:
            meta = stage.get("metadata") or {}
            rows.append({
                "pipeline_id": str(pipeline["id"]),
                "pipeline_label": pipeline.get("label"),
                "stage_id": str(stage["id"]),
                "stage_label": stage.get("label"),
                "display_order": stage.get("displayOrder"),
                "probability": _float_or_none(meta.get("probability")),
                "is_closed": str(meta.get("isClosed", "false")).lower() == "true",
            })
    return rows


def _float_or_none(value: Any) -> float | None:
    try:
        return None if value is None or value == "" else float(value)
    except (TypeError, ValueError):
        return None
