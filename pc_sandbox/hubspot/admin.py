"""Admin routes under ``/hubspot/_sandbox/``: portals, switches, stats, clock, token expiry.

These are not HubSpot's API; they let tests, the demo and benchmarks set the stage (generate
portals, turn faults on, count requests, move time) without reaching into the process.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from . import (
    clock,
    config,
    errors,
    generator,
    limits,
    merges,
    mutations,
    oauth,
    persistence,
    quota,
    webhooks,
)
from . import scopes as scope_rules
from .routing import HubSpotRoute, json_body
from .state import Portal, SandboxState, canonical_type, get_state, replace_state

router = APIRouter(prefix="/_sandbox", route_class=HubSpotRoute)
MAX_OBJECTS = 1_000_000


def _portal(portal_id: str) -> Portal:
    try:
        portal = get_state().portals.get(int(portal_id))
    except ValueError:
        portal = None
    if portal is None:
        raise errors.not_found(f"portal {portal_id} not found")
    return portal


def _summary(portal: Portal) -> dict[str, Any]:
    connected = portal.id in get_state().oauth.connected_portals()
    return {**portal.summary(), "connected": connected}


@router.get("/portals")
async def list_portals() -> dict[str, Any]:
    """Every portal with object counts."""
    return {"results": [_summary(p) for p in get_state().portals.values()]}


@router.post("/portals", status_code=201)
async def create_portal(request: Request) -> JSONResponse:
    """Generate a portal: {name?, contacts, deals, pipelines 1..3, seed?}."""
    body = await json_body(request)
    try:
        contacts = int(body.get("contacts", 100))
        deals = int(body.get("deals", 100))
        pipelines = int(body.get("pipelines", 2))
        seed = None if body.get("seed") is None else int(body["seed"])
    except (TypeError, ValueError):
        raise errors.validation_error("contacts, deals, pipelines and seed must be integers")
    if not (0 <= contacts <= MAX_OBJECTS and 0 <= deals <= MAX_OBJECTS):
        raise errors.validation_error(f"contacts and deals must be within 0..{MAX_OBJECTS}")
    if not 1 <= pipelines <= 3:
        raise errors.validation_error("pipelines must be 1..3")
    started = time.perf_counter()
    state = get_state()
    # Off the event loop, so /health and other portals keep answering during a big build.
    portal = await asyncio.to_thread(
        generator.generate_portal, state, name=body.get("name"), contacts=contacts,
        deals=deals, pipelines=pipelines, seed=seed)
    persistence.mark_dirty()
    out = {**_summary(portal), "generated_in_s": round(time.perf_counter() - started, 3)}
    return JSONResponse(out, 201)


@router.get("/portals/{portal_id}")
async def get_portal(portal_id: str) -> dict[str, Any]:
    """One portal with its pipelines and custom properties."""
    portal = _portal(portal_id)
    return {**_summary(portal), "pipelines": portal.pipelines,
            "custom_properties": {t: sorted(v) for t, v in portal.custom_properties.items()}}


@router.delete("/portals/{portal_id}", status_code=204)
async def delete_portal(portal_id: str) -> Response:
    """Remove a portal and its tokens."""
    portal = _portal(portal_id)
    state = get_state()
    del state.portals[portal.id]
    for table in (state.oauth.access, state.oauth.refresh, state.oauth.codes):
        for key in [k for k, v in table.items() if v.portal_id == portal.id]:
            del table[key]
    persistence.mark_dirty()
    return Response(status_code=204)


@router.get("/portals/{portal_id}/quota")
async def get_quota(portal_id: str) -> dict[str, Any]:
    """The portal's daily budget and 429 storm (``quota``)."""
    return quota.QUOTAS.view(_portal(portal_id).id)


@router.post("/portals/{portal_id}/quota")
async def set_quota(portal_id: str, request: Request) -> dict[str, Any]:
    """``{daily_limit?: int|null, used_today?: int, storm_429?: int}``: a daily budget
    (``used_today: 0`` is a new day) and the next N requests answering 429."""
    portal = _portal(portal_id)
    return quota.QUOTAS.configure(portal.id, await json_body(request))


@router.post("/portals/{portal_id}/uninstall")
async def uninstall_app(portal_id: str) -> dict[str, Any]:
    """What uninstalling the app from the portal does at HubSpot: every refresh token
    of the portal is revoked and its access tokens stop working; the next refresh
    answers 400 ``BAD_REFRESH_TOKEN``. The portal's data stays."""
    portal = _portal(portal_id)
    state = get_state()
    now = clock.now_ms()
    revoked = [r.token for r in state.oauth.refresh.values()
               if r.portal_id == portal.id and not r.revoked]
    for token in revoked:
        state.oauth.refresh[token].revoked = True
    for access in state.oauth.access.values():
        if access.refresh_token in revoked:
            access.expires_at = min(access.expires_at, now)
    persistence.mark_dirty()
    return {"revoked": len(revoked)}


@router.post("/portals/{portal_id}/tokens", status_code=201)
async def mint_tokens(portal_id: str, request: Request) -> JSONResponse:
    """Issue tokens for a portal without the browser dance: {scopes?} → token answer."""
    portal = _portal(portal_id)
    body = await json_body(request)
    scopes = body.get("scopes")
    if scopes is not None and (not isinstance(scopes, list)
                               or any(s not in config.KNOWN_SCOPES for s in scopes)):
        raise errors.validation_error(f"scopes must be a subset of {list(config.KNOWN_SCOPES)}")
    out = oauth.mint(get_state(), portal.id, scopes)
    return JSONResponse({**out, "portal_id": portal.id}, 201)


@router.post("/portals/{portal_id}/touch")
async def touch(portal_id: str, request: Request) -> dict[str, Any]:
    """Modify records: {object_type?, ids? | count?, properties?, seed?} → ids and new time.

    Without ``properties`` only the modified time moves (like a pipeline edit).
    """
    portal = _portal(portal_id)
    body = await json_body(request)
    otype = canonical_type(str(body.get("object_type", "deals")))
    if otype is None:
        raise errors.validation_error("object_type must be contacts, deals or notes")
    store = portal.store(otype)
    props = mutations.validate(portal, otype, body.get("properties") or {})
    if body.get("ids") is not None:
        ids = [int(i) for i in body["ids"]]
        missing = [i for i in ids if store.get(i) is None]
        if missing:
            raise errors.not_found(f"{otype} not found: {missing[:20]}")
    else:
        count = min(int(body.get("count", 1)), len(store.active_ids))
        rng = random.Random(body.get("seed"))
        ids = sorted(rng.sample(store.active_ids, count)) if count else []
    ts = clock.now_ms()
    if len(ids) > 1000 and not props:
        # bulk bump: one re-sort instead of thousands of list shifts
        for i in ids:
            store.records[i].updated = max(ts, store.records[i].updated)
        store.mod_index = sorted((store.records[i].updated, i) for i in store.active_ids)
        persistence.mark_dirty()
    else:
        for i in ids:
            rec = store.records[i]
            if props:
                mutations.update(portal, otype, rec, props, ts, source="CRM_UI")
            else:
                mutations.touch(portal, otype, rec, ts)
    return {"object_type": otype, "count": len(ids), "ids": [str(i) for i in ids],
            "updatedAt": clock.iso(ts), "updated_ms": ts}


@router.post("/portals/{portal_id}/simulate")
async def simulate(portal_id: str, request: Request) -> dict[str, Any]:
    """Random CRM activity + signed webhooks: {changes, webhook_url?, app_id?, seed?,
    max_attempts?} → what changed and what was delivered."""
    portal = _portal(portal_id)
    body = await json_body(request)
    changes = int(body.get("changes", 10))
    if not 0 <= changes <= 100_000:
        raise errors.validation_error("changes must be within 0..100000")
    app_id = int(body.get("app_id") or config.app_id())
    log, events = webhooks.simulate(portal, changes, app_id, body.get("seed"))
    url = body.get("webhook_url") or config.webhook_url()
    deliveries: list[dict[str, Any]] = []
    if url:
        deliveries = await webhooks.deliver(str(url), events,
                                            max_attempts=int(body.get("max_attempts", 1)))
    return {
        "portal_id": portal.id,
        "changes": log,
        "events": events,
        "webhook_url": url,
        "sent": bool(url),
        "deliveries": deliveries,
    }


# -- a HubSpot user's actions, with the webhooks HubSpot sends for them -------------------


async def _emitted(body: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    """The events, delivered (signed) to ``webhook_url`` (or the configured URL) if any."""
    url = body.get("webhook_url") or config.webhook_url()
    deliveries = await webhooks.deliver(str(url), events) if url and events else []
    return {"events": events, "webhook_url": url, "deliveries": deliveries}


def _otype(body: dict[str, Any]) -> str:
    otype = canonical_type(str(body.get("object_type", "deals")))
    if otype not in ("contacts", "deals"):
        raise errors.validation_error("object_type must be contacts or deals")
    return otype


def _ids(body: dict[str, Any], name: str) -> list[int]:
    try:
        return [int(i) for i in body.get(name) or []]
    except (TypeError, ValueError):
        raise errors.validation_error(f"{name} must be a list of ids")


@router.post("/portals/{portal_id}/merge")
async def merge(portal_id: str, request: Request) -> dict[str, Any]:
    """A user merges two records in the UI: {object_type, primary_id, merge_id,
    webhook_url?} → {id (the surviving record), events, deliveries}."""
    portal = _portal(portal_id)
    body = await json_body(request)
    otype = _otype(body)
    try:
        primary, other = int(body["primary_id"]), int(body["merge_id"])
    except (KeyError, TypeError, ValueError):
        raise errors.validation_error("primary_id and merge_id must be ids")
    rec, facts = merges.merge(portal, otype, primary, other, clock.now_ms())
    out = await _emitted(body, [webhooks.event(portal, f"{otype[:-1]}.merge", facts)])
    return {"id": str(rec.id), **out}


@router.post("/portals/{portal_id}/restore")
async def restore(portal_id: str, request: Request) -> dict[str, Any]:
    """A user restores deleted records: {object_type, ids, webhook_url?} → events."""
    portal = _portal(portal_id)
    body = await json_body(request)
    otype = _otype(body)
    store = portal.store(otype)
    events = []
    for rid in _ids(body, "ids"):
        rec = store.get(rid, archived=True)
        if rec is None:
            raise errors.not_found(f"no deleted {otype[:-1]} {rid}")
        mutations.restore(portal, otype, rec, clock.now_ms())
        events.append(webhooks.event(portal, f"{otype[:-1]}.restore", {"objectId": rid}))
    return await _emitted(body, events)


@router.post("/portals/{portal_id}/associations")
async def change_associations(portal_id: str, request: Request) -> dict[str, Any]:
    """A user adds (or with ``remove`` removes) contacts of a deal: {deal_id,
    contact_ids, remove?, webhook_url?} → one ``associationChange`` event per side."""
    portal = _portal(portal_id)
    body = await json_body(request)
    deal_ids, contact_ids = _ids({"d": [body.get("deal_id")]}, "d"), _ids(body, "contact_ids")
    deal_id = deal_ids[0]
    if portal.store("deals").get(deal_id) is None or any(
            portal.store("contacts").get(c) is None for c in contact_ids):
        raise errors.not_found("deal or contact not found")
    removed = bool(body.get("remove"))
    events = []
    for cid in contact_ids:
        if removed:
            for a, ai, b, bi in (("deals", deal_id, "contacts", cid),
                                 ("contacts", cid, "deals", deal_id)):
                targets = portal.associations.links.get((a, b), {}).get(ai, [])
                if bi in targets:
                    targets.remove(bi)
        else:
            portal.associations.add("deals", deal_id, "contacts", cid)
        for stype, a, b, kind in (("deal.associationChange", deal_id, cid, "DEAL_TO_CONTACT"),
                                  ("contact.associationChange", cid, deal_id,
                                   "CONTACT_TO_DEAL")):
            events.append(webhooks.event(portal, stype, {
                "fromObjectId": a, "toObjectId": b, "associationType": kind,
                "associationRemoved": removed, "isPrimaryAssociation": False}))
    persistence.mark_dirty()
    return await _emitted(body, events)


@router.post("/portals/{portal_id}/edit")
async def edit(portal_id: str, request: Request) -> dict[str, Any]:
    """A user edits one record: {object_type, id, properties, webhook_url?} → one
    ``propertyChange`` event per property."""
    portal = _portal(portal_id)
    body = await json_body(request)
    otype = _otype(body)
    rec = portal.store(otype).get(int(body.get("id") or 0))
    if rec is None:
        raise errors.not_found(f"{otype[:-1]} not found")
    props = mutations.validate(portal, otype, body.get("properties") or {})
    mutations.update(portal, otype, rec, props, clock.now_ms(), source="CRM_UI")
    events = [webhooks.event(portal, f"{otype[:-1]}.propertyChange", {
        "objectId": rec.id, "propertyName": k, "propertyValue": v or ""})
        for k, v in props.items()]
    return await _emitted(body, events)


@router.get("/config")
async def get_config() -> dict[str, Any]:
    """Current switches."""
    return limits.CONFIG.as_dict()


@router.put("/config")
async def put_config(request: Request) -> dict[str, Any]:
    """Partial update: {rate_limits, fail_500, fail_429, slow_fraction, slow_ms, seed}."""
    body = await json_body(request)
    try:
        limits.CONFIG.update(body)
    except (TypeError, ValueError) as exc:
        raise errors.validation_error(str(exc))
    if "rate_limits" in body:
        limits.LIMITER.reset()
    return limits.CONFIG.as_dict()


@router.get("/stats")
async def get_stats() -> dict[str, Any]:
    """Request counts: total, by_kind, by_status, by_portal, injected faults."""
    return limits.STATS.as_dict()


@router.get("/portals/{portal_id}/scope-log")
async def scope_log(portal_id: str) -> dict[str, Any]:
    """Per route, the scopes that met its requirements for this portal's calls."""
    return {"routes": scope_rules.log_for(_portal(portal_id).id)}


@router.post("/stats/reset")
async def reset_stats() -> dict[str, Any]:
    """Zero the counters (admin requests after this one count again)."""
    limits.STATS.reset()
    scope_rules.reset()
    return limits.STATS.as_dict()


@router.post("/reset")
async def reset(request: Request) -> dict[str, Any]:
    """Config, stats, rate-limit windows and clock back to defaults; {"state": true} also
    drops every portal and token."""
    body = await json_body(request)
    limits.CONFIG.reset()
    limits.STATS.reset()
    limits.LIMITER.reset()
    quota.QUOTAS.reset()
    clock.set_offset_ms(0)
    if body.get("state"):
        replace_state(SandboxState())
        persistence.mark_dirty()
    return {"ok": True}


@router.post("/tokens/{token}/expire")
async def expire_token(token: str) -> dict[str, Any]:
    """Make an access token expired now (the next API call answers 401)."""
    info = get_state().oauth.access.get(token)
    if info is None:
        raise errors.not_found("token not found")
    info.expires_at = clock.now_ms() - 1
    persistence.mark_dirty()
    return {"token": token[:12] + "...", "expires_at": clock.iso(info.expires_at)}


@router.get("/clock")
async def get_clock() -> dict[str, Any]:
    """Sandbox time and its offset from real time."""
    return {"now": clock.iso(clock.now_ms()), "now_ms": clock.now_ms(),
            "offset_ms": clock.offset_ms()}


@router.post("/clock")
async def set_clock(request: Request) -> dict[str, Any]:
    """{advance_seconds: n} moves time forward; {offset_ms: n} sets the offset (0 = real)."""
    body = await json_body(request)
    if "offset_ms" in body:
        clock.set_offset_ms(int(body["offset_ms"]))
    if "advance_seconds" in body:
        clock.advance(float(body["advance_seconds"]))
    return await get_clock()


@router.post("/save")
async def save_now() -> dict[str, Any]:
    """Persist immediately (no-op without ``PC_SANDBOX_DATA_DIR``)."""
    return {"path": persistence.save(get_state())}
