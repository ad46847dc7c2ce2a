"""Structured logs: one JSON object per line, secrets masked, request context attached.

Every line has ``timestamp`` (UTC, ISO 8601 with milliseconds), ``level``,
``logger`` and ``message``; inside a request also ``request_id``, ``route``,
``method`` and, once the caller is known, ``user_id`` and ``partner_id``
(``pc_core.observability.context``). Fields passed with ``extra={...}`` are added
as they are. Every string value goes through ``pc_core.redaction.redact_text``
before it is written, so a secret that slips into a message, a URL or a traceback
is masked anyway.

``configure_logging`` installs this on the root logger and routes uvicorn's loggers
through it; uvicorn's own access line is switched off, because
``pc_api.observability`` writes a better one (route template, ids, duration).
``PC_LOG_FORMAT=text`` gives the same fields as readable text for a terminal.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO, Any

from pc_core.observability import context
from pc_core.observability.log_redaction import redact_text

#: Attributes every ``LogRecord`` has; anything else on a record came from ``extra``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName",
}
_HANDLER_MARK = "_pc_observability"
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


def _clean(value: Any) -> Any:
    """JSON-safe and redacted: strings masked, containers walked, the rest as text."""
    if isinstance(value, str):
        return redact_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean(v) for v in value]
    return redact_text(str(value))


def record_fields(record: logging.LogRecord, formatter: logging.Formatter) -> dict[str, Any]:
    """The fields of one line, before serialisation (redacted)."""
    stamp = datetime.fromtimestamp(record.created, UTC)
    fields: dict[str, Any] = {
        "timestamp": stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z",
        "level": record.levelname,
        "logger": record.name,
        "message": record.getMessage(),
    }
    fields.update(context.current())
    for key, value in vars(record).items():
        if key not in _STANDARD and not key.startswith("_") and key not in fields:
            fields[key] = value
    if record.exc_info:
        fields["exc_type"] = record.exc_info[0].__name__ if record.exc_info[0] else None
        fields["exc"] = formatter.formatException(record.exc_info)
    elif record.exc_text:
        fields["exc"] = record.exc_text
    return {k: _clean(v) for k, v in fields.items()}


class JsonFormatter(logging.Formatter):
    """One JSON object per line (no embedded newlines: tracebacks are escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(record_fields(record, self), ensure_ascii=False, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """The same fields for people: ``time LEVEL logger: message key=value ...``."""

    def format(self, record: logging.LogRecord) -> str:
        fields = record_fields(record, self)
        head = f"{fields.pop('timestamp')} {fields.pop('level'):<7} {fields.pop('logger')}: "
        message = fields.pop("message")
        exc = fields.pop("exc", None)
        fields.pop("exc_type", None)
        tail = " ".join(f"{k}={v}" for k, v in fields.items())
        line = head + message + (f" [{tail}]" if tail else "")
        return f"{line}\n{exc}" if exc else line


def configure_logging(fmt: str = "json", level: str | int = "INFO",
                      stream: IO[str] | None = None) -> logging.Handler:
    """Send every log record (ours, uvicorn's, libraries') to one handler on the root
    logger, formatted as ``fmt`` ("json" or "text"). Idempotent: a second call
    replaces the handler it installed before. Returns the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(TextFormatter() if fmt == "text" else JsonFormatter())
    setattr(handler, _HANDLER_MARK, True)
    root = logging.getLogger()
    for old in list(root.handlers):
        # ours from an earlier call, and logging.basicConfig's plain stream handler
        if getattr(old, _HANDLER_MARK, False) or type(old) is logging.StreamHandler:
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else level.upper())
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # uvicorn's access line carries the raw query string (OAuth codes, states) and
    # no ids; pc_api.observability writes the access line instead.
    logging.getLogger("uvicorn.access").disabled = True
    return handler
