"""Log lines of ``crmkit serve`` and ``crmkit worker``: text or JSON, one line per request and per job.

Loggers: ``crmkit.requests`` (one line per HTTP request: request id, method, route template,
status, duration; no query string, no body, no client address unless ``client_addresses``),
``crmkit.worker`` (one line per periodic job run, with its run id), and the rest of ``crmkit.*``.
Route templates (``/api/v1/deals/{id}``) keep ids and secrets of paths out of the logs.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import Any, TextIO

from .config import LoggingOptions

EXTRA_FIELDS = ("request_id", "method", "route", "status", "duration_ms", "plugin", "client", "job", "slot")
_HANDLER_FLAG = "crmkit_ops_handler"


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message and the known extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage(),
        }
        for key in EXTRA_FIELDS:
            value = record.__dict__.get(key)
            if value is not None:
                out[key] = value
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``<time> <LEVEL> <logger>: <message>``, the time formatted once a second (the cost of a request line)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._second = -1
        self._stamp = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        second = int(record.created)
        if second != self._second:
            self._second, self._stamp = second, super().formatTime(record, datefmt)[:-4]
        return f"{self._stamp},{int(record.msecs):03d}"


def configure_logging(options: LoggingOptions, stream: TextIO | None = None,
                      loggers: tuple[str, ...] = ("crmkit",)) -> logging.Handler:
    """Send the logs of ``loggers`` (``crmkit.*``; ``crmkit serve`` adds ``uvicorn``) to ``stream``
    (stderr) in the chosen format; calling it again replaces the handler it added before."""
    handler = logging.StreamHandler(stream or sys.stderr)
    setattr(handler, _HANDLER_FLAG, True)
    if options.format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    for name in loggers:
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            if getattr(old, _HANDLER_FLAG, False):
                logger.removeHandler(old)
        logger.addHandler(handler)
        logger.setLevel(options.level.upper())
        logger.propagate = False
    return handler
