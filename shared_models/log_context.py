"""Fields every log line of one request or one job carries (request_id,
action, shop_id, job_id), held in a context variable: asyncio copies it into
the tasks a request or job starts, so nobody passes it around."""
from __future__ import annotations

import contextlib
from collections import ChainMap
from contextvars import ContextVar
from typing import Any, Iterator, Mapping

_FIELDS: ContextVar[Mapping[str, Any]] = ContextVar("backinstock_log_fields", default={})


def current_fields() -> dict[str, Any]:
    return {key: value for key, value in _FIELDS.get().items() if value is not None}



@contextlib.contextmanager
def bound(fields: Mapping[str, Any]) -> Iterator[None]:
    """Log lines inside the block carry `fields` on top of those bound outside.
    The mapping is read when a line is logged, not copied: the API binds a view
    of its request, so the action named later in the request still shows."""
    outer = _FIELDS.get()
    token = _FIELDS.set(ChainMap(fields, outer) if outer else fields)  # type: ignore[arg-type]
    try:
        yield
    finally:
        _FIELDS.reset(token)
