"""``POST /v1/webhooks/hubspot``: HubSpot's webhook batches, into the inbox.

Async, reading the raw body itself (the signature covers it byte for byte) and
capping it at ``hubspot_webhook_max_bytes`` both by ``Content-Length`` and while
reading; the signature check and the inserts run in the thread pool so the event
loop keeps accepting HubSpot's parallel deliveries. 413 too large, 401 bad, stale or
missing signature, 400 malformed JSON, 200 once stored (also for duplicates and for
portals we do not know, so HubSpot stops retrying them).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from pc_api.deps import AppSettings, Db
from pc_core.errors import BadRequest, PayloadTooLarge
from pc_core.hubspot.webhooks import ingest as webhooks
from pc_core.settings import Settings

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


async def _read_capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BadRequest("invalid Content-Length")
        if int(declared) > limit:
            raise PayloadTooLarge(f"webhook body over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"webhook body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def signed_uris(request: Request, settings: Settings) -> list[str]:
    """The URL HubSpot signed: our public URL + path (+ query), as configured behind a
    proxy; then the URL as this process received it, for direct deliveries."""
    path = request.url.path
    query = f"?{request.url.query}" if request.url.query else ""
    return [f"{settings.public_url.rstrip('/')}{path}{query}", str(request.url)]


@router.post("/hubspot", responses={
    400: {"description": "Malformed JSON"}, 401: {"description": "Bad or stale signature"},
    413: {"description": "Body over 1 MB"}})
async def hubspot_webhook(request: Request, db: Db, settings: AppSettings) -> dict:
    body = await _read_capped(request, settings.hubspot_webhook_max_bytes)
    headers = {k.lower(): v for k, v in request.headers.items()}
    result = await run_in_threadpool(webhooks.handle_delivery, db, settings, headers, body,
                                     signed_uris(request, settings))
    return {"received": result.received, "stored": result.stored,
            "duplicates": result.duplicates, "ignored": result.ignored}
