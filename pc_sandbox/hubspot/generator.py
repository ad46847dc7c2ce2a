"""Builds realistic portals fast, and computes generated records' values on demand.

A generated record's properties are a pure function of (portal seed, object type, id), so the
portal stores only ids and timestamps up front: 100,000 deals + 100,000 contacts take about a
second, and values are computed per page as they are read. Records that are written later get
their values materialised into ``Record.props`` (see ``mutations``).
"""

from __future__ import annotations

import random
import threading
from functools import lru_cache

from . import clock, names, schema
from .state import ObjectStore, Portal, PropValue, Record, SandboxState

M64 = (1 << 64) - 1
DAY_MS = 86_400_000
CONTACT_BASE_ID = 1001
DEAL_BASE_ID = 5_000_000_001
NOTE_BASE_ID = 7_000_000_001
_ID_LOCK = threading.Lock()
_TYPE_SALT = {"contacts": 0xC0, "deals": 0xDE, "notes": 0x0E, "company": 0xC3}


def _splitmix(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & M64
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


class Draw:
    """A tiny deterministic random stream keyed by (seed, kind, id): cheap to create per record."""

    __slots__ = ("s",)

    def __init__(self, seed: int, kind: str, ident: int) -> None:
        self.s = _splitmix((seed * 1_000_003) ^ (_TYPE_SALT[kind] << 56) ^ ident)

    def next(self) -> int:
        self.s = _splitmix(self.s)
        return self.s

    def below(self, n: int) -> int:
        return self.next() % n

    def pick(self, seq: tuple | list):  # type: ignore[type-arg]
        return seq[self.next() % len(seq)]

    def unit(self) -> float:
        return self.next() / 18446744073709551616.0


@lru_cache(maxsize=65536)
def company_profile(seed: int, index: int) -> dict[str, str]:
    """Name, domain, industry, size and place of company ``index`` in a portal's pool."""
    d = Draw(seed, "company", index)
    words, sufs = names.COMPANY_WORDS, names.COMPANY_SUFFIXES
    name = f"{words[index % len(words)]} {sufs[(index // len(words)) % len(sufs)]}"
    cycle = index // (len(words) * len(sufs))
    if cycle:
        name += f" {cycle + 1}"
    city, region, country = d.pick(names.LOCATIONS)
    return {
        "company": name,
        "domain": name.lower().replace(" ", "") + ".example.com",
        "industry": d.pick(schema.INDUSTRIES),
        "size": d.pick(schema.COMPANY_SIZES),
        "city": city,
        "state": region,
        "country": country,
    }


def contact_company_index(portal: Portal, contact_id: int) -> int:
    """Which pool company a generated contact works for."""
    return Draw(portal.seed, "contacts", contact_id).below(max(1, portal.companies))


def deal_primary_contact(portal: Portal, deal_id: int) -> int | None:
    """The generated contact a generated deal was created for (None in contact-less portals)."""
    if portal.contacts_generated <= 0:
        return None
    return CONTACT_BASE_ID + _splitmix(portal.seed * 7919 ^ deal_id) % portal.contacts_generated


def base_props(portal: Portal, object_type: str, rec: Record) -> dict[str, PropValue]:
    """Generated values of a record (computed fields like hs_object_id are added by render)."""
    if object_type == "contacts":
        return _contact_props(portal, rec)
    if object_type == "deals":
        return _deal_props(portal, rec)
    return {}


def _contact_props(portal: Portal, rec: Record) -> dict[str, PropValue]:
    d = Draw(portal.seed, "contacts", rec.id)
    comp = company_profile(portal.seed, d.below(max(1, portal.companies)))
    first, last = d.pick(names.FIRST_NAMES), d.pick(names.LAST_NAMES)
    phone = None if d.below(10) == 0 else f"+1 555 {d.below(900) + 100:03d} {d.below(10000):04d}"
    stage = d.pick(("lead", "lead", "marketingqualifiedlead", "salesqualifiedlead",
                    "opportunity", "customer", "subscriber"))
    return {
        "firstname": first,
        "lastname": last,
        "email": f"{first.lower()}.{last.lower()}{rec.id}@{comp['domain']}",
        "company": comp["company"],
        "phone": phone,
        "jobtitle": d.pick(names.JOB_TITLES),
        "city": comp["city"],
        "country": comp["country"],
        "industry": comp["industry"],
        "numemployees": comp["size"],
        "lifecyclestage": stage,
        "website": f"https://www.{comp['domain']}",
    }


def _deal_props(portal: Portal, rec: Record) -> dict[str, PropValue]:
    d = Draw(portal.seed, "deals", rec.id)
    contact = deal_primary_contact(portal, rec.id)
    if contact is not None:
        comp_index = contact_company_index(portal, contact)
    else:
        comp_index = d.below(max(1, portal.companies))
    comp = company_profile(portal.seed, comp_index)
    pipelines = portal.pipelines
    # Most deals sit in the default pipeline, the rest spread over the custom ones.
    pipe = pipelines[0] if len(pipelines) == 1 or d.below(10) < 6 else d.pick(pipelines[1:])
    stages = pipe["stages"]
    closed = [s for s in stages if s["metadata"]["isClosed"] == "true"]
    open_ = [s for s in stages if s["metadata"]["isClosed"] != "true"] or stages
    st = d.pick(closed) if closed and d.below(100) < 35 else d.pick(open_)
    base = d.pick(names.AMOUNT_BASES)
    amount = max(500, int(base * (0.8 + 0.4 * d.unit())) // 50 * 50)
    closedate = rec.created + (14 + d.below(140)) * DAY_MS
    product = d.pick(names.DEAL_PRODUCTS)
    return {
        "dealname": f"{comp['company']} - {product}",
        "amount": str(amount),
        "dealstage": st["id"],
        "pipeline": pipe["id"],
        "closedate": clock.iso(closedate - closedate % DAY_MS),
        "dealtype": "newbusiness" if d.below(4) else "existingbusiness",
        "description": f"{product} for {comp['company']} ({comp['size']} employees).",
        "hs_priority": d.pick(("low", "medium", "medium", "high")),
        "company_name": comp["company"],
        "industry": comp["industry"],
        "company_size": comp["size"],
        "city": comp["city"],
        "state": comp["state"],
        "country": comp["country"],
    }


def _timestamps(rng: random.Random, now: int, span_ms: int,
                bulk_times: list[int]) -> tuple[int, int]:
    created = now - span_ms + int(span_ms * rng.random())
    # A few records share a bulk-edit timestamp (like a pipeline edit bumping every deal),
    # so clients must break ties on hs_object_id.
    if bulk_times and rng.random() < 0.04:
        t = bulk_times[int(rng.random() * len(bulk_times))]
        if t >= created:
            return created, t
    u = rng.random()
    return created, created + int((now - created) * (1 - u * u * u))


def new_store(object_type: str) -> ObjectStore:
    """An empty store whose ids start where HubSpot-like ids of that type start."""
    start = {"contacts": CONTACT_BASE_ID, "deals": DEAL_BASE_ID, "notes": NOTE_BASE_ID}
    return ObjectStore(object_type=object_type, next_id=start[object_type])


def generate_portal(state: SandboxState, *, name: str | None = None, contacts: int = 100,
                    deals: int = 100, pipelines: int = 2, seed: int | None = None,
                    span_days: int = 180) -> Portal:
    """Create and register a portal with generated contacts, deals and associations."""
    with _ID_LOCK:  # portals may be generated in worker threads (admin route)
        portal_id = state.next_portal_id
        state.next_portal_id += 1
    seed = portal_id if seed is None else int(seed)
    now = clock.now_ms()
    pipelines = min(3, max(1, int(pipelines)))
    portal = Portal(
        id=portal_id,
        name=name or f"{company_profile(seed, seed % 97)['company']} (sandbox)",
        seed=seed,
        created=now,
        stores={t: new_store(t) for t in ("contacts", "deals", "notes")},
        pipelines=schema.build_pipelines(portal_id, pipelines, clock.iso(now)),
        companies=max(1, contacts // 4),
        contacts_generated=max(0, int(contacts)),
    )
    span = span_days * DAY_MS
    bulk = [now - span // 3, now - span // 9, now - DAY_MS * 3]
    rng = random.Random(seed)
    for object_type, count, base_id, bulk_times in (
        ("contacts", contacts, CONTACT_BASE_ID, bulk[:1]),
        ("deals", deals, DEAL_BASE_ID, bulk),
    ):
        recs = []
        for rid in range(base_id, base_id + max(0, int(count))):
            created, updated = _timestamps(rng, now, span, bulk_times)
            recs.append(Record(rid, created, updated))
        portal.stores[object_type].load_bulk(recs)
    links = portal.associations.links
    d2c: dict[int, list[int]] = {}
    c2d: dict[int, list[int]] = {}
    if contacts > 0:
        for rid in range(DEAL_BASE_ID, DEAL_BASE_ID + max(0, int(deals))):
            primary = deal_primary_contact(portal, rid)
            assert primary is not None
            ids = [primary]
            if contacts > 1 and rng.random() < 0.2:
                extra = CONTACT_BASE_ID + int(rng.random() * contacts)
                if extra != primary:
                    ids.append(extra)
            d2c[rid] = ids
            for c in ids:
                c2d.setdefault(c, []).append(rid)
    links[("deals", "contacts")] = d2c
    links[("contacts", "deals")] = c2d
    state.portals[portal_id] = portal
    return portal
