"""The known-contact check (POST /v1/marketplace/known-contacts' work,
``pc_core.marketplace.known_contacts.check``) for a page of 24 listings, against a
buyer with N leads and N/2 synced HubSpot contacts, on nx-27017. The check hashes the
listings' contacts and looks their keys up in the buyer's stored, indexed
``match_keys`` (two ``$in`` queries), so its time should not grow with N.

    .venv/bin/python bench/known_contacts_bench.py [--leads 20000] [--rounds 10] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid

from _figures import figure, parse, quick_flag
from _stack import pct

from pc_core import collections as c
from pc_core.db import get_db
from pc_core.leads.inventory import build_lead_doc
from pc_core.marketplace import known_contacts
from pc_core.models.leads import LeadFields
from pc_core.settings import Settings
from pc_core.stages import LeadStatus
from pc_core.store.indexes import ensure_indexes
from pc_core.timeutil import utcnow
from pc_dev import devstack

NAME = "known_contacts"


def _leads(partner: str, n: int, status: LeadStatus, offset: int = 0) -> list[dict]:
    now = utcnow()
    return [build_lead_doc(partner, LeadFields.model_construct(
        title=f"Lead {i}", contact_email=f"c{i}@company{i % 5000}.example.com",
        company=None, contact_name=None, contact_phone=None, company_size=None,
        industry="SaaS", location="US", budget_cents=None, amount_cents=None,
        price_cents=None, stage="new", external_id=None), source="bench", now=now,
        status=status) for i in range(offset, offset + n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=10)
    quick_flag(parser, leads=2_000, rounds=5)
    args = parse(parser)
    group = devstack.ProcessGroup()
    try:
        uri = devstack.start_nx(group, devstack.free_port(), "memory", None)
        settings = Settings(mongodb_uri=uri, mongodb_db=f"bench_{uuid.uuid4().hex[:8]}")
        db = get_db(settings)
        ensure_indexes(db)
        own = _leads("buyer", args.leads, LeadStatus.OPEN)
        for i in range(0, len(own), 1000):
            db[c.LEADS].insert_many(own[i:i + 1000])
        contacts = [{"_id": f"buyer:{i}", "partner_id": "buyer", "hubspot_id": str(i),
                     "properties": (props := {"email": f"h{i}@crm{i % 3000}.example.org"}),
                     "match_keys": known_contacts.contact_keys(props)}
                    for i in range(args.leads // 2)]
        for i in range(0, len(contacts), 1000):
            db[c.HUBSPOT_CONTACTS].insert_many(contacts[i:i + 1000])
        listed = _leads("seller", 24, LeadStatus.LISTED, offset=args.leads - 12)
        db[c.LEADS].insert_many(listed)
        ids = [d["_id"] for d in listed]
        times, known = [], 0
        for _ in range(args.rounds):
            start = time.perf_counter()
            found = known_contacts.check(db, "buyer", ids)
            times.append((time.perf_counter() - start) * 1000)
            known = sum(1 for m in found.values() if m == "email")
        print(f"{args.leads} buyer leads + {args.leads // 2} HubSpot contacts, 24 listings: "
              f"p50 {statistics.median(times):.0f} ms, p95 {pct(times, 95):.0f} ms, "
              f"{known} known by e-mail")
        figure(NAME, f"check p50 ({args.leads} leads)", round(statistics.median(times)), "ms",
               below=2000)
        # The first 12 listings share an e-mail with the buyer's own leads (the other 12
        # only a company domain, at the default size).
        figure(NAME, "listings known by e-mail", known, equals=12)
    finally:
        group.stop_all()


if __name__ == "__main__":
    main()
