"""Which partner gets a booked meeting, and why.

Candidates are active partners whose ``chili_meeting_types`` include the meeting's
type, whose criteria fit the booker's answers and who are under their monthly cap;
among them ``round_robin.pick`` chooses by weight. No candidate → ``None``: the
caller puts the lead on the operator's unassigned queue. ``explain`` runs the same
rules without recording anything, for the preview route.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo.database import Database

from pc_core import collections as c
from pc_core.access import Principal
from pc_core.meetings import criteria, round_robin
from pc_core.meetings.criteria import RoutingConfig
from pc_core.meetings.payload import (
    ChiliPiperPayload,
    FormAnswers,
    budget_cents,
    company_size,
)
from pc_core.partners import get_partner_doc
from pc_core.store import update_with_retry
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


def _routable_partners(db: Database) -> list[dict[str, Any]]:
    """Partners with routing rules; few (the operator manages them by hand)."""
    docs = db[c.PARTNERS].find({"chili_meeting_types": {"$exists": True}}, PARTNER_FIELDS)
    return sorted(docs.limit(5000), key=lambda d: d["_id"])


def evaluate(db: Database, lead: criteria.Lead, now: datetime) -> list[Candidate]:
    """Every partner with routing rules, eligible or not, with the reasons."""
    partners = _routable_partners(db)
    out: list[Candidate] = []
    for doc in partners:
        config = criteria.config_of(doc)
        reasons = [] if doc.get("active", True) else ["partner inactive"]
        reasons += criteria.mismatches(config, lead)
        out.append(Candidate(doc["_id"], doc.get("name", ""), config.weight, not reasons,
                             reasons, monthly_cap=config.monthly_cap))
    capped = [cand.partner_id for cand in out if cand.eligible and cand.monthly_cap is not None]
    if capped:
        counts = round_robin.monthly_counts(db, capped, round_robin.month_key(now))
        for cand in out:
            if cand.partner_id in counts:
                cand.month_count = counts[cand.partner_id]
            if cand.eligible and cand.monthly_cap is not None and \
                    cand.month_count >= cand.monthly_cap:
                cand.eligible = False
                cand.reasons.append(f"monthly cap reached ({cand.month_count}/"
                                    f"{cand.monthly_cap})")
    return out


def _weights(candidates: list[Candidate]) -> dict[str, int]:
    return {cand.partner_id: cand.weight for cand in candidates if cand.eligible}


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
