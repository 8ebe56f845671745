"""Shop settings: five capabilities, their defaults, and how a shop's stored
overrides become the effective document. Validation lives beside them."""
from __future__ import annotations

import copy
from typing import Any

CAPABILITIES = ("channels", "delivery", "compliance", "tagging", "alerts")

DEFAULTS: dict[str, Any] = {
    "channels": {
        "email": {"enabled": True, "sender_name": None, "reply_to": None,
                  "subject": "{{ product_title }} is back in stock"},
        "sms": {"enabled": False},
        "push": {"enabled": False},
    },
    "delivery": {
        "auto_send": True, "min_restock_quantity": 1, "batch_size": None,
        "batch_interval_minutes": 60, "order": "oldest_first", "skip_if_sold_out": True,
        "only_when_published": False, "location_ids": [],
        "reminders": {"enabled": False, "after_days": [3]},
    },
    "compliance": {"optin_required": False, "sms_allowed_countries": [], "data_retention_days": None},
    "tagging": {"order_tag": {"enabled": True, "tag": "back-in-stock"}, "customer_tags": []},
    "alerts": {
        "high_demand": {"enabled": False, "threshold": 25},
        "usage_warning": {"enabled": True, "percent": 80},
        "report_emails": {"frequency": "off", "recipients": []},
    },
}

READ_OVERRIDES = "SELECT overrides FROM settings WHERE shop_id = $1"


def deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Objects merge deeply; arrays, scalars and null replace."""
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def effective(overrides: dict[str, Any] | None) -> dict[str, Any]:
    return deep_merge(DEFAULTS, overrides or {})


async def load_effective(conn: Any, shop_id: Any) -> dict[str, Any]:
    """The shop's settings as they apply now (defaults where unchanged)."""
    return effective(await conn.fetchval(READ_OVERRIDES, shop_id))
