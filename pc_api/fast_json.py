"""JSON answers for hot list endpoints, serialised with orjson.

FastAPI validates and serialises a returned dict through the response model, which
costs milliseconds on a 50-item page. Hot routes return this response instead: the
route still declares its ``response_model`` (so /docs shows the contract), and the
service builds exactly that shape. Datetimes come out as ISO-8601 with ``Z``.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response

_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC


class FastJSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=_OPTIONS)
