"""Logs on stderr, JSON lines for the journal or text for people, with no secret in them.

Why a filter on the handler, not on loggers: a logger's filter only sees records logged
on that very logger; a handler's sees every record that reaches it, from httpx and
APScheduler as much as from us. Redaction happens on the record (message, args, extra
fields, exception text) and once more on the formatted line, so a secret split across
fields or escaped by JSON is caught either way it shows.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

from governor.secrets import redact

_MARK = "_neon_governor_handler"
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
}
LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """What ``extra=`` put on the record (run_id, request_id, ...)."""
    return {key: value for key, value in vars(record).items() if key not in _STANDARD}


def _scrubbed(value: Any, secrets: Sequence[str]) -> Any:
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {key: _scrubbed(item, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrubbed(item, secrets) for item in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return redact(str(value), secrets)  # an object's str() may carry a secret


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__()
        self.secrets = [secret for secret in secrets if secret]

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage(), self.secrets)
        record.args = None
        for key, value in extra_fields(record).items():
            setattr(record, key, _scrubbed(value, self.secrets))
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text, record.exc_info = redact(text, self.secrets), None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message", ...extra}``: one object per line."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in extra_fields(record).items():
            data.setdefault(key, value)
        if record.exc_text:
            data["exception"] = record.exc_text
        return json.dumps(data, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``ts level logger: message key=value ...`` for a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="seconds")
        line = f"{ts} {record.levelname.lower()} {record.name}: {record.getMessage()}"
        extras = " ".join(f"{key}={value}" for key, value in extra_fields(record).items())
        line = f"{line} {extras}" if extras else line
        return f"{line}\n{record.exc_text}" if record.exc_text else line


class _Redacting(logging.Formatter):
    def __init__(self, inner: logging.Formatter, secrets: Sequence[str]) -> None:
        super().__init__()
        self.inner, self.secrets = inner, secrets

    def format(self, record: logging.LogRecord) -> str:
        return redact(self.inner.format(record), self.secrets)


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is at the time (pytest swaps it per test)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def configure_logging(format: str, level: str, secrets: Sequence[str]) -> None:
    """Route every log record to stderr as ``format`` ("json" or "text") from ``level`` up.

    Calling again replaces the governor's handler (a new format, level or secret list
    applies); other handlers on the root logger are left alone.
    """
    if format not in ("json", "text"):
        raise ValueError(f"log format must be json or text, got {format!r}")
    if level.lower() not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}, got {level!r}")
    unconfigure_logging()
    known = [secret for secret in secrets if secret]
    handler = _StderrHandler()
    setattr(handler, _MARK, True)
    inner = JsonFormatter() if format == "json" else TextFormatter()
    handler.setFormatter(_Redacting(inner, known))
    handler.addFilter(RedactingFilter(known))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(LEVELS[level.lower()])


def unconfigure_logging() -> None:
    """Remove the governor's handler (tests, and a daemon shutting down)."""
    root = logging.getLogger()
    for handler in [handler for handler in root.handlers if getattr(handler, _MARK, False)]:
        root.removeHandler(handler)
        handler.close()
