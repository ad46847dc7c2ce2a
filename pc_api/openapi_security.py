"""The OpenAPI description of how to authenticate, including the CSRF rule.

Every route protected by ``Authorization: Bearer`` also accepts the ``pc_access``
cookie; for unsafe methods the cookie only counts together with the
``X-CSRF-Token`` header (``pc_api/csrf.py``). OpenAPI's security requirements say
exactly that: Bearer, *or* cookie *and* CSRF header. Unsafe cookie routes also
document the 403 of a failed CSRF check, and routes with a body the 413 of the body
limits (``pc_api/body_limits.py``).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from pc_api.csrf import CSRF_COOKIE, CSRF_HEADER, UNSAFE_METHODS
from pc_api.deps import ACCESS_COOKIE
from pc_api.openapi_steps import add_openapi_step

BEARER = "HTTPBearer"
COOKIE = "cookieAuth"
CSRF = "csrfToken"

DESCRIPTION = f"""

**Cookie sessions and CSRF.** Sign-in (`POST /v1/auth/login`) and refresh set the
HttpOnly cookies `{ACCESS_COOKIE}` and `pc_refresh` and a readable cookie `{CSRF_COOKIE}`.
A POST, PUT, PATCH or DELETE authenticated by cookie must send the header
`{CSRF_HEADER}` with the value of the `{CSRF_COOKIE}` cookie, and its `Origin` (or
`Referer`) must be this site; otherwise 403 `{{"detail": "CSRF check failed: ..."}}`.
Requests with `Authorization: Bearer` or `X-API-Key` need neither. `POST /v1/auth/logout-all`
signs the caller out everywhere.

**Body limits.** Request bodies are capped while they stream in (JSON 1 MB by default,
webhooks 1 MB, the CSV import 10 MB): 413 beyond.
"""

SCHEMES: dict[str, dict[str, Any]] = {
    COOKIE: {"type": "apiKey", "in": "cookie", "name": ACCESS_COOKIE,
             "description": "The access token cookie set by /v1/auth/login and /v1/auth/refresh"},
    CSRF: {"type": "apiKey", "in": "header", "name": CSRF_HEADER,
           "description": f"The value of the `{CSRF_COOKIE}` cookie; required with the "
                          "cookie on POST, PUT, PATCH and DELETE"},
}


def document_security(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the cookie and CSRF schemes and requirements to ``schema`` (in place)."""
    schema.setdefault("components", {}).setdefault("securitySchemes", {}).update(SCHEMES)
    schema.setdefault("info", {})["description"] = (
        schema["info"].get("description", "") + DESCRIPTION
    )
    for ops in schema.get("paths", {}).values():
        for method, op in ops.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            unsafe = method.upper() in UNSAFE_METHODS
            security = op.get("security") or []
            if any(BEARER in requirement for requirement in security):
                op["security"] = [*security,
                                  {COOKIE: [], CSRF: []} if unsafe else {COOKIE: []}]
                if unsafe:
                    op["responses"].setdefault(
                        "403", {"description": "Forbidden (role, or a failed CSRF check "
                                               "on a cookie session)"})
            if "requestBody" in op:
                op["responses"].setdefault("413", {"description": "Request body too large"})
    return schema


def install_openapi_security(app: FastAPI) -> None:
    """Document the authentication rule in the app's OpenAPI, once."""
    add_openapi_step(app, document_security)
