"""Turning stored objects into answers: copies, ``expand[]`` and list pages."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from fastapi.responses import JSONResponse

from . import state
from .errors import StripeError, invalid_param
from .ids import kind_of
from .params import Params, get_int, get_list, get_str


def lookup(st: state.StripeState, object_id: str) -> dict[str, Any] | None:
    """Any stored object by id."""
    kind = kind_of(object_id)
    if kind == "event":
        return st.events.get(object_id)
    return st.table(kind).get(object_id) if kind else None


def _expand(value: Any, path: list[str], st: state.StripeState) -> Any:
    if not path:
        return value
    if isinstance(value, list):
        return [_expand(item, path, st) for item in value]
    if not isinstance(value, dict) or path[0] not in value:
        return value
    child = value[path[0]]
    if isinstance(child, str):
        found = lookup(st, child)
        child = copy.deepcopy(found) if found is not None else child
    value[path[0]] = _expand(child, path[1:], st)
    return value


def expanded(st: state.StripeState, obj: dict[str, Any], params: Params) -> dict[str, Any]:
    """A copy of ``obj`` with the requested ``expand[]`` paths filled in."""
    result = copy.deepcopy(obj)
    for path in get_list(params, "expand"):
        result = _expand(result, str(path).split("."), st)
    return result


def respond(st: state.StripeState, obj: dict[str, Any], params: Params) -> JSONResponse:
    """Serialise while still holding the lock, so later changes cannot leak in."""
    return JSONResponse(expanded(st, obj, params))


def _created_filter(params: Params) -> dict[str, int]:
    created = params.get("created")
    if created is None or created == "":
        return {}
    if isinstance(created, str):
        value = get_int(params, "created")
        return {"gte": value, "lte": value} if value is not None else {}
    return {op: int(v) for op, v in created.items() if op in ("gt", "gte", "lt", "lte")}


def _created_ok(obj: dict[str, Any], bounds: dict[str, int]) -> bool:
    c = obj.get("created", 0)
    return (
        c > bounds.get("gt", c - 1)
        and c >= bounds.get("gte", c)
        and c < bounds.get("lt", c + 1)
        and c <= bounds.get("lte", c)
    )


def list_page(
    st: state.StripeState, objects: Iterable[dict[str, Any]], params: Params, url: str
) -> JSONResponse:
    """A Stripe list object over ``objects`` (oldest first in storage), newest first."""
    limit = get_int(params, "limit") or 10
    if not 1 <= limit <= 100:
        raise invalid_param("limit", "This value must be between 1 and 100.")
    bounds = _created_filter(params)
    items = [o for o in reversed(list(objects)) if _created_ok(o, bounds)]
    after = get_str(params, "starting_after")
    before = get_str(params, "ending_before")
    ids = [o["id"] for o in items]
    if after:
        if after not in ids:
            raise StripeError(
                f"No such object: '{after}'", code="resource_missing", param="starting_after"
            )
        items = items[ids.index(after) + 1 :]
        page = items[:limit]
    elif before:
        if before not in ids:
            raise StripeError(
                f"No such object: '{before}'", code="resource_missing", param="ending_before"
            )
        items = items[: ids.index(before)]
        page = items[-limit:]
    else:
        page = items[:limit]
    body = {
        "object": "list",
        "data": page,
        "has_more": len(items) > len(page),
        "url": url,
    }
    return JSONResponse(expanded(st, body, params))
