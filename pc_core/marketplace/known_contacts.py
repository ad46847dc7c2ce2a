"""The known-contact check: does a listing's contact (e-mail) or company (domain)
match something the buyer already has (its own leads, its synced HubSpot contacts)?

Computed server-side on normalised, hashed match keys: SHA-256 of ``e:{email}`` and
``d:{domain}`` (lower-cased, trimmed, ``www.`` dropped; free-mail domains such as
gmail.com never count as a company), its first 12 bytes (96 bits) as 16 base64url
characters. Every lead and synced HubSpot contact stores its keys as ``match_keys``
(``contact_keys``, the one rule for both), indexed with its partner; a check hashes
the listings' contacts and asks, with ``$in`` queries, which of those keys the buyer's
own data holds. Nothing of either side leaves the server, and the answer says only
"known (by e-mail / by company) in your own data" — never the seller's contact,
which the buyer has not paid for.

Why short keys: on the embedded store every write of a document puts its
``match_keys`` at a random place in the (partner_id, match_keys) index, and that costs
more the bigger the index. With 64 hex characters a HubSpot pull of 100,000 contacts
cost the store about twice its CPU per contact (~150 µs against ~75 without keys,
measured on this 2-core machine); 16 characters take about half of that back.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from pymongo import UpdateOne
from pymongo.database import Database

from pc_core import collections as c
from pc_core.timeutil import ensure_utc

Doc = dict[str, Any]
Match = Literal["email", "domain"]
MAX_IDS = 50
LIMIT = 500  # matching documents read per query: enough to see every wanted key
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


KEY_BYTES = 12  # 96 bits: a chance collision is out of reach at any buyer's size
# The keys before 2026-12-05 (whole SHA-256 as 64 hex characters): ``backfill`` rewrites
# them. New keys are 16 base64url characters, which this never matches.
OLD_KEY = "^[0-9a-f]{64}$"


def _key(kind: str, value: str) -> str:
    digest = hashlib.sha256(f"{kind}:{value}".encode()).digest()[:KEY_BYTES]
    return base64.urlsafe_b64encode(digest).decode()


def keys_of(email: Any, website: Any = None) -> dict[str, Match]:
    """The hashed match keys of one contact: its e-mail, and its company's domain
    (from the website, else from the e-mail)."""
    out: dict[str, Match] = {}
    mail = normal_email(email)
    if mail:
        out[_key("e", mail)] = "email"
    domain = normal_domain(website) or normal_domain(mail)
    if domain:
        out[_key("d", domain)] = "domain"
    return out


def contact_keys(fields: Doc) -> list[str]:
    """What a lead (its fields) or a HubSpot contact (its properties) stores as
    ``match_keys`` (indexed with its partner), recomputed wherever its contact fields
    are written."""
    return sorted(keys_of(fields.get("contact_email") or fields.get("email"),
                          fields.get("website")))


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


def known_keys(db: Database, buyer_partner_id: str, wanted: Iterable[str], *,
               before: datetime | None = None, exclude_lead: str | None = None) -> set[str]:
    """Which of ``wanted`` the buyer's own leads or synced HubSpot contacts hold (those
    created before ``before``, if given: what it knew before a purchase, not the
    contact the purchase delivered). Two index-served ``$in`` queries."""
    wanted = sorted(set(wanted))
    if not wanted:
        return set()
    found: set[str] = set()
    match = {"partner_id": buyer_partner_id, "match_keys": {"$in": wanted}}
    for lead in db[c.LEADS].find(match, {"match_keys": 1, "created_at": 1}).limit(LIMIT):
        if lead["_id"] != exclude_lead and _created_before(lead.get("created_at"), before):
            found.update(lead.get("match_keys") or [])
    for contact in db[c.HUBSPOT_CONTACTS].find(match, {"match_keys": 1, "properties": 1}
                                               ).limit(LIMIT):
        if _created_before((contact.get("properties") or {}).get("createdate"), before):
            found.update(contact.get("match_keys") or [])
    return found & set(wanted)


def match_of(lead: Doc, known: set[str]) -> Match | None:
    """How the lead's contact is known to the holder of ``known`` (e-mail beats domain)."""
    found = [m for k, m in keys_of(lead.get("contact_email"), lead.get("website")).items()
             if k in known]
    return "email" if "email" in found else (found[0] if found else None)


def known_before(db: Database, buyer_partner_id: str, lead: Doc, before: datetime) -> bool:
    """Whether the buyer had this lead's contact before ``before`` (its own data only)."""
    keys = keys_of(lead.get("contact_email"), lead.get("website"))
    known = known_keys(db, buyer_partner_id, keys, before=before, exclude_lead=lead["_id"])
    return match_of(lead, known) is not None


def check(db: Database, buyer_partner_id: str,
          lead_ids: Iterable[str]) -> dict[str, Match | None]:
    """For each listed lead id (others are left out, so nothing is said about leads
    the buyer cannot see): how its contact is known to the buyer, or None."""
    ids = list(dict.fromkeys(lead_ids))[:MAX_IDS]
    leads = list(db[c.LEADS].find({"_id": {"$in": ids}, "status": "listed"},
                                  {"contact_email": 1, "website": 1, "partner_id": 1}))
    leads = [d for d in leads if d["partner_id"] != buyer_partner_id]
    if not leads:
        return {}
    wanted = {k for d in leads for k in keys_of(d.get("contact_email"), d.get("website"))}
    known = known_keys(db, buyer_partner_id, wanted)
    return {d["_id"]: match_of(d, known) for d in leads}


def backfill(db: Database, batch: int = 100) -> int:
    """Give ``match_keys`` of the current format to leads and HubSpot contacts that have
    none (written before they existed) or keys of the old format (64 hex characters,
    found with ``$elemMatch``: a bare ``$regex`` on an array matches nothing on the
    embedded store), so the check finds them again. One pass, what the
    ``ensure_indexes_job`` maintenance run does after the indexes; each write is
    guarded by the condition that selected it, so a concurrent writer's keys stand.
    Returns how many documents it changed."""
    changed = 0
    stale = ({"match_keys": {"$exists": False}},
             {"match_keys": {"$elemMatch": {"$regex": OLD_KEY}}})
    for name, fields in ((c.LEADS, {"contact_email": 1, "website": 1}),
                         (c.HUBSPOT_CONTACTS, {"properties": 1})):
        for condition in stale:
            while True:
                docs = list(db[name].find(condition, fields).limit(batch))
                ops = [UpdateOne({"_id": d["_id"], **condition}, {"$set": {
                    "match_keys": contact_keys(d.get("properties") or d)}}) for d in docs]
                done = db[name].bulk_write(ops, ordered=False).modified_count if ops else 0
                changed += done
                if done == 0:  # nothing left (or only documents a writer just keyed)
                    break
    return changed
