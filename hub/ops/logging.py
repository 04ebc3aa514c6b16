"""JSON logs: one object per line, with the request id, and nothing that can carry data.

A record keeps its time, level, logger, message and request id, plus only the `extra` fields
named in SAFE_FIELDS: anything else a caller attaches is dropped, so a careless
`extra={"name": ...}` cannot put personal data into the logs. Exceptions are reduced to their
type and the frames they passed through; their messages (which quote values) never appear.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

request_id_var: ContextVar[str | None] = ContextVar("hub_request_id", default=None)

# identifiers, counts and names of things; never free text or values taken from a request
SAFE_FIELDS = frozenset(
    {
        "method",
        "route",
        "status",
        "duration_ms",
        "error_type",
        "check",
        "component",
        "topic",
        "task",
        "task_id",
        "outbox_id",
        "attempt",
        "attempts",
        "count",
        "version",
        "entry_id",
        "case_id",
        "referral_id",
        "transfer_id",
        "consent_id",
        "review_id",
        "organization_id",
        "client_id",
        "host",
        "port",
    }
)

# uvicorn's access log and httpx's request lines print full URLs with their query strings
# (ours replaces the first; a connector's outbound URL can carry a token)
_QUIETENED = {
    "uvicorn.access": logging.CRITICAL + 1,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
}
_STACK_FRAMES = 12
_ROUTED = ("uvicorn", "uvicorn.error", "uvicorn.asgi", "celery", "kombu", "alembic")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        for key in SAFE_FIELDS:
            value = record.__dict__.get(key)
            if value is not None:
                doc[key] = value if isinstance(value, int | float | bool) else str(value)
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            doc["error_type"] = type(exc).__name__
            # the innermost frames say where it broke; the outer ones are the framework
            frames = traceback.extract_tb(exc.__traceback__)[-_STACK_FRAMES:]
            doc["stack"] = [f"{f.filename}:{f.lineno} in {f.name}" for f in frames]
        return json.dumps(doc, ensure_ascii=False, default=str)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time, so a redirected stderr is honoured."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


_HANDLER_MARK = "_hub_json_handler"


def configure_logging(level: str) -> None:
    """Send every log record through one JSON handler on stderr. Safe to call again."""
    # a broken log call would otherwise print its message and arguments to stderr
    logging.raiseExceptions = False
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            root.removeHandler(handler)
    handler = _StderrHandler()
    setattr(handler, _HANDLER_MARK, True)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    for name in _ROUTED:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
    for name, quiet_level in _QUIETENED.items():
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(quiet_level)
