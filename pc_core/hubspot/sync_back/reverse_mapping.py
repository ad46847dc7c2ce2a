"""Canonical stage → a partner's HubSpot stage: the stage mapping read backwards.

Several HubSpot stages of one pipeline may map to the same canonical stage; the one
whose suggested stage is that canonical stage wins (it is what the label says), then
the earliest in the pipeline. A pipeline with no stage for it gives ``None``: the
caller skips and reports rather than guess a stage in another pipeline (moving a
deal between pipelines is the partner's decision).
"""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from pc_core import collections as c


class ReverseStages:
    """One partner's mapping, loaded once per run."""

    def __init__(self, db: Database, partner_id: str) -> None:
        self.docs: list[dict[str, Any]] = list(
            db[c.STAGE_MAPPINGS].find({"partner_id": partner_id}))
        self._forward = {(d["pipeline_id"], d["stage_id"]): d.get("canonical_stage")
                         for d in self.docs}

    def canonical(self, pipeline_id: str | None, stage_id: str | None) -> str | None:
        return self._forward.get((pipeline_id or "", stage_id or ""))

    def stage_for(self, pipeline_id: str | None, canonical: str) -> str | None:
        """The HubSpot stage id of ``pipeline_id`` for ``canonical``, or ``None``."""
        candidates = [d for d in self.docs if d["pipeline_id"] == pipeline_id
                      and d.get("canonical_stage") == canonical]
        if not candidates:
            return None
        best = min(candidates, key=lambda d: (d.get("suggested_stage") != canonical,
                                              d.get("display_order") or 0, d["stage_id"]))
        return str(best["stage_id"])

    def default_pipeline(self) -> str | None:
        """HubSpot's ``default`` pipeline if the partner has it, else its first one."""
        pipelines = sorted({d["pipeline_id"] for d in self.docs})
        if "default" in pipelines:
            return "default"
        return pipelines[0] if pipelines else None
