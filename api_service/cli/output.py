"""What the CLI writes: results as one JSON line on stdout, everything else
(logs, errors) on stderr, so scripts can read stdout as data."""
from __future__ import annotations

import json
import sys
from typing import Any

from api_service.observability.logs import configure_logging
from shared_models.config import Logs

PROG = "backinstock"


class CliError(Exception):
    """A refusal the operator can act on: one line on stderr, then `code`."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


def emit(result: Any) -> None:
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


def fail_line(message: str) -> None:
    # One line, whatever the exception text held.
    sys.stderr.write(f"{PROG}: {' '.join(str(message).split())}\n")
    sys.stderr.flush()


def setup_logging(logs: Logs, development: bool) -> None:
    """Logs on stderr as LOG_FORMAT and LOG_LEVEL say; unset, JSON, or text
    lines for a person at a terminal (`development`)."""
    configure_logging(logs.format_for(development), logs.level, sys.stderr)
