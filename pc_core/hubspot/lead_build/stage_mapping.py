"""Each partner's HubSpot deal stages mapped onto the canonical stages.

The first time a partner's pipelines are seen, every stage gets the suggested
mapping, so a fresh connection produces stage-mapped leads at once. Stages that
appear later start unmapped (``canonical_stage: null``), carry a suggestion, and
are reported by the Dagster asset check until an admin maps them.
"""

from __future__ import annotations

import re
from typing import Any

from pymongo import InsertOne, UpdateOne
from pymongo.database import Database

from pc_core import collections as c
from pc_core.access import Principal
from pc_core.errors import BadRequest, NotFound
from pc_core.hubspot.lead_build import rebuild_requests
from pc_core.stages import Stage
from pc_core.timeutil import utcnow

# Label keywords → canonical stage, checked in order (first match wins).
_LABEL_RULES: tuple[tuple[str, Stage], ...] = (
    (r"non[\s_-]?fit|not a fit|disqualif|unqualif", Stage.NON_FIT),
    (r"closed\s*won|\bwon\b", Stage.WON),
    (r"closed\s*lost|\blost\b", Stage.LOST),
    (r"negotiat|contract", Stage.NEGOTIATION),
    (r"proposal|presentation|quote|decision", Stage.PROPOSAL),
    (r"meeting held|demo held|discovery (call )?held", Stage.MEETING_HELD),
    (r"appointment|meeting|scheduled|demo", Stage.MEETING_SCHEDULED),
    (r"contacted|qualif|connect|attempt", Stage.CONTACTED),
    (r"new|lead|open|inbound", Stage.NEW),
)
# HubSpot's default pipeline stage ids.
_DEFAULT_IDS = {
    "appointmentscheduled": Stage.MEETING_SCHEDULED,
    "qualifiedtobuy": Stage.CONTACTED,
    "presentationscheduled": Stage.PROPOSAL,
    "decisionmakerboughtin": Stage.PROPOSAL,
    "contractsent": Stage.NEGOTIATION,
    "closedwon": Stage.WON,
    "closedlost": Stage.LOST,
}


def suggest_stage(
    stage_id: str, label: str, probability: float | None, is_closed: bool | None
) -> Stage | None:
    """A sensible default from HubSpot's stage id, label and probability."""
    if stage_id in _DEFAULT_IDS:
        return _DEFAULT_IDS[stage_id]
    text = label.lower()
    for pattern, stage in _LABEL_RULES:
        if re.search(pattern, text):
            return stage
    if is_closed and probability is not None:
        return Stage.WON if probability >= 1.0 else Stage.LOST
    if probability is not None:
        if probability >= 0.9:
            return Stage.NEGOTIATION
        if probability >= 0.6:
            return Stage.PROPOSAL
        if probability >= 0.2:
            return Stage.MEETING_SCHEDULED
        return Stage.NEW
    return None


def mapping_id(partner_id: str, pipeline_id: str, stage_id: str) -> str:
    return f"{partner_id}:{pipeline_id}:{stage_id}"


def store_pipeline_stages(db: Database, partner_id: str, stages: list[dict[str, Any]]) -> int:
    """Record the partner's current HubSpot stages; returns how many were new.

    ``stages``: ``[{pipeline_id, pipeline_label, stage_id, stage_label, display_order,
    probability, is_closed}]`` as pulled from HubSpot. Existing mappings are kept;
    labels are refreshed.
    """
    existing = {d["_id"]: d for d in db[c.STAGE_MAPPINGS].find({"partner_id": partner_id})}
    first_time = not existing
    now = utcnow()
    ops: list[InsertOne | UpdateOne] = []
    new = 0
    for s in stages:
        doc_id = mapping_id(partner_id, str(s["pipeline_id"]), str(s["stage_id"]))
        suggestion = suggest_stage(
            str(s["stage_id"]), str(s.get("stage_label") or ""), s.get("probability"),
            s.get("is_closed"),
        )
        described = {
            "pipeline_label": s.get("pipeline_label"),
            "stage_label": s.get("stage_label"),
            "display_order": s.get("display_order", 0),
            "probability": s.get("probability"),
            "suggested_stage": suggestion.value if suggestion else None,
        }
        current = existing.get(doc_id)
        if current is None:
            new += 1
            ops.append(InsertOne({
                "_id": doc_id,
                "partner_id": partner_id,
                "pipeline_id": str(s["pipeline_id"]),
                "stage_id": str(s["stage_id"]),
                **described,
                "canonical_stage": suggestion.value if (first_time and suggestion) else None,
                "created_at": now,
            }))
        elif any(current.get(k) != v for k, v in described.items()):
            ops.append(UpdateOne({"_id": doc_id}, {"$set": described}))  # no dates in $set
    for start in range(0, len(ops), 100):
        db[c.STAGE_MAPPINGS].bulk_write(ops[start : start + 100], ordered=False)
    return new


def _public(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "pipeline_id": doc["pipeline_id"],
        "pipeline_label": doc.get("pipeline_label"),
        "stage_id": doc["stage_id"],
        "stage_label": doc.get("stage_label"),
        "canonical_stage": doc.get("canonical_stage"),
        "suggested_stage": doc.get("suggested_stage"),
    }


def _ordered(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(docs, key=lambda d: (d["pipeline_id"], d.get("display_order") or 0,
                                       d["stage_id"]))


def get_stage_mapping(db: Database, actor: Principal, partner_id: str) -> list[dict[str, Any]]:
    actor.require_partner_visible(partner_id, "partner")
    if db[c.PARTNERS].find_one({"_id": partner_id}, {"_id": 1}) is None:
        raise NotFound("partner not found")
    docs = list(db[c.STAGE_MAPPINGS].find({"partner_id": partner_id}))
    return [_public(d) for d in _ordered(docs)]


def put_stage_mapping(
    db: Database, actor: Principal, partner_id: str, items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Set canonical stages (``null`` unmaps). Every item must name a known stage.
    The partner's leads are rebuilt within seconds: the raw deals are marked dirty and
    a rebuild is requested, which ``lead_rebuild_sensor`` runs."""
    actor.require_write_on_partner(partner_id, "partner")
    known = {d["_id"]: d for d in db[c.STAGE_MAPPINGS].find({"partner_id": partner_id})}
    ops = []
    for item in items:
        doc_id = mapping_id(partner_id, str(item["pipeline_id"]), str(item["stage_id"]))
        if doc_id not in known:
            raise BadRequest(
                f"unknown HubSpot stage {item['pipeline_id']}/{item['stage_id']}"
            )
        value = item.get("canonical_stage")
        ops.append(UpdateOne({"_id": doc_id}, {"$set": {"canonical_stage": value}}))
    for start in range(0, len(ops), 100):
        db[c.STAGE_MAPPINGS].bulk_write(ops[start : start + 100], ordered=False)
    if ops:
        # Every deal's canonical stage may have changed: have the lead builder redo them.
        db[c.HUBSPOT_DEALS].update_many({"partner_id": partner_id}, {"$set": {"dirty": True}})
        rebuild_requests.request_rebuild(db, partner_id, "stage-mapping")
    return get_stage_mapping(db, actor, partner_id)


def stage_lookup(db: Database, partner_id: str,
                 mappings: list[dict[str, Any]] | None = None,
                 ) -> dict[tuple[str, str], str | None]:
    """(pipeline_id, stage_id) → canonical stage or None, for the lead builder
    (from ``mappings``, the partner's mapping documents, when the caller read them)."""
    docs = mappings if mappings is not None else db[c.STAGE_MAPPINGS].find(
        {"partner_id": partner_id})
    return {(d["pipeline_id"], d["stage_id"]): d.get("canonical_stage") for d in docs}


def unmapped_stages(db: Database, partner_id: str | None = None) -> list[dict[str, Any]]:
    # A stage HubSpot removed (set aside by the reconciliation) is not the partner's to map.
    query: dict[str, Any] = {"canonical_stage": None, "removed_in_hubspot_at": None}
    if partner_id is not None:
        query["partner_id"] = partner_id
    return [{**_public(d), "partner_id": d["partner_id"]}
            for d in db[c.STAGE_MAPPINGS].find(query)]
