"""Telling the operator that something broke: the run-failure email.

Sent through ``pc_core.mail.mailer`` (Mailgun), once per failed run (dedupe key
``run-failed:<run id>``), to ``PC_ALERT_EMAILS`` or, when that is empty, every
active owner. Called by the Dagster ``run_failure_alert_sensor``; the error text is
redacted and cut short, so no secret and no multi-page traceback lands in a mailbox.
"""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core.access import Role
from pc_core.mail.mailer import send_email
from pc_core.observability.log_redaction import redact_text
from pc_core.settings import Settings

MAX_ERROR_CHARS = 2000


def operator_recipients(db: Database, settings: Settings) -> list[str]:
    """``PC_ALERT_EMAILS``, else the emails of the active owners."""
    configured = [e.strip() for e in settings.alert_emails.split(",") if e.strip()]
    if configured:
        return configured
    owners = db[c.USERS].find({"role": Role.OWNER.value}, {"email": 1, "active": 1})
    return sorted(u["email"] for u in owners if u.get("active", True) and u.get("email"))


def notify_run_failed(db: Database, settings: Settings, *, job: str, run_id: str,
                      partner_id: str | None, error: str) -> dict[str, Any] | None:
    """Email the operator about a failed run (once per run); the email record, or
    ``None`` when there is nobody to tell."""
    base = settings.dagster_url.rstrip("/")
    partner_name = None
    if partner_id:
        partner = db[c.PARTNERS].find_one({"_id": partner_id}, {"name": 1})
        partner_name = (partner or {}).get("name") or partner_id
    return send_email(
        db, settings, key=f"run-failed:{run_id}", template="run_failed",
        to=operator_recipients(db, settings),
        context={
            "job": job,
            "run_id": run_id,
            "partner": partner_name or "-",
            "partner_suffix": f" ({partner_name})" if partner_name else "",
            "partner_note": (
                f"{partner_name}'s HubSpot sync is marked failed in its status until the "
                "next successful sync." if partner_name else ""),
            "error": redact_text(error)[:MAX_ERROR_CHARS],
            "run_url": f"{base}/runs/{run_id}" if base else f"Dagster UI, run {run_id}",
        },
    )


def notify_reconnect_needed(db: Database, settings: Settings, *, partner_id: str,
                            partner_name: str, portal_id: str,
                            key_suffix: str) -> dict[str, Any] | None:
    """Email the operator that a partner's HubSpot refresh token died (once per
    connection: ``key_suffix`` names it)."""
    return send_email(
        db, settings, key=f"hubspot-dead-token:{partner_id}:{key_suffix}",
        template="hubspot_dead_token", to=operator_recipients(db, settings),
        context={"partner": partner_name, "portal_id": portal_id},
    )
