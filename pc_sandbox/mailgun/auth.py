"""Mailgun's HTTP basic auth: user ``api``, password the API key."""

from __future__ import annotations

import base64
import binascii
import hmac

from fastapi import Request

from .settings import SETTINGS


def authorized(request: Request) -> bool:
    """True when the request carries ``Authorization: Basic base64(api:<key>)``."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, password = base64.b64decode(value.strip()).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return user == "api" and hmac.compare_digest(password.encode(), SETTINGS.api_key.encode())
