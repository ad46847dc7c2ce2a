"""JSON answers for hot list endpoints, sent as the service validated them.

A sync route's returned value is validated against its ``response_model`` in a
worker thread (one more hop) before it is serialised. Hot routes return a
``ModelResponse`` instead: a model the service already built and validated
(``pc_core.models``), serialised by pydantic-core in one call. The route still
declares its ``response_model``, so /docs shows the contract. Datetimes come out as
ISO-8601 with ``Z``.
"""

from __future__ import annotations

from fastapi.responses import Response
from pydantic import BaseModel


class ModelResponse(Response):
    media_type = "application/json"

    def render(self, content: BaseModel) -> bytes:
        return content.__pydantic_serializer__.to_json(content)
