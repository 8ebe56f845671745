"""Reading Shopify payload values defensively: webhooks are input like any other."""
from __future__ import annotations

import datetime as dt
from typing import Any


INT64 = 2**63
INT32 = 2**31

# A JSON object from outside: a Shopify webhook's body, an Admin API or
# provider reply. Its values are whatever the sender put there, so they stay
# untyped and are read field by field with the helpers below (or isinstance
# checks) where they are used. Also the JSON documents we build for output
# (reports, data-request exports), which are only ever serialised.
JsonObject = dict[str, Any]


def as_int(value: Any, bound: int = INT64) -> int | None:
    """An integer that fits the column it goes to (bigint unless `bound` says
    otherwise: INT32 for integer columns); anything else is None, as if absent."""
    if isinstance(value, bool):
        return None
    # isascii: "²".isdigit() is true, yet int("²") raises.
    if (isinstance(value, str) and 0 < len(value) <= 24 and value.isascii()
            and value.strip().lstrip("-").isdigit()):
        value = int(value)
    if isinstance(value, int) and -bound <= value < bound:
        return value
    return None


def as_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
        # At the calendar's ends (0001-01-01+14:00) there is no UTC instant to store.
        return parsed.astimezone(dt.timezone.utc)
    except (ValueError, OverflowError):
        return None


def as_text(value: Any, limit: int = 500) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None
