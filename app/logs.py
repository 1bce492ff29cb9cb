"""Logging: JSON lines in production, readable lines in development, a request id on each.

Exception records carry the traceback's frames and the exception's class, never its
message: a driver's message can quote SQL parameters, and those may be secrets' digests
or user input. Our access line has the path without its query string and no headers.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import traceback
import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from app.asgi import StatusRecordingSend
from app.token_format import redact

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._\-]{1,128}")
_STANDARD_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "request_id",
    "color_message",  # uvicorn's copy of the message with terminal colours
}

access_logger = logging.getLogger("app.access")


def _exception_text(record: logging.LogRecord) -> str | None:
    if not record.exc_info or record.exc_info[0] is None:
        return None
    exc_type, _, tb = record.exc_info
    return "".join(traceback.format_tb(tb)) + exc_type.__name__


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class ServerLoggerName(logging.Filter):
    """uvicorn's start-up and shutdown lines ("Uvicorn running on ...") under our name."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name in ("uvicorn.error", "uvicorn"):
            record.name = "app.server"
        return True


class RedactSecrets(logging.Filter):
    """Cuts anything shaped like one of our secrets out of every record, extras included
    (a client may send a secret where it does not belong, e.g. in a path)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRIBUTES and isinstance(value, str):
                setattr(record, key, redact(value))
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if getattr(record, "request_id", None):
            entry["request_id"] = record.request_id  # type: ignore[attr-defined]
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRIBUTES:
                entry[key] = value
        exception = _exception_text(record)
        if exception:
            entry["exception"] = exception
        return json.dumps(entry, default=str)


# The access line's message is "METHOD path status": its extras say it again for JSON.
_IN_ACCESS_MESSAGE = {"method", "path", "status"}


class ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        repeated = _IN_ACCESS_MESSAGE if record.name == access_logger.name else set()
        extras = " ".join(
            f"{k}={v}"
            for k, v in vars(record).items()
            if k not in _STANDARD_ATTRIBUTES and k not in repeated
        )
        at = datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds")
        line = f"{at} {record.levelname:<7} {record.name}: {record.getMessage()}"
        if extras:
            line += f" [{extras}]"
        if request_id:
            line += f" request_id={request_id}"
        exception = _exception_text(record)
        return f"{line}\n{exception}" if exception else line


def logging_config(*, level: str, json_lines: bool) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for the service and uvicorn (passed as ``log_config``)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": RequestIdFilter},
            "redact": {"()": RedactSecrets},
            "server_name": {"()": ServerLoggerName},
        },
        "formatters": {"default": {"()": JsonFormatter if json_lines else ConsoleFormatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["request_id", "redact", "server_name"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {
            "uvicorn": {"level": level.upper(), "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level.upper(), "handlers": [], "propagate": True},
            # Replaced by app.access, which never logs query strings.
            "uvicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
            # Drivers log statements with their parameters at DEBUG (digests, user input).
            "aiosqlite": {"level": "WARNING"},
            "asyncpg": {"level": "WARNING"},
            "sqlalchemy.engine": {"level": "WARNING"},
        },
    }


class RequestContext:
    """Gives each request an id (an incoming well-formed X-Request-ID, else a new one),
    returns it as X-Request-ID, and writes one access line per request."""

    def __init__(self, app: ASGIApp, *, access_log: bool) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        send_with_id = StatusRecordingSend(send, [(b"x-request-id", request_id.encode())])
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if self.access_log:
                path = redact(scope["path"])
                status = send_with_id.status
                access_logger.info(
                    "%s %s %d",
                    scope["method"],
                    path,
                    status,
                    extra={
                        "method": scope["method"],
                        "path": path,
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                        "request_id": request_id,
                    },
                )
            REQUEST_ID.reset(token)


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            valid = _VALID_REQUEST_ID.fullmatch(candidate) and redact(candidate) == candidate
            return candidate if valid else None
    return None
