"""Changes made to the OpenAPI document after FastAPI builds it (the security rule,
the shared error statuses), each added to ``app.openapi`` once.

FastAPI caches the schema it builds; a step runs again only when that schema is a
new object, so reading ``/openapi.json`` repeatedly does not re-document it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

Schema = dict[str, Any]


def add_openapi_step(app: FastAPI, step: Callable[[Schema], Schema]) -> None:
    """Wrap ``app.openapi`` (whatever it is by now) so ``step`` edits its schema once."""
    build = app.openapi
    documented: list[Schema] = []  # the schema ``step`` last edited

    def openapi() -> Schema:
        schema = build()
        if not documented or documented[0] is not schema:
            documented[:] = [step(schema)]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
