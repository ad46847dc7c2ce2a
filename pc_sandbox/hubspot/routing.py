"""The request pipeline every HubSpot route shares.

``HubSpotRoute`` turns ``HubSpotError`` (and FastAPI validation errors) into HubSpot-shaped
JSON and counts every request in the stats. ``gate`` is the dependency of the authenticated
API: bearer token → portal, scope check, rate limit, then fault injection, in HubSpot's order.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from . import clock, errors, limits, quota
from . import scopes as scope_rules
from .state import Portal, canonical_type, get_state


class FastJSON(JSONResponse):
    """JSON without FastAPI's ``jsonable_encoder`` pass: answers are plain dicts of str/int/
    bool already, and list pages are the throughput path of the pull benchmark."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def kind_for(path: str, methods: set[str]) -> str:
    """Classify a route for stats and rate limits (list/get/search/batch/oauth/admin/...)."""
    for marker in ("/_sandbox", "/oauth", "/crm"):
        pos = path.find(marker)
        if pos >= 0:
            path = path[pos:]
            break
    if path.startswith("/_sandbox"):
        return "admin"
    if path.startswith("/oauth"):
        return "oauth"
    if path.endswith("/search"):
        return "search"
    if "/batch/" in path:
        return "batch"
    if path.startswith("/crm/v3/pipelines"):
        return "pipelines"
    if path.startswith("/crm/v3/properties"):
        return "properties"
    if path.startswith("/crm/v4"):
        return "associations"
    if path == "/crm/v3/objects/{object_type}":
        return "list" if "GET" in methods else "create"
    if path == "/crm/v3/objects/{object_type}/{object_id}":
        return {"GET": "get", "PATCH": "update", "DELETE": "archive"}.get(
            next(iter(methods), "GET"), "get")
    return "other"


class HubSpotRoute(APIRoute):
    """APIRoute that answers errors in HubSpot's shape and records stats."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        original = super().get_route_handler()
        kind = kind_for(self.path, set(self.methods or ()))

        async def handler(request: Request) -> Response:
            request.state.hs_kind = kind
            try:
                response = await original(request)
            except errors.HubSpotError as exc:
                response = JSONResponse(exc.body, exc.status_code, headers=exc.headers)
            except RequestValidationError as exc:
                details = [
                    {"message": str(e.get("msg")), "in": ".".join(str(x) for x in e.get("loc", ()))}
                    for e in exc.errors()
                ]
                err = errors.validation_error("Invalid input (details will vary based on the "
                                              "error)", details)
                response = JSONResponse(err.body, 400)
            extra = getattr(request.state, "hs_headers", None)
            if extra:
                for key, value in extra.items():
                    response.headers.setdefault(key, value)
            portal_id = getattr(request.state, "hs_portal", None)
            limits.STATS.record(kind, response.status_code, portal_id)
            return response

        return handler


def bearer_portal(request: Request) -> tuple[Portal, list[str]]:
    """Resolve the bearer token to its portal and scopes, or raise HubSpot's 401."""
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    state = get_state()
    info = state.oauth.access.get(token) if token else None
    if info is None or info.expires_at <= clock.now_ms():
        raise errors.unauthorized()
    portal = state.portals.get(info.portal_id)
    if portal is None:
        raise errors.unauthorized()
    return portal, info.scopes


async def gate(request: Request) -> Portal:
    """Dependency of every authenticated CRM route: auth, scopes, rate limit, faults."""
    kind = getattr(request.state, "hs_kind", "other")
    portal, scopes = bearer_portal(request)
    request.state.hs_portal = portal.id
    raw_type = request.path_params.get("object_type") or request.path_params.get("from_type")
    object_type = canonical_type(raw_type) if raw_type else None
    raw_to = request.path_params.get("to_type")
    to_type = canonical_type(raw_to) if raw_to else None
    read_only_post = kind in ("search", "associations") or request.url.path.endswith(
        "/batch/read")
    write = request.method in ("PATCH", "PUT", "DELETE") or (
        request.method == "POST" and not read_only_post)
    route = getattr(request.scope.get("route"), "path", request.url.path)
    route = route[max(route.find("/crm"), 0):]  # the router is mounted under /hubspot
    missing = scope_rules.check(portal.id, f"{request.method} {route}",
                                scope_rules.required(route, object_type, to_type, write),
                                scopes)
    if missing:
        raise errors.missing_scopes(missing)
    cfg = limits.CONFIG
    headers: dict[str, str] = {}
    if cfg.rate_limits:
        headers.update(limits.LIMITER.check(portal.id, limits.policy_for(kind)))
    # Search answers carry no rate-limit headers at HubSpot, daily ones neither.
    headers.update(quota.QUOTAS.check(portal.id, with_headers=kind != "search"))
    request.state.hs_headers = headers
    fault, slow = limits.draw_fault(cfg)
    if slow:
        limits.STATS.slowed += 1
        await asyncio.sleep(cfg.slow_ms / 1000)
    if fault == "500":
        limits.STATS.injected["500"] += 1
        raise limits.internal_error()
    if fault == "429":
        limits.STATS.injected["429"] += 1
        raise errors.rate_limited("TEN_SECONDLY_ROLLING", 1, f"cus-oauth:{portal.id}")
    return portal


async def json_body(request: Request) -> dict[str, Any]:
    """The JSON object body, or HubSpot's 400 for anything else."""
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        raise errors.validation_error("Invalid input JSON on line 1: request body is not JSON")
    if not isinstance(body, dict):
        raise errors.validation_error("Invalid input JSON: expected an object")
    return body


def object_type_or_404(raw: str) -> str:
    """Canonical object type from a path segment; unknown types answer 400 like HubSpot."""
    object_type = canonical_type(raw)
    if object_type is None:
        raise errors.api_error(400, f"Unable to infer object type from: {raw}",
                               "VALIDATION_ERROR")
    return object_type


def multi_param(request: Request, name: str) -> list[str] | None:
    """A list query parameter given repeated (SDK 'multi') or comma-separated; None if absent."""
    values = request.query_params.getlist(name)
    if not values:
        return None
    out: list[str] = []
    for v in values:
        out.extend(p.strip() for p in v.split(",") if p.strip())
    return out


def limit_param(request: Request, default: int, maximum: int) -> int:
    """``limit`` from the query: the default when absent, 400 outside 1..maximum."""
    raw = request.query_params.get("limit")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise errors.validation_error(f"limit must be an integer, got {raw!r}")
    if value < 1 or value > maximum:
        raise errors.validation_error(f"limit must be between 1 and {maximum}, got {value}")
    return value


def next_page(request: Request, after: int | str) -> dict[str, Any]:
    """``paging`` of a list answer with a next page. As HubSpot does, ``next.link`` is
    the request's own URL with ``after`` replaced, every other parameter (``limit``,
    ``properties``, ``associations``, ``archived``...) kept, so a client that only
    follows links gets the same page size and the same data on every page."""
    link = str(request.url.include_query_params(after=str(after)))
    return {"next": {"after": str(after), "link": link}}


def bool_param(request: Request, name: str) -> bool:
    """``archived=true``/``True``/``1`` → True."""
    return (request.query_params.get(name) or "").strip().lower() in ("true", "1", "yes")
