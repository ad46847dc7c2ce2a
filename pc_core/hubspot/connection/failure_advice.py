"""A failed HubSpot sync explained for the person who can fix it: what went wrong in
words, and the one action that helps (reconnect, map stages, wait, retry).

The error text is what the run failure recorded (``sync_health.mark_sync_failed``)
or a sync task's error line: HubSpot's own messages and status codes, already
redacted. The rules match the failures HubSpot documents (401 for an expired or
revoked token, ``invalid_grant`` on refresh, 403 for a missing scope, 429 for the
rate limit, 5xx for its own trouble) and our own stage-mapping refusal.
"""

from __future__ import annotations

import re

from pc_core.models.sync_tasks import Advice, SyncTaskPage


def _advice(action: str, explanation: str, what_to_do: str) -> Advice:
    return Advice.model_validate({"action": action, "explanation": explanation,
                                  "what_to_do": what_to_do})


_RULES: list[tuple[re.Pattern[str], Advice]] = [
    (re.compile(r"invalid_grant|401|unauthori[sz]ed|expired|revoked|BAD_REFRESH_TOKEN|"
                r"not connected", re.I),
     _advice("reconnect", "HubSpot no longer accepts this connection: its access was "
            "revoked or has expired.",
            "Reconnect HubSpot (Settings → HubSpot → Connect), then sync again.")),
    (re.compile(r"403|forbidden|scope|MISSING_SCOPES", re.I),
     _advice("reconnect", "The HubSpot connection lacks a permission the sync needs.",
            "Reconnect HubSpot and approve every permission asked for.")),
    (re.compile(r"unmapped|stage mapping|no canonical stage|map (the )?stages?", re.I),
     _advice("map_stages", "Some HubSpot deal stages are not mapped to a platform stage, "
            "so their deals cannot be placed.",
            "Map the stages below (Stage mapping), then sync again.")),
    (re.compile(r"429|rate.?limit|too many requests|secondly|daily limit", re.I),
     _advice("wait", "HubSpot's request limit for this portal was reached.",
            "Nothing to fix: the sync resumes on its own once HubSpot's limit resets "
            "(usually within a minute; the daily limit at midnight in the portal's time "
            "zone). Retry later if you need it sooner.")),
    (re.compile(r"5\d\d|timeout|timed out|connection (reset|refused|error)|"
                r"service unavailable|bad gateway", re.I),
     _advice("retry", "HubSpot did not answer properly (a temporary fault on its side or "
            "on the network).", "Retry the sync; if it keeps failing, check "
            "status.hubspot.com.")),
]
_UNKNOWN = _advice("retry", "The sync stopped on an error the platform does not recognise.",
                  "Retry the sync; if it fails again, send the error below to support.")


def advise(error: str | None) -> Advice | None:
    """The advice for ``error``; ``None`` when there is no error."""
    if not error:
        return None
    for pattern, advice in _RULES:
        if pattern.search(error):
            return advice
    return _UNKNOWN


def explain_failed_tasks(page: SyncTaskPage) -> SyncTaskPage:
    """Each failed task of a sync history with its ``failure`` advice."""
    for task in page.items:
        if task.status == "failed":
            task.failure = advise("; ".join(task.errors) or "unknown")
    return page
