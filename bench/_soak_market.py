"""The fault soak's marketplace load and its invariants (bench/fault_soak.py).

Buyers reserve listed leads through the API, then pay for some (a purchase through
the API, the PaymentIntent confirmed as Stripe.js confirms it from the browser, with
Stripe's test card 4242 4242 4242 4242 against the sandbox, which then delivers its
signed ``payment_intent.succeeded`` to the API, retrying while the API is down, as
Stripe does), release others and keep the rest. Only what the API acknowledged (a
2xx answer) goes into the ledger: a request whose answer was lost in a crash may or
may not have happened, and promises nothing.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import httpx
from pymongo.database import Database

from pc_core import collections as c
from pc_core.access import Principal, Role
from pc_core.identity.partners import create_partner
from pc_core.identity.users import create_user
from pc_core.leads.inventory import build_lead_doc
from pc_core.models.leads import LeadFields
from pc_core.security.jwt_tokens import create_access_token
from pc_core.settings import Settings
from pc_core.stages import LeadStatus
from pc_core.timeutil import utcnow

SYSTEM = Principal("soak", Role.OWNER, None)
TEST_CARD = "4242424242424242"
#: Stripe retries a failed delivery for days; the sandbox, every half second for a
#: minute then every 2 s for two more: longer than any outage the soak makes.
STRIPE_RETRIES_MS = [500] * 120 + [2000] * 60


@dataclass
class Buyer:
    partner_id: str
    headers: dict[str, str]
    token: str


@dataclass
class MarketLedger:
    """What the API acknowledged to the buyers."""

    reservations: dict[str, tuple[str, str]] = field(default_factory=dict)  # id → buyer, lead
    released: set[str] = field(default_factory=set)
    #: purchase id → reservation, lead, buyer
    paid: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    retries: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def seed_market(db: Database, settings: Settings, leads: int, buyers: int,
                tag: str) -> list[Buyer]:
    """A seller with ``leads`` listed leads and ``buyers`` buyer partners with a signed-in
    admin each."""
    seller = create_partner(db, SYSTEM, name=f"Soak seller {tag}").id
    now = utcnow()
    docs = [build_lead_doc(seller, LeadFields(
        title=f"Soak lead {i}", company=f"Co {i}", contact_name="Someone",
        contact_email=f"soak{i}@example.com", industry="SaaS", location="US",
        company_size="51-200", budget_cents=1_000_000), source="soak", now=now,
        status=LeadStatus.LISTED) for i in range(leads)]
    db[c.LEADS].insert_many(docs)
    out = []
    for b in range(buyers):
        partner = create_partner(db, SYSTEM, name=f"Soak buyer {tag} {b}").id
        user = create_user(db, SYSTEM, email=f"soak-{tag}-{b}@example.com",
                           password="soak-password-1", role=Role.ADMIN, partner_id=partner)
        token, _ = create_access_token(settings, user.id)
        out.append(Buyer(partner, {"Authorization": f"Bearer {token}"}, token))
    return out


def listed_ids(http: httpx.Client, headers: dict[str, str]) -> set[str]:
    """Every listing the marketplace shows, all pages (raises while the API is down)."""
    found: set[str] = set()
    cursor = None
    while True:
        params: dict = {"limit": 200}
        if cursor:
            params["cursor"] = cursor
        r = http.get("/v1/marketplace/listings", params=params, headers=headers)
        r.raise_for_status()
        body = r.json()
        found.update(item["id"] for item in body["items"])
        cursor = body.get("next_cursor")
        if not cursor:
            return found


def _call(http: httpx.Client, ledger: MarketLedger, stop: threading.Event, method: str,
          path: str, **kw) -> httpx.Response | None:
    """One request, retried while the API is unreachable or answers 5xx (the answer
    to a retried POST may be a 409 if the first attempt went through unanswered)."""
    while not stop.is_set():
        try:
            r = http.request(method, path, **kw)
        except httpx.HTTPError:
            r = None
        if r is not None and r.status_code < 500:
            return r
        with ledger.lock:
            ledger.retries += 1
        time.sleep(0.3)
    return None


def confirm_with_test_card(settings: Settings, client_secret: str) -> bool:
    """The browser's ``stripe.confirmCardPayment`` against the sandbox."""
    pi = client_secret.split("_secret_")[0]
    r = httpx.post(f"{settings.stripe_api_base}/v1/payment_intents/{pi}/confirm", data={
        "key": settings.stripe_publishable_key, "client_secret": client_secret,
        "payment_method_data[type]": "card",
        "payment_method_data[card][number]": TEST_CARD,
        "payment_method_data[card][exp_month]": "12",
        "payment_method_data[card][exp_year]": "2034",
        "payment_method_data[card][cvc]": "123"}, timeout=30)
    return r.status_code == 200 and r.json().get("status") == "succeeded"


def buyer_loop(api_url: str, settings: Settings, buyer: Buyer, ledger: MarketLedger,
               stop: threading.Event, seed: int) -> None:
    """Reserve, then buy (1 in 2), release (1 in 4) or keep; again and again."""
    rng = random.Random(seed)
    with httpx.Client(base_url=api_url, timeout=15) as http:
        while not stop.is_set():
            try:
                available = sorted(listed_ids(http, buyer.headers))
            except httpx.HTTPError:
                time.sleep(0.3)
                continue
            if not available:
                time.sleep(0.5)
                continue
            r = _call(http, ledger, stop, "POST", "/v1/marketplace/reservations",
                      json={"lead_id": rng.choice(available)}, headers=buyer.headers)
            if r is None or r.status_code != 201:
                time.sleep(0.2)  # taken by another buyer, or at the cap
                continue
            res = r.json()
            with ledger.lock:
                ledger.reservations[res["id"]] = (buyer.partner_id, res["lead_id"])
            choice = rng.random()
            if choice < 0.5:
                p = _call(http, ledger, stop, "POST", "/v1/marketplace/purchases",
                          json={"reservation_id": res["id"]}, headers=buyer.headers)
                if p is not None and p.status_code in (200, 201) and \
                        confirm_with_test_card(settings, p.json()["client_secret"]):
                    with ledger.lock:
                        ledger.paid[p.json()["id"]] = (res["id"], res["lead_id"],
                                                       buyer.partner_id)
            elif choice < 0.75:
                d = _call(http, ledger, stop, "DELETE",
                          f"/v1/marketplace/reservations/{res['id']}", headers=buyer.headers)
                if d is not None and d.status_code == 200:
                    with ledger.lock:
                        ledger.released.add(res["id"])
            time.sleep(rng.uniform(0.1, 0.4))


def settled(db: Database, ledger: MarketLedger) -> bool:
    """No paid purchase still waiting for Stripe's webhook."""
    ids = list(ledger.paid)
    return not db[c.PURCHASES].find_one({"_id": {"$in": ids}, "status": "pending"},
                                        {"_id": 1})


def check_market(db: Database, ledger: MarketLedger,
                 settings: Settings) -> list[tuple[str, list[str]]]:
    """(invariant, ids) for each market invariant broken."""
    found: list[tuple[str, list[str]]] = []
    purchases = {d["_id"]: d for d in db[c.PURCHASES].find({})}
    leads = {d["_id"]: d for d in db[c.LEADS].find({"source": "soak"})}
    reservations = {d["_id"]: d for d in db[c.RESERVATIONS].find({})}

    # purchase-completed-once: every paid purchase completed, its lead sold to its
    # buyer, its reservation converted, its confirmation e-mail recorded (one record
    # per purchase by construction: the e-mail's _id is its dedupe key).
    bad = []
    for pid, (res_id, lead_id, buyer) in ledger.paid.items():
        p, lead, res = purchases.get(pid), leads.get(lead_id), reservations.get(res_id)
        if p is None or p["status"] != "completed" or lead is None or \
                lead["status"] != LeadStatus.SOLD.value or \
                lead.get("buyer_partner_id") != buyer or res is None or \
                res["status"] != "converted" or res.get("purchase_id") != pid:
            bad.append(f"{pid} ({p and p['status']}, lead {lead and lead['status']})")
        elif db[c.EMAILS].find_one({"_id": f"purchase-confirmed:{pid}"}, {"_id": 1}) is None:
            bad.append(f"{pid} (no purchase-confirmed e-mail)")
    if bad:
        found.append(("purchase-completed-once", sorted(bad)))

    # no-double-sale: one completed purchase per lead, and it names the lead's buyer.
    by_lead: dict[str, list[str]] = defaultdict(list)
    for p in purchases.values():
        if p["status"] == "completed":
            by_lead[p["lead_id"]].append(p["_id"])
    double = [f"{lead} ({', '.join(ids)})" for lead, ids in by_lead.items() if len(ids) > 1]
    double += [f"{lid} (sold to {lead.get('buyer_partner_id')}, no completed purchase)"
               for lid, lead in leads.items()
               if lead["status"] == LeadStatus.SOLD.value and lid not in by_lead]
    if double:
        found.append(("no-double-sale", sorted(double)))

    # no-double-reservation: at most one active reservation per lead, and the lead
    # names it; no buyer above the cap.
    active: dict[str, list[str]] = defaultdict(list)
    per_buyer: Counter[str] = Counter()
    for r in reservations.values():
        if r["status"] == "active":
            active[r["lead_id"]].append(r["_id"])
            per_buyer[r["buyer_partner_id"]] += 1
    double = [f"{lead} ({', '.join(ids)})" for lead, ids in active.items() if len(ids) > 1]
    double += [f"{rid} (lead {r['lead_id']} is {leads.get(r['lead_id'], {}).get('status')})"
               for rid, r in reservations.items() if r["status"] == "active"
               and (leads.get(r["lead_id"], {}).get("reservation") or {}).get("id") != rid]
    double += [f"buyer {b} holds {n}" for b, n in per_buyer.items()
               if n > settings.max_active_reservations]
    if double:
        found.append(("no-double-reservation", sorted(double)))

    # no-lost-reservation: every acknowledged reservation is stored; one neither
    # released nor paid is still active (7 days > the soak), or converted by a
    # purchase whose answer the buyer never saw.
    paid_res = {res for res, _, _ in ledger.paid.values()}
    lost = []
    for rid, (buyer, lead_id) in ledger.reservations.items():
        r = reservations.get(rid)
        if r is None or r["buyer_partner_id"] != buyer or r["lead_id"] != lead_id:
            lost.append(f"{rid} (missing)")
        elif rid in ledger.released:
            if r["status"] != "released":
                lost.append(f"{rid} (released, but {r['status']})")
        elif rid not in paid_res and r["status"] not in ("active", "converted"):
            lost.append(f"{rid} ({r['status']})")
    if lost:
        found.append(("no-lost-reservation", sorted(lost)))
    return found
