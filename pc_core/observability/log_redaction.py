"""Secrets in URLs never reach a log line.

Some requests carry secrets in their query string: the OAuth callback's ``code`` and
``state``, a webhook's ``token``, API keys and client secrets sent by scripts.
Access logs print the request target whole, so every logger that prints URLs (the
uvicorn access log, httpx's request log, our own request logging) passes them
through ``redact_url`` first: the value of each secret-bearing parameter becomes
``REDACTED``; the path, the other parameters and their order stay as they were, so
the line is still useful for debugging.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

REDACTED = "REDACTED"

#: Parameter names (compared lower-case, ``-`` as ``_``) whose values are secrets.
SECRET_PARAMS = frozenset({
    "code", "state",  # OAuth authorization response (RFC 6749 §4.1.2)
    "token", "access_token", "refresh_token", "id_token",
    "client_secret", "secret", "password",
    "key", "api_key", "apikey", "x_api_key",
    "signature", "sig",
})

#: Loggers that print request URLs: uvicorn's access log and httpx's request log.
URL_LOGGERS = ("uvicorn.access", "httpx")


def is_secret_param(name: str) -> bool:
    return unquote_plus(name).strip().lower().replace("-", "_") in SECRET_PARAMS


def redact_query(query: str) -> str:
    """``code=abc&x=1`` → ``code=REDACTED&x=1``; untouched bytes elsewhere."""
    if not query:
        return query
    parts = []
    for part in query.split("&"):
        name, eq, _value = part.partition("=")
        parts.append(f"{name}={REDACTED}" if eq and is_secret_param(name) else part)
    return "&".join(parts)


def redact_url(url: str) -> str:
    """A URL or request target with its secret query values replaced (the fragment,
    never sent to a server, is dropped)."""
    head, sep, query = url.partition("?")
    if not sep:
        return url
    query = query.split("#", 1)[0]
    return f"{head}?{redact_query(query)}"


def _redact_arg(arg: object) -> object:
    if isinstance(arg, str):
        return redact_url(arg) if "?" in arg else arg
    # httpx.URL and the like: anything URL-shaped that prints with a query.
    if type(arg).__name__ == "URL":
        text = str(arg)
        return redact_url(text) if "?" in text else arg
    return arg


class RedactUrlsFilter(logging.Filter):
    """Rewrites a record's URL-looking arguments (and a message without arguments)
    before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(_redact_arg(a) for a in record.args)
        elif not record.args and isinstance(record.msg, str) and "?" in record.msg:
            record.msg = " ".join(redact_url(word) if "?" in word else word
                                  for word in record.msg.split(" "))
        return True


_FILTER = RedactUrlsFilter()


def install_url_redaction(names: tuple[str, ...] = URL_LOGGERS) -> None:
    """Attach the filter to each logger (once; safe to call for every app built)."""
    for name in names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


# -- secrets anywhere in a log line ------------------------------------------------------
# The structured logs (pc_core.observability.logs) pass every string they write
# through ``redact_text``: a secret that slips into a message, an exception or an
# ``extra`` field is masked even when it is not in a URL.

#: Names whose value is a secret wherever it appears: ``name=value``, ``name: value``,
#: a JSON field, a header. (The short URL parameters above, ``code``, ``state``,
#: ``key``, ``sig``, are masked in query strings only: "status code: 500" stays.)
SECRET_FIELDS = frozenset({
    "access_token", "api_key", "apikey", "authorization", "client_secret", "cookie",
    "current_password", "hapikey", "id_token", "new_password", "password", "refresh_token",
    "secret", "set-cookie", "signature", "stripe-signature", "token", "x-api-key",
    "x-hubspot-signature", "x-hubspot-signature-v3", "x-pc-signature", "x-pc-webhook-secret",
})


def _alternation(names: frozenset[str]) -> str:
    return "|".join(sorted((re.escape(n) for n in names), key=len, reverse=True))


_FIELDS = _alternation(SECRET_FIELDS)
_PARAMS = _alternation(SECRET_PARAMS | {p.replace("_", "-") for p in SECRET_PARAMS})
_TEXT_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # name=value in a query string or form body, anywhere in the text
    (re.compile(rf"(?i)([?&;](?:{_PARAMS})=)(?!{REDACTED})[^&;#\s\"'<>]+"), rf"\g<1>{REDACTED}"),
    # "name": "value" (JSON, Python reprs)
    (re.compile(rf"(?i)([\"'](?:{_FIELDS})[\"']\s*:\s*[\"'])(?!{REDACTED})[^\"']*"),
     rf"\g<1>{REDACTED}"),
    # name='value' / name: "value"
    (re.compile(rf"(?i)(\b(?:{_FIELDS})\b\s*[:=]\s*)([\"'])(?!{REDACTED})[^\"']*\2"),
     rf"\g<1>\g<2>{REDACTED}\g<2>"),
    # name=value / Name: value (headers), a Bearer/Basic scheme included
    (re.compile(rf"(?i)(\b(?:{_FIELDS})\b\s*[:=]\s*)(?![\s\"'\[]*{REDACTED})"
                r"(?:bearer\s+|basic\s+)?[^\s,;&\"'}\]]+"), rf"\g<1>{REDACTED}"),
    # the password in a URI's user info (mongodb+srv://user:PASSWORD@host)
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^\s:/@]+:)[^\s@/]+@"), rf"\g<1>{REDACTED}@"),
    # bearer tokens wherever they appear
    (re.compile(rf"(?i)(\bbearer\s+)(?!{REDACTED})[A-Za-z0-9._~+/=-]+"), rf"\g<1>{REDACTED}"),
    # JWTs (base64url header.payload.signature; a JSON header starts "eyJ")
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+"), REDACTED),
    # our API tokens (pc_<id>.<secret>), Stripe secret/restricted keys and webhook
    # secrets, Mailgun API keys
    (re.compile(r"\bpc_[A-Za-z0-9]+\.[A-Za-z0-9_-]{8,}"), REDACTED),
    (re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9_]+"), REDACTED),
    (re.compile(r"\bwhsec_[A-Za-z0-9_]+"), REDACTED),
    (re.compile(r"\bkey-[A-Za-z0-9]{16,}"), REDACTED),
)


def redact_text(text: str) -> str:
    """``text`` with every secret-shaped part masked (idempotent): secret URL
    parameters, secret-named fields and headers, URI passwords, bearer tokens, JWTs,
    API tokens, Stripe and Mailgun keys."""
    if not text:
        return text
    for pattern, replacement in _TEXT_PATTERNS:
        text = pattern.sub(replacement, text)
    return text
