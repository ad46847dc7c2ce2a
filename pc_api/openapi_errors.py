"""Every error status a route can answer, documented once, with its body.

FastAPI documents a route's success answer and its 422. The other errors come from
what routes share, not from each route: the authentication dependencies (401; 403
for a role; 429 for an API key past its rate limit), the services of ``pc_core``
(``pc_core.errors``: 400 for input the schema cannot express, e.g. a bad cursor or
an unparsable body; 404 for another partner's or a missing object or partner id;
409 for duplicates and concurrent changes), and the HTTP middleware (413 body
limits). So they are added here, after FastAPI builds the schema, keyed on what each
operation declares: its security requirement (from its dependencies), its
parameters and body, and its method. A route documents by hand only what is its
own (the login's 429, a webhook's 401, the health check's 503).

Every 4xx answer is ``{"detail": "<what went wrong>"}`` (``ErrorOut``), except 422,
FastAPI's ``{"detail": [<validation error>...]}`` (``HTTPValidationError``).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from pc_api.csrf import UNSAFE_METHODS
from pc_api.openapi_steps import add_openapi_step

# OpenAPI names methods in lower case.
UNSAFE = frozenset(m.lower() for m in UNSAFE_METHODS)
ERROR_MODEL = "ErrorOut"
VALIDATION_MODEL = "HTTPValidationError"

ERROR_SCHEMA: dict[str, Any] = {
    "title": ERROR_MODEL,
    "type": "object",
    "description": "Every error except 422: what went wrong, in words.",
    "properties": {"detail": {"title": "Detail", "type": "string"}},
    "required": ["detail"],
}
# FastAPI's own, declared here too for schemas where no route has a 422 of its own.
VALIDATION_SCHEMAS: dict[str, Any] = {
    "ValidationError": {
        "title": "ValidationError", "type": "object", "required": ["loc", "msg", "type"],
        "properties": {
            "loc": {"title": "Location", "type": "array",
                    "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
            "msg": {"title": "Message", "type": "string"},
            "type": {"title": "Error Type", "type": "string"},
        },
    },
    VALIDATION_MODEL: {
        "title": VALIDATION_MODEL, "type": "object",
        "properties": {"detail": {"title": "Detail", "type": "array",
                                  "items": {"$ref": "#/components/schemas/ValidationError"}}},
    },
}

USER_AUTH = "HTTPBearer"  # get_current_user (the cookie is documented beside it)
API_KEY_AUTH = "APIKeyHeader"  # the public API's X-API-Key

DESCRIPTIONS = {
    "400": "Bad input the schema cannot express (e.g. a bad cursor, an unparsable or "
           "malformed body, a missing partner_id)",
    "401": "Not signed in, or the token or API key is invalid, expired or revoked",
    "403": "The caller's role may not do this",
    "404": "Not found: missing, or another partner's object or partner_id",
    "409": "Conflict: a duplicate, or the object changed meanwhile or is in a state "
           "that does not allow this",
    "413": "Request body too large",
    "422": "Validation error",
    "429": "Too many requests; see Retry-After",
}


def _schemes(op: dict[str, Any]) -> set[str]:
    return {name for requirement in op.get("security") or [] for name in requirement}


def error_statuses(method: str, op: dict[str, Any]) -> set[str]:
    """The shared error statuses of one operation (beside the ones it declares)."""
    schemes = _schemes(op)
    params = op.get("parameters") or []
    has_body = "requestBody" in op
    has_input = has_body or any(p.get("in") in ("path", "query") for p in params)
    codes: set[str] = set()
    if has_input:
        codes |= {"400", "422"}
    if method in UNSAFE:
        codes.add("413")  # the body limits apply to any request that carries a body
    if schemes & {USER_AUTH, API_KEY_AUTH}:
        codes |= {"401", "403"}
        if has_input:
            codes.add("404")
        if method in UNSAFE:
            codes.add("409")
    if API_KEY_AUTH in schemes:
        codes.add("429")
    return codes


def _error_content(code: str) -> dict[str, Any]:
    model = VALIDATION_MODEL if code == "422" else ERROR_MODEL
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}}}


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the shared statuses to every operation and give every 4xx its body."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault(ERROR_MODEL, ERROR_SCHEMA)
    for name, model in VALIDATION_SCHEMAS.items():
        components.setdefault(name, model)
    for ops in schema.get("paths", {}).values():
        for method, op in ops.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            responses = op["responses"]
            for code in sorted(error_statuses(method, op)):
                responses.setdefault(code, {"description": DESCRIPTIONS[code]})
            for code, response in responses.items():
                if code.startswith("4") and "content" not in response:
                    response["content"] = _error_content(code)
    return schema


def install_openapi_errors(app: FastAPI) -> None:
    """Document every route's error statuses in the app's OpenAPI, once."""
    add_openapi_step(app, document_errors)
