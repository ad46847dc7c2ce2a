"""Which partner gets a booked meeting, and why.

Candidates are active partners whose ``chili_meeting_types`` include the meeting's
type, whose criteria fit the booker's answers and who are under their monthly cap;
among them ``round_robin.pick`` chooses by weight. No candidate → ``None``: the
caller puts the lead on the operator's unassigned queue. ``explain`` runs the same
rules without recording anything, for the preview route.

A booking reads everything routing needs in one round trip (``snapshot``: the
partners with rules, the operator, the meeting type's round-robin state, this
month's counts, plus what the caller adds) and ``plan`` decides from it without
reading again; the pick is recorded by the writes the plan carries, in the
caller's one batch of writes. ``route`` reads and records step by step, for when
that batch loses a race.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core.access import Principal
from pc_core.identity.partners import get_partner_doc
from pc_core.meetings import criteria, round_robin
from pc_core.meetings.criteria import RoutingConfig
from pc_core.meetings.payload import (
    ChiliPiperPayload,
    FormAnswers,
    budget_cents,
    company_size,
)
from pc_core.store import batch, update_with_retry
from pc_core.store.keys import month_key
from pc_core.timeutil import utcnow

PARTNER_FIELDS = {"name": 1, "active": 1, "is_operator": 1, "chili_meeting_types": 1,
                  "routing": 1}


@dataclass
class Candidate:
    partner_id: str
    name: str
    weight: int
    eligible: bool
    reasons: list[str] = field(default_factory=list)
    month_count: int = 0
    monthly_cap: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"partner_id": self.partner_id, "name": self.name, "weight": self.weight,
                "eligible": self.eligible, "reasons": self.reasons,
                "month_count": self.month_count, "monthly_cap": self.monthly_cap}


@dataclass
class Decision:
    partner_id: str | None
    reason: str
    candidates: list[Candidate]
    writes: list[batch.Write] = field(default_factory=list)  # what records the pick


@dataclass
class Snapshot:
    """What routing needs, read in one round trip (``snapshot``)."""

    partners: list[dict[str, Any]]  # with routing rules, by id
    operator: str | None  # the operator partner, whose queue takes unrouted leads
    state: dict[str, Any] | None  # the meeting type's round-robin state
    counts: dict[str, int]  # leads routed this month, by partner
    month: str
    also: list[list[dict[str, Any]]]  # the caller's further reads


def lead_of(payload: ChiliPiperPayload) -> criteria.Lead:
    return lead_from(payload.meeting_type, payload.form)


def lead_from(meeting_type: str, form: FormAnswers) -> criteria.Lead:
    """The routing view of a form: budget in cents, company size as a bucket."""
    return criteria.Lead(
        meeting_type=meeting_type,
        company_size=company_size(form.company_size),
        budget_cents=budget_cents(form.budget),
        location=form.location or None,
        industry=form.industry or None,
    )


ROUTABLE = {"chili_meeting_types": {"$exists": True}}  # few: the operator sets them by hand
MAX_PARTNERS = 5000


def _routable_partners(db: Database) -> list[dict[str, Any]]:
    docs = db[c.PARTNERS].find(ROUTABLE, PARTNER_FIELDS)
    return sorted(docs.limit(MAX_PARTNERS), key=lambda d: d["_id"])


OPERATOR = {"is_operator": {"$in": [True, 1]}}


def snapshot(db: Database, meeting_type: str, now: datetime,
             *also: batch.Read) -> Snapshot:
    """Everything ``plan`` needs, and the caller's ``also`` reads, in one batch of
    reads (``store.batch.read_together``): the routable partners with the operator,
    this month's counters with the meeting type's round-robin state (one collection),
    the state's earlier home until this process has seen it moved, then ``also``."""
    month = month_key(now)
    state_key = round_robin.state_id(meeting_type)
    legacy = round_robin.legacy_read(db, meeting_type)
    found = batch.read_together(db, [
        batch.Read(c.PARTNERS, {"$or": [ROUTABLE, OPERATOR]}, PARTNER_FIELDS,
                   limit=MAX_PARTNERS),
        batch.Read(c.ROUTING_COUNTS, {"$or": [{"month": month}, {"_id": state_key}]}),
        *([legacy] if legacy else []),
        *also,
    ])
    partners, counters, *rest = found
    moved = [d for d in counters if d["_id"] == state_key]
    state = round_robin.current_state(db, meeting_type, moved, rest.pop(0) if legacy else [])
    operator = next((d["_id"] for d in partners if d.get("is_operator") in (True, 1)), None)
    return Snapshot(
        partners=sorted((d for d in partners if "chili_meeting_types" in d),
                        key=lambda d: d["_id"]),
        operator=operator,
        state=state,
        counts={d["partner_id"]: int(d.get("count") or 0) for d in counters
                if d.get("month") == month},
        month=month, also=rest)


def _candidates(partners: list[dict[str, Any]], lead: criteria.Lead) -> list[Candidate]:
    out: list[Candidate] = []
    for doc in partners:
        config = criteria.config_of(doc)
        reasons = [] if doc.get("active", True) else ["partner inactive"]
        reasons += criteria.mismatches(config, lead)
        out.append(Candidate(doc["_id"], doc.get("name", ""), config.weight, not reasons,
                             reasons, monthly_cap=config.monthly_cap))
    return out


def evaluate(db: Database, lead: criteria.Lead, now: datetime) -> list[Candidate]:
    """Every partner with routing rules, eligible or not, with the reasons."""
    out = _candidates(_routable_partners(db), lead)
    capped = [cand.partner_id for cand in out if cand.eligible and cand.monthly_cap is not None]
    if capped:
        _apply_caps(out, round_robin.monthly_counts(db, capped, round_robin.month_key(now)))
    return out


def _apply_caps(out: list[Candidate], counts: dict[str, int]) -> None:
    """This month's counts on the candidates; one at its cap is not eligible."""
    for cand in out:
        if cand.partner_id in counts:
            cand.month_count = counts[cand.partner_id]
        if cand.eligible and cand.monthly_cap is not None and \
                cand.month_count >= cand.monthly_cap:
            cand.eligible = False
            cand.reasons.append(f"monthly cap reached ({cand.month_count}/"
                                f"{cand.monthly_cap})")


def _weights(candidates: list[Candidate]) -> dict[str, int]:
    return {cand.partner_id: cand.weight for cand in candidates if cand.eligible}


def plan(snap: Snapshot, lead: criteria.Lead, meeting_type: str) -> Decision:
    """The partner for one meeting from ``snap`` alone, and the writes that record
    the pick (``round_robin.pick_writes``); none when no partner matches."""
    candidates = _candidates(snap.partners, lead)
    _apply_caps(candidates, snap.counts)
    weights = _weights(candidates)
    if not weights:
        return Decision(None, "no partner matches", candidates)
    credits = {k: int(v) for k, v in ((snap.state or {}).get("credits") or {}).items()}
    chosen, new_credits = round_robin.swrr_pick(credits, weights)
    cap = next(cand.monthly_cap for cand in candidates if cand.partner_id == chosen)
    return Decision(chosen, f"weighted round-robin among {len(weights)} matching "
                            f"partner(s)", candidates,
                    round_robin.pick_writes(snap.state, meeting_type, chosen, new_credits,
                                            cap, snap.month))


def route(db: Database, lead: criteria.Lead, now: datetime | None = None) -> Decision:
    """Pick and record the partner for one meeting (or none)."""
    now = now or utcnow()
    candidates = evaluate(db, lead, now)
    weights = _weights(candidates)
    if not weights:
        return Decision(None, "no partner matches", candidates)
    caps = {cand.partner_id: cand.monthly_cap for cand in candidates if cand.eligible}
    chosen = round_robin.pick(db, lead.meeting_type, weights, caps, now)
    if chosen is None:
        return Decision(None, "every matching partner is at its monthly cap", candidates)
    return Decision(chosen, f"weighted round-robin among {len(weights)} matching "
                            f"partner(s)", candidates)


def explain(db: Database, actor: Principal, meeting_type: str,
            form: FormAnswers) -> dict[str, Any]:
    """The preview: who would get this form now, and why; writes nothing."""
    actor.require_owner()
    now = utcnow()
    lead = lead_from(meeting_type, form)
    candidates = evaluate(db, lead, now)
    weights = _weights(candidates)
    chosen = None
    if weights:
        chosen, _ = round_robin.swrr_pick(round_robin.read_credits(db, lead.meeting_type),
                                          weights)
    names = {cand.partner_id: cand.name for cand in candidates}
    return {
        "partner_id": chosen,
        "partner_name": names.get(chosen) if chosen else None,
        "unassigned": chosen is None,
        "reason": (f"next in the weighted round-robin among {len(weights)} matching "
                   f"partner(s)" if chosen else
                   "no partner matches: the lead would go to the operator's unassigned queue"),
        "normalised": {"meeting_type": lead.meeting_type,
                       "company_size": lead.company_size.value if lead.company_size else None,
                       "budget_cents": lead.budget_cents, "location": lead.location,
                       "industry": lead.industry},
        "candidates": [cand.as_dict() for cand in candidates],
    }


def get_routing(db: Database, actor: Principal, partner_id: str) -> dict[str, Any]:
    doc = get_partner_doc(db, actor, partner_id)
    config = criteria.config_of(doc)
    count = round_robin.monthly_counts(db, [partner_id], round_robin.month_key(utcnow()))
    return {"partner_id": partner_id, **config.model_dump(mode="json"),
            "active": bool(doc.get("active", True)), "month_count": count.get(partner_id, 0)}


def put_routing(db: Database, actor: Principal, partner_id: str,
                config: RoutingConfig) -> dict[str, Any]:
    """Owner only: the operator decides who gets its website's meetings."""
    actor.require_owner()
    get_partner_doc(db, actor, partner_id)
    fields = {**criteria.to_partner_fields(config), "updated_at": utcnow()}
    update_with_retry(db[c.PARTNERS], partner_id, lambda _: fields, what="partner")
    return get_routing(db, actor, partner_id)
