"""Log lines for people (text) or for log shippers (one JSON object a line).

Context that every line of a unit of work should carry — the job id in a worker, the
request id and path in the API — is bound once with ``log_context(...)`` and read by
the formatter from a context variable, so no call site has to pass it along.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Literal

__all__ = ["JsonFormatter", "LogFormat", "configure_logging", "current_log_context", "log_context"]

LogFormat = Literal["text", "json"]

_context: ContextVar[dict[str, str] | None] = ContextVar("efir_log_context", default=None)
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(context)s"


@contextmanager
def log_context(**fields: str) -> Iterator[None]:
    """Add ``fields`` to every log line written inside the block (nested blocks add up)."""
    token = _context.set({**current_log_context(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def current_log_context() -> dict[str, str]:
    return dict(_context.get() or {})


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the bound context, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **current_log_context(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _TextFormatter(logging.Formatter):
    """The usual human line, with the bound context appended as ``[job_id=…]``."""

    def format(self, record: logging.LogRecord) -> str:
        fields = current_log_context()
        record.context = (
            " [" + " ".join(f"{key}={value}" for key, value in fields.items()) + "]"
            if fields
            else ""
        )
        return super().format(record)


def configure_logging(log_format: LogFormat, *, level: int = logging.INFO) -> None:
    """Send every logger's records (uvicorn's and Celery's included) to stderr in one format."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else _TextFormatter(_TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
