"""JSON answers for hot list endpoints, sent as they are built.

A sync route's returned value is validated against its ``response_model`` in a
worker thread (one more hop) before it is serialised. Hot routes return one of
these responses instead; the route still declares its ``response_model`` (so /docs
shows the contract):

- ``ModelResponse``: a model the service already validated (``pc_core.models``),
  serialised by pydantic-core in one call;
- ``FastJSONResponse``: a dict the service built in its final shape, via orjson.

Datetimes come out as ISO-8601 with ``Z`` either way.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response
from pydantic import BaseModel

_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC


class FastJSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=_OPTIONS)


class ModelResponse(Response):
    media_type = "application/json"

    def render(self, content: BaseModel) -> bytes:
        return content.__pydantic_serializer__.to_json(content)
