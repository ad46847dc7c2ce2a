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
