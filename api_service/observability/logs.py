"""Log output for every process: one JSON object per line on stderr (or
plain text), with the fields of the current request or job, and with
anything that looks like a credential masked as a last line of defence."""
from __future__ import annotations

import json
import logging
import re
import sys
from datetime import datetime, timezone
from typing import Any, TextIO

from shared_models.log_context import current_fields

FORMATS = ("json", "text")
HANDLER_NAME = "backinstock"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Attributes every LogRecord has; anything else on a record came from `extra=`
# or from the log context and is written as a field of its own.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
# uvicorn (the MCP sidecar's server) repeats each message with terminal colours.
_STANDARD.add("color_message")

# API keys (bis_…) and passwords in URLs (smtp://user:pass@host). Webhook
# secrets and provider tokens have no recognisable shape: they are simply
# never passed to a logger.
_SECRETS = (
    (re.compile(r"bis_[A-Za-z0-9_-]{6,}"), "bis_[redacted]"),
    (re.compile(r"(?<=://)([^/\s:@]*):[^/\s@]+@"), r"\1:[redacted]@"),
)


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def _clean(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class ContextFilter(logging.Filter):
    """Copies the current request's or job's fields onto each record (as the
    line is logged, in the logging task's context)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in current_fields().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {key: value for key, value in vars(record).items()
            if key not in _STANDARD and not key.startswith("_")}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, timezone.utc)
        out: dict[str, Any] = {
            "time": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key, value in extra_fields(record).items():
            out.setdefault(key, _clean(value))
        if record.exc_info:
            out["exception"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            out["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(out, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The classic line, then the context fields as key=value."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = " ".join(f"{key}={value}" for key, value in extra_fields(record).items())
        return redact(f"{line} [{fields}]" if fields else line)


def make_handler(log_format: str, stream: TextIO) -> logging.Handler:
    if log_format not in FORMATS:
        raise ValueError(f"LOG_FORMAT must be json or text, got {log_format!r}")
    handler = logging.StreamHandler(stream)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(ContextFilter())
    return handler


def configure_logging(log_format: str, level: int, stream: TextIO | None = None) -> logging.Handler:
    """Root logging as config.logs says (LOG_FORMAT, LOG_LEVEL); a second call
    replaces the first one's handler."""
    handler = make_handler(log_format, stream or sys.stderr)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # pgserver narrates every step at INFO, arq every job and cron tick (every
    # 10 s for order tags): their warnings are enough; our own loggers say what ran.
    for chatty in ("pgserver", "arq.worker"):
        logging.getLogger(chatty).setLevel(max(level, logging.WARNING))
    return handler
