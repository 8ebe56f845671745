"""JSON encoding shared by responses and the database codecs."""
from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

import orjson


def _default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def isoformat(value: dt.datetime | None) -> str | None:
    """UTC timestamp with a trailing Z, whole seconds, as the contract shows."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc)
    return value.replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default, option=orjson.OPT_NON_STR_KEYS)


def dumps_str(value: Any) -> str:
    return dumps(value).decode()


def loads(raw: bytes | str) -> Any:
    return orjson.loads(raw)


def nul_path(value: Any, path: str = "") -> str | None:
    """The dotted path of the first key or string holding a NUL ("" for the
    top), or None. PostgreSQL's text and jsonb can't store U+0000, so such input
    is refused where it arrives rather than failing deep in a query."""
    # Iterative: a deeply nested document must not exhaust the stack here.
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return where
        elif isinstance(item, dict):
            for key, child in item.items():
                inner = f"{where}.{key}" if where else str(key)
                if "\x00" in str(key):
                    return inner.replace("\x00", "\\u0000")
                stack.append((child, inner))
        elif isinstance(item, list):
            stack.extend((child, f"{where}.{i}" if where else str(i)) for i, child in enumerate(item))
    return None


__all__ = ["dumps", "dumps_str", "loads", "nul_path", "isoformat", "uuid"]
