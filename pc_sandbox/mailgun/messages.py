"""``POST /v3/{domain}/messages``: accept a message the way Mailgun does.

Form or multipart fields ``from``, ``to`` (repeatable, comma-separated allowed),
``cc``, ``bcc``, ``subject``, ``text``, ``html``, ``o:*`` options (``o:tag``
repeatable), ``h:*`` headers, ``v:*`` variables and ``attachment`` files.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from email.utils import getaddresses
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.datastructures import FormData, UploadFile

from . import store
from .auth import authorized

router = APIRouter()


def _recipients(form: FormData, name: str) -> list[str]:
    values = [str(v) for v in form.getlist(name) if isinstance(v, str) and v.strip()]
    return [
        f"{display} <{addr}>" if display else addr for display, addr in getaddresses(values) if addr
    ]


async def _attachments(form: FormData) -> list[dict[str, Any]]:
    files = []
    for name in ("attachment", "inline"):
        for value in form.getlist(name):
            if isinstance(value, UploadFile):
                content = await value.read()
                files.append(
                    {
                        "kind": name,
                        "filename": value.filename,
                        "content_type": value.content_type,
                        "size": len(content),
                    }
                )
    return files


def _prefixed(form: FormData, prefix: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in form.multi_items():
        if key.startswith(prefix) and isinstance(value, str):
            name = key[len(prefix) :]
            if name in result:
                existing = result[name]
                result[name] = (
                    [*existing, value] if isinstance(existing, list) else [existing, value]
                )
            else:
                result[name] = value
    return result


def _error(message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=400)


def _first(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value.strip() or None if isinstance(value, str) else None


@router.post("/v3/{domain}/messages")
async def send_message(domain: str, request: Request) -> Response:
    """Validate, store and answer ``Queued. Thank you.``"""
    if not authorized(request):
        return PlainTextResponse("Forbidden", status_code=401)
    form = await request.form()
    sender = _first(form, "from")
    to = _recipients(form, "to")
    subject = _first(form, "subject")
    text = form.get("text") if isinstance(form.get("text"), str) else None
    html = form.get("html") if isinstance(form.get("html"), str) else None
    if not sender:
        return _error("'from' parameter is missing")
    if not to:
        return _error("'to' parameter is missing")
    if not subject:
        return _error("'subject' parameter is missing")
    if not text and not html and not form.get("template"):
        return _error("Need at least one of 'text', 'html' or 'template' parameters specified")
    stamp = datetime.now(UTC)
    message_id = f"<{stamp:%Y%m%d%H%M%S}.{secrets.token_hex(8)}@{domain}>"
    options = _prefixed(form, "o:")
    tags = options.pop("tag", [])
    store.add(
        {
            "id": message_id,
            "domain": domain,
            "from": sender,
            "to": to,
            "cc": _recipients(form, "cc"),
            "bcc": _recipients(form, "bcc"),
            "subject": subject,
            "text": text,
            "html": html,
            "template": _first(form, "template"),
            "tags": tags if isinstance(tags, list) else [tags],
            "options": options,
            "headers": _prefixed(form, "h:"),
            "variables": _prefixed(form, "v:"),
            "attachments": await _attachments(form),
            "timestamp": time.time(),
            "received_at": stamp.isoformat(),
        }
    )
    return JSONResponse({"id": message_id, "message": "Queued. Thank you."})
