"""Whether a partner's HubSpot sync is healthy, as the API's status shows it.

A failed Dagster run for a partner (pull, webhook apply, pushback, cross-partner;
reported by ``run_failure_alert_sensor``) marks the partner's connection
``sync_status: "failed"`` with the job, the run and the reason; the next successful
pull (``connection.mark_synced``) sets it back to ``"ok"``. A dead refresh token
(``reconnect``) marks it ``"needs_reconnect"``, which only a new OAuth connection
clears. The fields live on the
partner's ``hubspot`` sub-document and are written by whole-document replacement
under the revision check (dates inside sub-documents are safe that way).
"""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core.hubspot.connection.failure_advice import advise
from pc_core.observability.log_redaction import redact_text
from pc_core.store import update_with_retry
from pc_core.timeutil import utcnow

OK, FAILED, NEEDS_RECONNECT = "ok", "failed", "needs_reconnect"
#: The failure fields, as a successful sync leaves them.
CLEARED: dict[str, Any] = {
    "sync_status": OK, "last_sync_error": None, "last_sync_failed_at": None,
    "last_failed_run_id": None, "last_failed_job": None,
}


def mark_sync_failed(db: Database, partner_id: str, *, job: str, run_id: str,
                     error: str) -> bool:
    """Mark the partner's sync failed; ``False`` if it has no HubSpot connection."""
    marked = False

    def fail(partner: dict[str, Any]) -> dict[str, Any] | None:
        nonlocal marked
        hub = partner.get("hubspot")
        if not hub:
            return None
        marked = True
        # A dead token outranks a failed run: only a reconnect clears it.
        status = NEEDS_RECONNECT if hub.get("sync_status") == NEEDS_RECONNECT else FAILED
        return {"hubspot": {**hub, "sync_status": status,
                            "last_sync_error": redact_text(error)[:500],
                            "last_sync_failed_at": utcnow(), "last_failed_run_id": run_id,
                            "last_failed_job": job}}

    if db[c.PARTNERS].find_one({"_id": partner_id}, {"_id": 1}) is None:
        return False
    update_with_retry(db[c.PARTNERS], partner_id, fail, what="partner")
    return marked


def health_fields(hub: dict[str, Any]) -> dict[str, Any]:
    """The status answer's sync-health fields from a ``hubspot`` sub-document."""
    connected = bool(hub.get("portal_id"))
    return {
        "sync_status": (hub.get("sync_status") or OK) if connected else None,
        "last_sync_error": hub.get("last_sync_error"),
        "last_sync_failed_at": hub.get("last_sync_failed_at"),
        "last_failed_job": hub.get("last_failed_job"),
        "sync_failure": advice.model_dump() if connected and hub.get("sync_status") == FAILED
        and (advice := advise(hub.get("last_sync_error") or "unknown")) else None,
        "needs_reconnect": connected and hub.get("sync_status") == NEEDS_RECONNECT,
        "needs_reconnect_since": hub.get("needs_reconnect_since"),
    }
