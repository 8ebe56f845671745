"""What the CLI writes: results as one JSON line on stdout, everything else
(logs, errors) on stderr, so scripts can read stdout as data."""
from __future__ import annotations

import json
import logging
import sys
from typing import Any

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


def setup_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(stream=sys.stderr, level=level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # pgserver narrates every step at INFO; its warnings are enough.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
