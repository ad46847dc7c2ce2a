"""Associations v4: batch read (≤ 1,000 ids), per-object read and default-association create."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from . import clock, errors, persistence, render
from .routing import (
    FastJSON,
    HubSpotRoute,
    gate,
    json_body,
    limit_param,
    next_page,
    object_type_or_404,
)
from .state import Portal

router = APIRouter(route_class=HubSpotRoute)
BATCH_MAX = 1000
PAGE_MAX = 500  # one object's associations per page, as HubSpot's v4 read
#: associations per object per batch-read answer; more come with ``paging.next.after``,
#: which the next request passes as the input's ``after`` (HubSpot documents the paging,
#: not the page size: a small one makes clients that ignore paging fail visibly)
BATCH_PAGE = 100


def _to_entries(from_type: str, to_type: str, ids: list[int]) -> list[dict[str, Any]]:
    type_id = render.ASSOC_TYPE_IDS.get((from_type, to_type), 0)
    return [{"toObjectId": i,
             "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": type_id,
                                   "label": None}]}
            for i in ids]


@router.post("/crm/v4/associations/{from_type}/{to_type}/batch/read")
async def batch_read(from_type: str, to_type: str, request: Request,
                     portal: Portal = Depends(gate)) -> FastJSON:
    """Associations of up to 1,000 objects; ids without any come back as 207 errors."""
    ftype, ttype = object_type_or_404(from_type), object_type_or_404(to_type)
    started = clock.now_ms()
    body = await json_body(request)
    inputs = body.get("inputs")
    if not isinstance(inputs, list):
        raise errors.validation_error("Invalid input JSON: 'inputs' must be a list")
    if len(inputs) > BATCH_MAX:
        raise errors.validation_error(
            f"Too many inputs: {len(inputs)}; the limit is {BATCH_MAX} per batch request")
    results, errs = [], []
    for item in inputs:
        raw = item.get("id") if isinstance(item, dict) else None
        after = str(item.get("after") or "0") if isinstance(item, dict) else "0"
        if not after.isdigit():
            raise errors.validation_error(f"Invalid 'after' paging cursor: {after}")
        try:
            rid = int(str(raw))
        except ValueError:
            rid = -1
        ids = portal.associations.get(ftype, rid, ttype)
        start = int(after)
        if ids:
            row: dict[str, Any] = {"from": {"id": str(rid)}, "to": _to_entries(
                ftype, ttype, ids[start:start + BATCH_PAGE])}
            if start + BATCH_PAGE < len(ids):
                row["paging"] = {"next": {"after": str(start + BATCH_PAGE)}}
            results.append(row)
        else:
            errs.append(render.standard_error(
                "OBJECT_NOT_FOUND",
                f"No {ttype} are associated with {ftype[:-1]} {raw}.",
                {"fromObjectId": [str(raw)]},
                sub_category="crm.associations.NO_ASSOCIATIONS_FOUND"))
    return FastJSON(render.batch_json(results, started, errs), 207 if errs else 200)


@router.get("/crm/v4/objects/{from_type}/{object_id}/associations/{to_type}")
async def object_associations(from_type: str, object_id: str, to_type: str, request: Request,
                              portal: Portal = Depends(gate)) -> dict[str, Any]:
    """One object's associations of a type, ``limit`` (≤ 500, the default) per page;
    ``after`` is the position to continue from."""
    ftype, ttype = object_type_or_404(from_type), object_type_or_404(to_type)
    try:
        rid = int(object_id)
    except ValueError:
        raise errors.not_found()
    limit = limit_param(request, PAGE_MAX, PAGE_MAX)
    raw_after = request.query_params.get("after") or "0"
    if not raw_after.isdigit():
        raise errors.validation_error(f"Invalid 'after' paging cursor: {raw_after}")
    start = int(raw_after)
    ids = portal.associations.get(ftype, rid, ttype)
    out: dict[str, Any] = {"results": _to_entries(ftype, ttype, ids[start:start + limit])}
    if start + limit < len(ids):
        out["paging"] = next_page(request, start + limit)
    return out


@router.put("/crm/v4/objects/{from_type}/{object_id}/associations/default/{to_type}/{to_id}")
async def associate_default(from_type: str, object_id: str, to_type: str, to_id: str,
                            portal: Portal = Depends(gate)) -> dict[str, Any]:
    """Create the default (unlabeled) association between two existing objects."""
    ftype, ttype = object_type_or_404(from_type), object_type_or_404(to_type)
    try:
        a, b = int(object_id), int(to_id)
    except ValueError:
        raise errors.not_found()
    if portal.store(ftype).get(a) is None or portal.store(ttype).get(b) is None:
        raise errors.not_found()
    portal.associations.add(ftype, a, ttype, b)
    persistence.mark_dirty()
    started = clock.now_ms()
    return render.batch_json([{
        "from": {"id": str(a)}, "to": {"id": str(b)},
        "associationSpec": {"associationCategory": "HUBSPOT_DEFINED",
                            "associationTypeId": render.ASSOC_TYPE_IDS.get((ftype, ttype), 0)},
    }], started)
