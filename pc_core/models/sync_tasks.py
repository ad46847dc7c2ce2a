"""Sync tasks: one record per HubSpot sync run and direction, as the sync history
shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Advice(BaseModel):
    """A failed sync explained (pc_core/hubspot/connection/failure_advice.py)."""

    model_config = ConfigDict(frozen=True)
    action: Literal["reconnect", "map_stages", "wait", "retry"]
    explanation: str
    what_to_do: str


class SyncTaskOut(BaseModel):
    id: str
    partner_id: str
    trigger: str
    direction: str
    status: str
    dagster_run_id: str | None
    counts: dict[str, int]
    details: dict[str, dict[str, int] | int] = Field(
        description="Counts per object type (e.g. deals: created, updated); `conflicts`: "
        "how many field conflicts the run decided in total.")
    errors: list[str]
    conflicts: list[dict]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    failure: Advice | None = Field(
        default=None, description="A failed sync's error in words and the action to take "
        "(filled by the API route from ``errors``).")

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> SyncTaskOut:
        return cls.model_validate(_fields(doc))


class SyncTaskPage(BaseModel):
    items: list[SyncTaskOut]
    next_cursor: str | None

    @classmethod
    def from_docs(cls, docs: list[dict[str, Any]], next_cursor: str | None) -> SyncTaskPage:
        return cls.model_validate({"items": [_fields(d) for d in docs],
                                   "next_cursor": next_cursor})


def _fields(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": doc["_id"],
        "partner_id": doc["partner_id"],
        "trigger": doc["trigger"],
        "direction": doc["direction"],
        "status": doc["status"],
        "dagster_run_id": doc.get("dagster_run_id"),
        "counts": doc.get("counts", {}),
        "details": doc.get("details", {}),
        "errors": doc.get("errors", []),
        "conflicts": doc.get("conflicts", []),
        "created_at": doc["created_at"],
        "started_at": doc.get("started_at"),
        "finished_at": doc.get("finished_at"),
    }
