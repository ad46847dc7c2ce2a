"""Schema-ish endpoints: deal pipelines and properties (list, read, create).

The platform later creates ``pc_buyer_stage`` on deals, so custom properties are stored per
portal and then accepted on writes and returned on reads.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from . import clock, errors, persistence, render, schema
from .routing import FastJSON, HubSpotRoute, gate, json_body, object_type_or_404
from .state import Portal

router = APIRouter(route_class=HubSpotRoute)

PROPERTY_TYPES = {"string", "number", "date", "datetime", "enumeration", "bool"}
FIELD_TYPES = {"textarea", "text", "date", "file", "number", "select", "radio", "checkbox",
               "booleancheckbox", "calculation_equation", "html", "phonenumber"}


def _pipelines(portal: Portal, object_type: str) -> list[dict[str, Any]]:
    if object_type_or_404(object_type) != "deals":
        return []
    return portal.pipelines


@router.get("/crm/v3/pipelines/{object_type}")
async def list_pipelines(object_type: str, portal: Portal = Depends(gate)) -> dict[str, Any]:
    """All pipelines of the type (deals; other types have none here)."""
    return {"results": _pipelines(portal, object_type)}


@router.get("/crm/v3/pipelines/{object_type}/{pipeline_id}")
async def get_pipeline(object_type: str, pipeline_id: str,
                       portal: Portal = Depends(gate)) -> dict[str, Any]:
    """One pipeline by id."""
    for p in _pipelines(portal, object_type):
        if p["id"] == pipeline_id:
            return p
    raise errors.not_found(f"Unable to find pipeline {pipeline_id}")


@router.get("/crm/v3/pipelines/{object_type}/{pipeline_id}/stages")
async def list_stages(object_type: str, pipeline_id: str,
                      portal: Portal = Depends(gate)) -> dict[str, Any]:
    """The stages of one pipeline."""
    pipeline = await get_pipeline(object_type, pipeline_id, portal)
    return {"results": pipeline["stages"]}


def _all_properties(portal: Portal, otype: str) -> dict[str, dict[str, Any]]:
    return {**schema.BUILTIN_PROPERTIES[otype], **portal.custom_properties.get(otype, {})}


@router.get("/crm/v3/properties/{object_type}")
async def list_properties(object_type: str, portal: Portal = Depends(gate)) -> dict[str, Any]:
    """Built-in and custom property definitions."""
    otype = object_type_or_404(object_type)
    return {"results": list(_all_properties(portal, otype).values())}


@router.get("/crm/v3/properties/{object_type}/{property_name}")
async def get_property(object_type: str, property_name: str,
                       portal: Portal = Depends(gate)) -> dict[str, Any]:
    """One property definition, 404 if it does not exist."""
    otype = object_type_or_404(object_type)
    prop = _all_properties(portal, otype).get(property_name)
    if prop is None:
        raise errors.not_found(f"Unable to find property {property_name} for {otype}")
    return prop


@router.post("/crm/v3/properties/{object_type}", status_code=201)
async def create_property(object_type: str, request: Request,
                          portal: Portal = Depends(gate)) -> FastJSON:
    """Create a custom property (409 if the name exists)."""
    otype = object_type_or_404(object_type)
    body = await json_body(request)
    missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)]
    if missing:
        raise errors.validation_error(f"Missing required fields: {', '.join(missing)}")
    name = str(body["name"])
    if not name.replace("_", "").isalnum() or name != name.lower():
        raise errors.validation_error(f"Invalid property name {name!r}: use lowercase, digits, _")
    if body["type"] not in PROPERTY_TYPES or body["fieldType"] not in FIELD_TYPES:
        raise errors.validation_error("Invalid type or fieldType")
    if name in _all_properties(portal, otype):
        raise errors.api_error(409, f"Property named '{name}' already exists.",
                               "OBJECT_ALREADY_EXISTS")
    now = clock.iso(clock.now_ms())
    prop = {
        "name": name,
        "label": body["label"],
        "type": body["type"],
        "fieldType": body["fieldType"],
        "description": body.get("description") or "",
        "groupName": body["groupName"],
        "options": [
            {"label": o.get("label", o.get("value")), "value": o.get("value"),
             "displayOrder": o.get("displayOrder", i), "hidden": bool(o.get("hidden", False))}
            for i, o in enumerate(body.get("options") or [])
        ],
        "displayOrder": body.get("displayOrder", -1),
        "calculated": False,
        "externalOptions": False,
        "hasUniqueValue": bool(body.get("hasUniqueValue", False)),
        "hidden": bool(body.get("hidden", False)),
        "hubspotDefined": False,
        "modificationMetadata": {"archivable": True, "readOnlyDefinition": False,
                                 "readOnlyValue": False},
        "formField": bool(body.get("formField", False)),
        "createdAt": now,
        "updatedAt": now,
        "archived": False,
    }
    portal.custom_properties.setdefault(otype, {})[name] = prop
    persistence.mark_dirty()
    return FastJSON(prop, 201)


@router.delete("/crm/v3/pipelines/{object_type}/{pipeline_id}/stages/{stage_id}",
               status_code=204)
async def delete_stage(object_type: str, pipeline_id: str, stage_id: str, request: Request,
                       portal: Portal = Depends(gate)) -> Response:
    """Delete a stage. As in HubSpot's v3 API, usages are validated only when asked
    (``validateDealStageUsagesBeforeDelete=true``: 400 while deals are in the stage);
    otherwise the deals keep the deleted stage's id (the 2026-09 API version validates
    by default)."""
    pipeline = await get_pipeline(object_type, pipeline_id, portal)
    if not any(s["id"] == stage_id for s in pipeline["stages"]):
        raise errors.not_found(f"Unable to find stage {stage_id}")
    validate = (request.query_params.get("validateDealStageUsagesBeforeDelete") or "").lower()
    if validate == "true":
        store = portal.store("deals")
        in_use = False
        for i in store.active_ids:
            props = render.current_props(portal, "deals", store.records[i])
            if props.get("dealstage") == stage_id and props.get("pipeline") == pipeline_id:
                in_use = True
                break
        if in_use:
            raise errors.validation_error(f"Stage {stage_id} has deals; move them first")
    pipeline["stages"] = [s for s in pipeline["stages"] if s["id"] != stage_id]
    persistence.mark_dirty()
    return Response(status_code=204)
