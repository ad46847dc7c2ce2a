"""The known-contact check: does a listing's contact (e-mail) or company (domain)
match something the buyer already has (its own leads, its synced HubSpot contacts)?

Computed server-side on normalised, keyed-hashed match keys: ``e:{email}`` and
``d:{domain}`` (lower-cased, trimmed, ``www.`` dropped; free-mail domains such as
gmail.com never count as a company). Keys are HMAC-SHA256 under the platform's
secret, so neither side's data leaves the server and the answer says only
"known (by e-mail / by company) in your own data" — never the seller's contact,
which the buyer has not paid for.

Cost: one indexed scan of the buyer's own leads and HubSpot contacts (e-mail and
website fields only) per check, for up to 50 listings at once.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from pymongo.database import Database

from pc_core import collections as c
from pc_core.settings import Settings
from pc_core.timeutil import ensure_utc

Doc = dict[str, Any]
Match = Literal["email", "domain"]
MAX_IDS = 50
# Mailbox providers: a shared domain says nothing about the company.
FREE_MAIL = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "outlook.com", "hotmail.com", "live.com",
    "icloud.com", "me.com", "aol.com", "proton.me", "protonmail.com", "gmx.com", "gmx.de",
    "web.de", "mail.com", "yandex.com", "zoho.com",
})


def normal_email(value: Any) -> str | None:
    text = str(value or "").strip().lower()
    return text if "@" in text and not text.startswith("@") else None


def normal_domain(value: Any) -> str | None:
    """``https://www.Acme.com/x`` and ``ada@acme.com`` → ``acme.com``; free mail → None."""
    text = str(value or "").strip().lower()
    if "@" in text:
        text = text.rsplit("@", 1)[1]
    for prefix in ("https://", "http://"):
        text = text.removeprefix(prefix)
    text = text.split("/", 1)[0].split(":", 1)[0].removeprefix("www.").strip(".")
    if "." not in text or text in FREE_MAIL:
        return None
    return text


def _key(settings: Settings, kind: str, value: str) -> str:
    mac = hmac.new(settings.secret_key.encode(), f"{kind}:{value}".encode(), hashlib.sha256)
    return mac.hexdigest()


def keys_of(settings: Settings, email: Any, website: Any = None) -> dict[str, Match]:
    """The hashed match keys of one contact: its e-mail, and its company's domain
    (from the website, else from the e-mail)."""
    out: dict[str, Match] = {}
    mail = normal_email(email)
    if mail:
        out[_key(settings, "e", mail)] = "email"
    domain = normal_domain(website) or normal_domain(mail)
    if domain:
        out[_key(settings, "d", domain)] = "domain"
    return out


def _created_before(value: Any, before: datetime | None) -> bool:
    if before is None:
        return True
    if isinstance(value, datetime):
        return ensure_utc(value) < before
    if isinstance(value, str) and value:
        try:
            return ensure_utc(datetime.fromisoformat(value.replace("Z", "+00:00"))) < before
        except ValueError:
            return True
    return True


def buyer_keys(db: Database, settings: Settings, buyer_partner_id: str, *,
               before: datetime | None = None, exclude_lead: str | None = None) -> set[str]:
    """Every match key of the buyer's own data (created before ``before``, if given:
    what it knew before a purchase, not the contact the purchase delivered)."""
    keys: set[str] = set()
    for lead in db[c.LEADS].find({"partner_id": buyer_partner_id},
                                 {"contact_email": 1, "website": 1, "created_at": 1}):
        if lead["_id"] != exclude_lead and _created_before(lead.get("created_at"), before):
            keys.update(keys_of(settings, lead.get("contact_email"), lead.get("website")))
    for contact in db[c.HUBSPOT_CONTACTS].find({"partner_id": buyer_partner_id},
                                               {"properties": 1}):
        props = contact.get("properties") or {}
        if _created_before(props.get("createdate"), before):
            keys.update(keys_of(settings, props.get("email"), props.get("website")))
    return keys


def match_of(settings: Settings, lead: Doc, known: set[str]) -> Match | None:
    """How the lead's contact is known to the holder of ``known`` (e-mail beats domain)."""
    found = [m for k, m in keys_of(settings, lead.get("contact_email"),
                                   lead.get("website")).items() if k in known]
    return "email" if "email" in found else (found[0] if found else None)


def check(db: Database, settings: Settings, buyer_partner_id: str,
          lead_ids: Iterable[str]) -> dict[str, Match | None]:
    """For each listed lead id (others are left out, so nothing is said about leads
    the buyer cannot see): how its contact is known to the buyer, or None."""
    ids = list(dict.fromkeys(lead_ids))[:MAX_IDS]
    leads = list(db[c.LEADS].find({"_id": {"$in": ids}, "status": "listed"},
                                  {"contact_email": 1, "website": 1, "partner_id": 1}))
    leads = [d for d in leads if d["partner_id"] != buyer_partner_id]
    if not leads:
        return {}
    known = buyer_keys(db, settings, buyer_partner_id)
    return {d["_id"]: match_of(settings, d, known) for d in leads}
