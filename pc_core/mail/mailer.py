"""Transactional email through Mailgun's HTTP API (the sandbox in development).

Each email has a dedupe key, used as its ``_id`` in ``emails``: the first caller
inserts it and sends it, every later caller with the same key finds it there and
sends nothing, so "once per sale / per reservation" holds across retries, webhook
redeliveries and concurrent runs. A failed send is recorded (``status: failed``,
the error, ``next_attempt_key``) and retried by ``retry_failed_emails``, which the
reservation-expiry Dagster job calls every minute; a send never raises into the
request or run that caused it.

Each e-mail is one Jinja2 template, ``templates/{name}.jinja``, with a block
each for the subject, the text and the HTML part. Jinja2 escapes every value in the
HTML block (autoescaping); the subject and text blocks turn it off, so a value
reads there as it was given. A value missing from the context is an error.

Header values (subject, from, to) never carry a line break: a value such as a
booking's company ``"Acme\r\nBcc: attacker@evil.example"`` would otherwise start a
header of its own (email header injection). ``header_value`` folds every line break
into a space, and a recipient with one is dropped; both happen here, the one place
emails are built and sent.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, TemplateError
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, PyMongoError

from pc_core import collections as c
from pc_core.settings import Settings
from pc_core.store import replace_if_unchanged, time_key
from pc_core.timeutil import ensure_utc, utcnow

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).with_name("templates")
PENDING, SENT, FAILED, GAVE_UP = "pending", "sent", "failed", "gave_up"
MAX_ATTEMPTS = 8
TIMEOUT = httpx.Timeout(5.0)


_templates = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                         undefined=StrictUndefined, keep_trailing_newline=True)


def _block(template: Template, block: str, context: dict[str, str]) -> str:
    return "".join(template.blocks[block](template.new_context(context)))


def render(name: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text, html) of template ``name``; a missing value is an error
    (``jinja2.UndefinedError``). ``None`` renders as nothing."""
    template = _templates.get_template(f"{name}.jinja")
    plain = {k: "" if v is None else str(v) for k, v in context.items()}
    return (_block(template, "subject", plain).strip(), _block(template, "text", plain),
            _block(template, "html", plain))


# CR, LF and everything else a mail or MIME parser may treat as a line break.
_LINE_BREAKS = re.compile(r"[\r\n\x00\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+")


def header_value(value: str) -> str:
    """``value`` safe for an email header: line breaks folded into one space."""
    return _LINE_BREAKS.sub(" ", value).strip()


def safe_recipients(to: list[str]) -> list[str]:
    """The recipients without line breaks, de-duplicated and sorted; one with a
    line break is refused (dropped and logged), never repaired into an address."""
    kept = set()
    for address in to:
        if not address:
            continue
        if _LINE_BREAKS.search(address):
            log.warning("email recipient with a line break refused: %r", address[:200])
            continue
        kept.add(address.strip())
    return sorted(kept)


def _backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(60, 2 ** max(0, attempts - 1)))


@lru_cache(maxsize=1)
def _http() -> httpx.Client:
    """One pooled client for every send (thread-safe): ``httpx.post`` would build a
    client, and load the CA bundle into a new SSL context, per e-mail (about 100 ms
    each on a busy machine; bench/buyer_alerts_bench.py sends thousands)."""
    return httpx.Client(timeout=TIMEOUT)


def _post(settings: Settings, doc: dict[str, Any]) -> str:
    """One Mailgun send; returns Mailgun's message id; raises on any failure."""
    url = f"{settings.mailgun_base_url.rstrip('/')}/v3/{settings.mailgun_domain}/messages"
    data = {
        "from": header_value(settings.mail_from),
        "to": header_value(doc["to"]),
        "subject": header_value(doc["subject"]),
        "text": doc["text"],
        "html": doc["html"],
        "o:tag": doc["template"],
        "v:email_key": doc["_id"],
    }
    response = _http().post(url, data=data, auth=("api", settings.mailgun_api_key))
    response.raise_for_status()
    return str(response.json().get("id", ""))


def _deliver(db: Database, settings: Settings, doc: dict[str, Any]) -> dict[str, Any]:
    """Send ``doc`` and record the outcome (compare-and-set on its revision, so two
    retriers cannot both record, and a lost race just leaves the other's record)."""
    now = utcnow()
    attempts = int(doc.get("attempts") or 0) + 1
    try:
        message_id = _post(settings, doc)
    except Exception as exc:  # noqa: BLE001 - any failure is recorded and retried
        log.warning("email %s failed (attempt %d): %s", doc["_id"], attempts, exc)
        status = GAVE_UP if attempts >= MAX_ATTEMPTS else FAILED
        changes = {
            "status": status, "attempts": attempts, "last_error": str(exc)[:500],
            "updated_at": now, "next_attempt_key": time_key(now + _backoff(attempts)),
        }
    else:
        changes = {
            "status": SENT, "attempts": attempts, "provider_id": message_id,
            "sent_at": now, "updated_at": now, "last_error": None, "next_attempt_key": None,
        }
    return replace_if_unchanged(db[c.EMAILS], doc, changes) or {**doc, **changes}


def send_email(db: Database, settings: Settings, *, key: str, template: str,
               to: list[str], context: dict[str, Any]) -> dict[str, Any] | None:
    """Render and send once per ``key``; returns the email record (``None`` if there
    was nobody to send to or it could not even be recorded). Never raises."""
    recipients = safe_recipients(to)
    if not recipients:
        return None
    try:
        subject, text, body_html = render(template, context)
        subject = header_value(subject)
        now = utcnow()
        doc = {
            "_id": key, "template": template, "to": ",".join(recipients),
            "subject": subject, "text": text, "html": body_html,
            "status": PENDING, "attempts": 0, "last_error": None,
            "next_attempt_key": None, "created_at": now, "updated_at": now, "rev": 1,
        }
        try:
            db[c.EMAILS].insert_one(doc)
        except DuplicateKeyError:
            return db[c.EMAILS].find_one({"_id": key})
        return _deliver(db, settings, doc)
    except (PyMongoError, TemplateError, KeyError, ValueError, OSError) as exc:
        log.exception("could not queue email %s: %s", key, exc)
        return None


def deliver_pending(db: Database, settings: Settings, key: str) -> dict[str, Any] | None:
    """Send the e-mail ``key`` now if its record is still ``pending``: its sender died
    between recording and sending. Only for a caller that holds the one claim on the
    work that recorded it (so nobody else is sending it); ``None`` if there is no
    pending record. Never raises."""
    try:
        doc = db[c.EMAILS].find_one({"_id": key})
        if doc is None or doc.get("status") != PENDING:
            return None
        return _deliver(db, settings, doc)
    except PyMongoError as exc:
        log.exception("could not resume email %s: %s", key, exc)
        return None


def retry_failed_emails(db: Database, settings: Settings, now: datetime | None = None,
                        limit: int = 200) -> int:
    """Resend failed emails whose back-off has passed, and pending ones older than
    five minutes (their sender died mid-way). Returns how many were sent now."""
    now = now or utcnow()
    sent = 0
    due_key = time_key(now)
    stale_pending = now - timedelta(minutes=5)
    candidates = list(db[c.EMAILS].find({"status": FAILED}).limit(limit))
    candidates += [
        d for d in db[c.EMAILS].find({"status": PENDING}).limit(limit)
        if ensure_utc(d["created_at"]) < stale_pending
    ]
    for doc in candidates:
        if doc["status"] == FAILED and (doc.get("next_attempt_key") or "") > due_key:
            continue
        if _deliver(db, settings, doc).get("status") == SENT:
            sent += 1
    return sent
