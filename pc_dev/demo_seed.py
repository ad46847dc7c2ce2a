"""Demo data for `make run`: an owner, the operator partner, two agencies, an admin
and a user for each, and ~200 leads. Idempotent: natural ids, insert-if-missing,
so a second run changes nothing but the demo passwords (reset so they always work).
"""

from __future__ import annotations

import random
from datetime import timedelta

from pymongo import InsertOne
from pymongo.database import Database
from pymongo.errors import BulkWriteError

from pc_core import collections as c
from pc_core.access import Role
from pc_core.identity.partners import slugify
from pc_core.identity.users import normalise_email
from pc_core.leads.inventory import build_lead_doc
from pc_core.models.leads import CompanySize, LeadFields
from pc_core.security.passwords import hash_password
from pc_core.stages import LeadStatus, Stage
from pc_core.store import update_with_retry
from pc_core.timeutil import utcnow

OPERATOR_ID = "operator"
PARTNERS = (
    (OPERATOR_ID, "Belkins (operator)", True),
    ("northwind", "Northwind Agency", False),
    ("bluebird", "Bluebird Growth", False),
)
OWNER_LOGIN = ("owner@example.com", "owner-demo-pass")
DEMO_PASSWORD = "demo-pass-123"
LEAD_COUNT = 201

INDUSTRIES = ("SaaS", "Fintech", "Healthcare", "E-commerce", "Manufacturing", "Logistics")
LOCATIONS = ("US", "UK", "Germany", "Canada", "Poland", "Australia")
COMPANIES = ("Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay")


def demo_logins() -> list[tuple[str, str, str]]:
    """(email, password, what) for every demo account, for the start-up banner."""
    out = [(OWNER_LOGIN[0], OWNER_LOGIN[1], "owner, all partners")]
    for pid, name, _ in PARTNERS:
        out.append((f"admin@{pid}.example.com", DEMO_PASSWORD, f"admin of {name}"))
        out.append((f"user@{pid}.example.com", DEMO_PASSWORD, f"read-only user of {name}"))
    return out


def _upsert_user(db: Database, email: str, password: str, role: Role, partner_id: str) -> None:
    now = utcnow()
    email = normalise_email(email)
    user_id = f"demo-{email}"
    fresh = {"password_hash": hash_password(password), "active": True, "updated_at": now}
    if db[c.USERS].find_one({"_id": user_id}, {"_id": 1}):
        update_with_retry(db[c.USERS], user_id, lambda _: fresh, what="user")
        return
    db[c.USERS].insert_one(
        {"_id": user_id, "email": email, "name": email.split("@")[0].title(),
         "role": role.value, "partner_id": partner_id, "created_at": now, **fresh}
    )


def _lead_docs(rng: random.Random) -> list[dict]:
    now = utcnow()
    docs = []
    stages = list(Stage)
    for i in range(LEAD_COUNT):
        partner_id = PARTNERS[i % len(PARTNERS)][0]
        company = f"{rng.choice(COMPANIES)} {rng.choice(('Labs', 'Inc', 'Group', 'Systems'))}"
        stage = rng.choice(stages)
        status = rng.choice(
            (LeadStatus.OPEN, LeadStatus.OPEN, LeadStatus.LISTED, LeadStatus.ARCHIVED)
        )
        first = rng.choice(("Ada", "Grace", "Alan", "Linus", "Margaret", "Ken", "Barbara"))
        fields = LeadFields(
            title=f"{company} - {rng.choice(('Outbound', 'SEO', 'Paid ads', 'ABM'))} deal",
            company=company,
            contact_name=f"{first} {rng.choice(('Smith', 'Jones', 'Novak', 'Lee'))}",
            contact_email=f"{first.lower()}.{i}@{slugify(company)}.example.com",
            company_size=rng.choice(list(CompanySize)),
            industry=rng.choice(INDUSTRIES),
            location=rng.choice(LOCATIONS),
            budget_cents=rng.randrange(2_000, 50_000) * 100,
            amount_cents=rng.randrange(1_000, 80_000) * 100,
            price_cents=rng.choice((None, 25_000, 40_000, 75_000)),
            stage=stage,
        )
        created = now - timedelta(days=rng.uniform(0, 90))
        docs.append(
            build_lead_doc(
                partner_id, fields, source="demo", now=created,
                lead_id=f"demo-lead-{i:03d}", status=status,
            )
        )
    return docs


# ChiliPiper routing for the demo (README "Meetings and API tokens"): both agencies
# take "intro" meetings from companies of 51+ people with budgets of $5,000+;
# Northwind the US and Canada, Bluebird also the UK and Germany, at twice the weight.
DEMO_ROUTING = {
    "northwind": {"weight": 1, "locations": ["US", "Canada"]},
    "bluebird": {"weight": 2, "locations": ["US", "UK", "Germany"]},
}


def _seed_routing(db: Database) -> None:
    """Routing rules for the demo agencies, unless the owner has set some."""
    for pid, rules in DEMO_ROUTING.items():
        routing = {"company_size_min": "51-200", "company_size_max": None,
                   "budget_min_cents": 500_000, "industries": [], "monthly_cap": None,
                   **rules}
        update_with_retry(
            db[c.PARTNERS], pid,
            lambda doc, r=routing: None if "chili_meeting_types" in doc else
            {"chili_meeting_types": ["intro"], "routing": r, "updated_at": utcnow()},
            what="partner",
        )


def seed_demo(db: Database) -> dict[str, int]:
    """Insert what is missing; returns how many leads were new."""
    now = utcnow()
    for pid, name, is_operator in PARTNERS:
        db[c.PARTNERS].update_one(
            {"_id": pid},
            {
                "$setOnInsert": {
                    "name": name,
                    "slug": slugify(name),
                    "website": f"https://{pid}.example.com",
                    "is_operator": is_operator,
                    "active": True,
                    "default_lead_price_cents": 50_000,
                    "created_at": now,
                    "updated_at": now,
                }
            },
            upsert=True,
        )
    _upsert_user(db, OWNER_LOGIN[0], OWNER_LOGIN[1], Role.OWNER, OPERATOR_ID)
    for pid, _, _ in PARTNERS:
        _upsert_user(db, f"admin@{pid}.example.com", DEMO_PASSWORD, Role.ADMIN, pid)
        _upsert_user(db, f"user@{pid}.example.com", DEMO_PASSWORD, Role.USER, pid)

    _seed_routing(db)

    docs = _lead_docs(random.Random(42))  # noqa: S311 - demo data, not security
    existing = {
        d["_id"] for d in db[c.LEADS].find({"_id": {"$in": [d["_id"] for d in docs]}}, {"_id": 1})
    }
    missing = [d for d in docs if d["_id"] not in existing]
    created = 0
    for start in range(0, len(missing), 100):
        batch = missing[start : start + 100]
        try:
            db[c.LEADS].bulk_write([InsertOne(d) for d in batch], ordered=False)
            created += len(batch)
        except BulkWriteError as exc:  # a concurrent seed inserted some: fine
            created += exc.details.get("nInserted", 0)
    return {"leads_created": created}
