"""The saved searches' immediate e-mails, sent off the listing path: the worker's
``alert`` lane drains them as they are queued, the ``buyer_alert_mail_sensor`` run
drains what the lane left behind (pc_pipelines/buyer_alerts).

The queue is the notices themselves (``notices``: ``mail: "queued"`` with a
``due_key``), written before the listing returned, so nothing acknowledged is lost
when a process dies between listing and sending. A drain takes a batch with one
claim (``mail`` → ``"sending"``, a claim token and a ``due_key`` at the claim's
expiry, ``worker_lease_seconds`` on), sends it with a few threads through the
mailer, and marks it ``"sent"``.

Never twice: the mailer records each e-mail under ``search-match:{notice}`` before
sending it, and sends nothing for a key it already holds. A drain that dies leaves
its batch ``"sending"``; once the claim expires another drain retakes it, and for
each e-mail whose record the dead drain left ``pending`` (recorded, perhaps not
sent) it sends that record (``mailer.deliver_pending``): the claim makes it the only
sender. The one window left is the mailer's own: killed after Mailgun accepted an
e-mail and before recording it, that e-mail is sent again.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core.buyer_alerts.notices import QUEUED, SENDING, SENT, email_now
from pc_core.ids import new_id
from pc_core.mail.mailer import deliver_pending
from pc_core.settings import Settings
from pc_core.store import time_key
from pc_core.store.queues import DUE, due, mark
from pc_core.timeutil import utcnow

log = logging.getLogger(__name__)
Doc = dict[str, Any]
BATCH = 100
SENDERS = 8
BUDGET_S = 5.0  # a drain pass ends after this (the worker's other lanes wait on it)


@dataclass
class MailReport:
    """What one drain sent (``retaken``: items a dead drain had claimed)."""

    sent: int = 0
    retaken: int = 0
    batches: int = 0


def waiting(db: Database, before: datetime, *, limit: int) -> list[Doc]:
    """E-mails due by ``before``: queued, or claimed by a drain whose claim expired."""
    notices = db[c.SEARCH_NOTICES]
    queued = due(notices, {"mail": QUEUED}, before, limit=limit)
    return queued + due(notices, {"mail": SENDING}, before, limit=limit - len(queued))


def _claim(db: Database, batch: list[Doc], until: datetime, now: datetime) -> list[Doc]:
    """Take what of ``batch`` is still queued (or its claim expired) for this drain."""
    token = new_id()
    ids = [d["_id"] for d in batch]
    claim = {"$set": {"mail": SENDING, "mail_claim": token, DUE: time_key(until)}}
    notices = db[c.SEARCH_NOTICES]
    notices.update_many({"_id": {"$in": ids}, "mail": QUEUED}, claim)
    notices.update_many({"_id": {"$in": ids}, "mail": SENDING,
                         DUE: {"$lte": time_key(now)}}, claim)
    return list(notices.find({"_id": {"$in": ids}, "mail_claim": token}))


def _send(db: Database, settings: Settings, notice: Doc, retaken: bool) -> None:
    if retaken and deliver_pending(db, settings, f"search-match:{notice['_id']}"):
        return
    email_now(db, settings, notice)


def drain(db: Database, settings: Settings, *, budget_s: float = BUDGET_S,
          stop: threading.Event | None = None) -> MailReport:
    """Send the e-mails due, batch by batch, until none is left, ``budget_s`` has
    passed or ``stop`` is set."""
    report = MailReport()
    deadline = time.monotonic() + budget_s
    with ThreadPoolExecutor(SENDERS, thread_name_prefix="alert-mail") as pool:
        while time.monotonic() < deadline and not (stop and stop.is_set()):
            now = utcnow()
            batch = waiting(db, now, limit=BATCH)
            if not batch:
                break
            was = {d["_id"]: d["mail"] for d in batch}
            claimed = _claim(db, batch, now + timedelta(seconds=settings.worker_lease_seconds),
                             now)
            retaken = {d["_id"] for d in claimed if was.get(d["_id"]) == SENDING}
            jobs = [(n, n["_id"] in retaken) for n in claimed]
            list(pool.map(lambda job: _send(db, settings, *job), jobs))
            mark(db[c.SEARCH_NOTICES], [d["_id"] for d in claimed], {"mail": SENT})
            report.sent += len(claimed)
            report.retaken += len(retaken)
            report.batches += 1
    if report.sent:
        log.info("alert e-mails: %d sent (%d retaken from a stopped drain)",
                 report.sent, report.retaken)
    return report
