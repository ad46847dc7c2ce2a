"""Mailgun stand-in: the messages API plus a mailbox to look at what was sent.

``router`` is mounted by :mod:`pc_sandbox.app` at ``/mailgun``; clients use
``http://<host>/mailgun`` as the Mailgun base URL (instead of
``https://api.mailgun.net``).
"""

from __future__ import annotations

from fastapi import APIRouter

from . import admin, messages

router = APIRouter()
router.include_router(messages.router)
router.include_router(admin.router)

__all__ = ["router"]
