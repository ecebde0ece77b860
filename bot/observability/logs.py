"""Log lines as operators read them: text for people, JSON (one object a line) for log collectors.

Both carry the conversation, the job and the channel a line is about, when it is about one: given with
``extra={"conversation": ...}`` or set for the running task with ``log_context`` (the delivery worker sets it for
each job, the inbox for each batch it stores). Both formats are redacted the same way, on the whole formatted line,
tracebacks included: secrets never reach a log line, whoever wrote it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

CONTEXT_FIELDS = ("conversation", "job", "channel")
_context: ContextVar[dict[str, Any] | None] = ContextVar("threadbridge_log_context", default=None)


def log_context(**fields: Any) -> None:
    """Set ``conversation``, ``job`` or ``channel`` for the log lines of this task (and of the tasks it starts)."""
    current = dict(_context.get() or {})
    current.update({key: value for key, value in fields.items() if value is not None})
    _context.set(current)


def context_of(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a record is about: given with ``extra=`` first, else the task's ``log_context``."""
    task = _context.get() or {}
    found: dict[str, Any] = {}
    for name in CONTEXT_FIELDS:
        value = getattr(record, name, None)
        if value is None:
            value = task.get(name)
        if value is not None:
            found[name] = value
    return found


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message [conversation=12 job=40 channel=telegram]``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = context_of(record)
        if not fields:
            return line
        head, newline, trace = line.partition("\n")  # the context belongs to the message, before a traceback
        about = " ".join(f"{key}={value}" for key, value in fields.items())
        return f"{head} [{about}]{newline}{trace}"


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, the context fields, and the
    traceback as ``exception`` when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **context_of(record),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class RedactingFormatter(logging.Formatter):
    """Wraps either format: the whole line it wrote goes through ``redact`` (the one redaction path)."""

    def __init__(self, inner: logging.Formatter, redact: Callable[[str], str]) -> None:
        super().__init__()
        self.inner = inner
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(self.inner.format(record))


def formatter(log_format: str, redact: Callable[[str], str]) -> logging.Formatter:
    """The formatter for LOG_FORMAT (``text`` or ``json``), redacting with ``redact``."""
    inner = JsonFormatter() if log_format == "json" else TextFormatter()
    return RedactingFormatter(inner, redact)
