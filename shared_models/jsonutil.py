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


__all__ = ["dumps", "dumps_str", "loads", "isoformat", "uuid"]
