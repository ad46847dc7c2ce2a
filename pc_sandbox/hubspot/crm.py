"""CRM v3 object endpoints: list, get, create, update, archive and the batch variants.

Limits follow HubSpot: list ``limit`` ≤ 100 (≤ 50 with ``propertiesWithHistory``), batch
inputs ≤ 100, batch read with history ≤ 50. Lists page by id through ``ObjectStore.page``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from . import clock, config, errors, merges, mutations, render, webhooks
from .routing import (
    FastJSON,
    HubSpotRoute,
    bool_param,
    gate,
    json_body,
    limit_param,
    multi_param,
    next_page,
    object_type_or_404,
)
from .state import Portal, Record

router = APIRouter(route_class=HubSpotRoute)
BATCH_MAX = 100
HISTORY_BATCH_MAX = 50


def _int_id(raw: Any) -> int | None:
    try:
        return int(str(raw))
    except (TypeError, ValueError):
        return None


def _inputs(body: dict[str, Any], maximum: int) -> list[dict[str, Any]]:
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
        raise errors.validation_error("Invalid input JSON: 'inputs' must be a list of objects")
    if len(inputs) > maximum:
        raise errors.validation_error(
            f"Too many inputs: {len(inputs)}; the limit is {maximum} per batch request",
            [{"message": f"size must be between 0 and {maximum}", "in": "inputs"}])
    return inputs


def _name_list(value: Any, field: str) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise errors.validation_error(f"'{field}' must be a list of property names")
    return value


@router.get("/crm/v3/objects/{object_type}")
async def list_objects(object_type: str, request: Request,
                       portal: Portal = Depends(gate)) -> FastJSON:
    """One page of objects in id order; ``paging.next.after`` is the next id to read."""
    otype = object_type_or_404(object_type)
    with_history = multi_param(request, "propertiesWithHistory")
    limit = limit_param(request, 10, 100)
    if with_history:
        limit = min(limit, HISTORY_BATCH_MAX)
    after_raw = request.query_params.get("after")
    after = 0
    if after_raw:
        parsed = _int_id(after_raw)
        if parsed is None:
            raise errors.validation_error(f"Invalid 'after' paging cursor: {after_raw}")
        after = parsed
    archived = bool_param(request, "archived")
    recs, nxt = portal.store(otype).page(after, limit, archived)
    requested = multi_param(request, "properties")
    assoc = [t for t in (multi_param(request, "associations") or [])]
    results = [render.object_json(portal, otype, r, requested, with_history, assoc)
               for r in recs]
    out: dict[str, Any] = {"results": results}
    if nxt is not None:
        out["paging"] = next_page(request, nxt)
    return FastJSON(out)


@router.get("/crm/v3/objects/{object_type}/{object_id}")
async def get_object(object_type: str, object_id: str, request: Request,
                     portal: Portal = Depends(gate)) -> FastJSON:
    """One object by id (``archived=true`` reads an archived one)."""
    otype = object_type_or_404(object_type)
    rid = _int_id(object_id)
    rec = portal.store(otype).get(portal.resolve(otype, rid), bool_param(request, "archived")) \
        if rid else None
    if rec is None:
        raise errors.not_found()
    return FastJSON(render.object_json(portal, otype, rec, multi_param(request, "properties"),
                                       multi_param(request, "propertiesWithHistory"),
                                       multi_param(request, "associations")))


@router.post("/crm/v3/objects/{object_type}", status_code=201)
async def create_object(object_type: str, request: Request,
                        portal: Portal = Depends(gate)) -> FastJSON:
    """Create one object, optionally with associations (notes → deals, deals → contacts)."""
    otype = object_type_or_404(object_type)
    body = await json_body(request)
    props = mutations.validate(portal, otype, body.get("properties") or {})
    _check_associations(portal, otype, body.get("associations"))
    rec = mutations.create(portal, otype, props, clock.now_ms())
    mutations.associate(portal, otype, rec.id, body.get("associations"))
    return FastJSON(render.object_json(portal, otype, rec, list(props)), 201)


def _check_associations(portal: Portal, otype: str, specs: Any) -> None:
    """Validate associations before creating anything, so a bad input creates nothing."""
    if not specs:
        return
    mutations.associate(portal, otype, 0, specs, dry_run=True)


@router.post("/crm/v3/objects/{object_type}/merge")
async def merge_objects(object_type: str, request: Request,
                        portal: Portal = Depends(gate)) -> FastJSON:
    """Merge ``objectIdToMerge`` into ``primaryObjectId`` (``merges.merge``); subscribers
    get the merge webhook when a webhook URL is configured."""
    otype = object_type_or_404(object_type)
    if otype not in ("contacts", "deals"):
        raise errors.validation_error(f"Merging {otype} is not supported")
    body = await json_body(request)
    primary, other = _int_id(body.get("primaryObjectId")), _int_id(body.get("objectIdToMerge"))
    if primary is None or other is None:
        raise errors.validation_error(
            "primaryObjectId and objectIdToMerge must be object ids")
    rec, facts = merges.merge(portal, otype, primary, other, clock.now_ms())
    url = config.webhook_url()
    if url:
        await webhooks.deliver(url, [webhooks.event(portal, f"{otype[:-1]}.merge", facts)])
    return FastJSON(render.object_json(portal, otype, rec, None))


@router.patch("/crm/v3/objects/{object_type}/{object_id}")
async def update_object(object_type: str, object_id: str, request: Request,
                        portal: Portal = Depends(gate)) -> FastJSON:
    """Partial update of one object."""
    otype = object_type_or_404(object_type)
    rid = _int_id(object_id)
    rec = portal.store(otype).get(rid) if rid else None
    if rec is None:
        raise errors.not_found()
    body = await json_body(request)
    props = mutations.validate(portal, otype, body.get("properties") or {})
    mutations.update(portal, otype, rec, props, clock.now_ms())
    return FastJSON(render.object_json(portal, otype, rec, list(props)))


@router.delete("/crm/v3/objects/{object_type}/{object_id}", status_code=204)
async def archive_object(object_type: str, object_id: str,
                         portal: Portal = Depends(gate)) -> Response:
    """Archive ("delete"); HubSpot answers 204 even for an id that does not exist."""
    otype = object_type_or_404(object_type)
    rid = _int_id(object_id)
    rec = portal.store(otype).get(rid) if rid else None
    if rec is not None:
        mutations.archive(portal, otype, rec, clock.now_ms())
    return Response(status_code=204)


@router.post("/crm/v3/objects/{object_type}/batch/read")
async def batch_read(object_type: str, request: Request,
                     portal: Portal = Depends(gate)) -> FastJSON:
    """Read up to 100 ids (50 with history); missing ids come back as a 207 error entry."""
    otype = object_type_or_404(object_type)
    started = clock.now_ms()
    body = await json_body(request)
    with_history = _name_list(body.get("propertiesWithHistory"), "propertiesWithHistory")
    if with_history and isinstance(body.get("inputs"), list) and \
            len(body["inputs"]) > HISTORY_BATCH_MAX:
        raise errors.validation_error(  # HubSpot's own wording for this limit
            "The maximum number of inputs supported in a batch request for property "
            f"histories is {HISTORY_BATCH_MAX}. Please reduce the number of items and "
            "try again")
    inputs = _inputs(body, HISTORY_BATCH_MAX if with_history else BATCH_MAX)
    requested = _name_list(body.get("properties"), "properties")
    if requested == []:
        requested = None
    archived = bool_param(request, "archived") or bool(body.get("archived"))
    store = portal.store(otype)
    results, missing, seen = [], [], set()
    for item in inputs:
        rid = _int_id(item.get("id"))
        rec = store.get(portal.resolve(otype, rid), archived) if rid is not None else None
        if rec is None:
            missing.append(str(item.get("id")))
        elif rec.id not in seen:
            seen.add(rec.id)
            results.append(render.object_json(portal, otype, rec, requested, with_history))
    errs = []
    if missing:
        errs.append(render.standard_error(
            "OBJECT_NOT_FOUND",
            f"Could not get some {otype[:-1].upper()} objects, they may be deleted or not "
            "exist. Check that ids are valid.",
            {"ids": missing}))
    return FastJSON(render.batch_json(results, started, errs), 207 if errs else 200)


@router.post("/crm/v3/objects/{object_type}/batch/create")
async def batch_create(object_type: str, request: Request,
                       portal: Portal = Depends(gate)) -> FastJSON:
    """Create up to 100 objects; any invalid input rejects the whole batch (400)."""
    otype = object_type_or_404(object_type)
    started = clock.now_ms()
    inputs = _inputs(await json_body(request), BATCH_MAX)
    validated = []
    for item in inputs:
        validated.append(mutations.validate(portal, otype, item.get("properties") or {}))
        _check_associations(portal, otype, item.get("associations"))
    ts = clock.now_ms()
    results = []
    for item, props in zip(inputs, validated, strict=True):
        rec = mutations.create(portal, otype, props, ts)
        mutations.associate(portal, otype, rec.id, item.get("associations"))
        results.append(render.object_json(portal, otype, rec, list(props)))
    return FastJSON(render.batch_json(results, started), 201)


@router.post("/crm/v3/objects/{object_type}/batch/update")
async def batch_update(object_type: str, request: Request,
                       portal: Portal = Depends(gate)) -> FastJSON:
    """Update up to 100 objects (one timestamp for the batch, as at HubSpot)."""
    otype = object_type_or_404(object_type)
    started = clock.now_ms()
    inputs = _inputs(await json_body(request), BATCH_MAX)
    store = portal.store(otype)
    plan: list[tuple[Record, dict[str, Any]]] = []
    missing: list[str] = []
    for item in inputs:
        props = mutations.validate(portal, otype, item.get("properties") or {})
        rid = _int_id(item.get("id"))
        rec = store.get(rid) if rid is not None else None
        if rec is None:
            missing.append(str(item.get("id")))
        else:
            plan.append((rec, props))
    ts = clock.now_ms()
    results = []
    for rec, props in plan:
        mutations.update(portal, otype, rec, props, ts)
        results.append(render.object_json(portal, otype, rec, list(props)))
    errs = []
    if missing:
        errs.append(render.standard_error(
            "OBJECT_NOT_FOUND", f"Could not update some {otype[:-1].upper()} objects, they "
            "may be deleted or not exist.", {"ids": missing}))
    return FastJSON(render.batch_json(results, started, errs), 207 if errs else 200)


@router.post("/crm/v3/objects/{object_type}/batch/archive", status_code=204)
async def batch_archive(object_type: str, request: Request,
                        portal: Portal = Depends(gate)) -> Response:
    """Archive up to 100 objects."""
    otype = object_type_or_404(object_type)
    inputs = _inputs(await json_body(request), BATCH_MAX)
    ts = clock.now_ms()
    store = portal.store(otype)
    for item in inputs:
        rid = _int_id(item.get("id"))
        rec = store.get(rid) if rid is not None else None
        if rec is not None:
            mutations.archive(portal, otype, rec, ts)
    return Response(status_code=204)
