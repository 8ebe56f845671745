"""Shop settings: five capabilities, their defaults, how a shop's stored
overrides become the effective document, and plan gating (what a plan may turn
on, and what sending ignores after a downgrade). Field rules live in the API's
schemas (api_service.settings.schemas)."""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import phonenumbers

from shared_models.plans import PLANS

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
# A shop with its stored overrides in one round trip: what a dispatcher job
# reads once (a send job's chunk, a webhook event, a merchant email) and then
# hands to everything it calls, which reads sending_settings(shop), never the
# database again.
SHOP_WITH_OVERRIDES = """
SELECT sh.*, st.overrides AS settings_overrides
FROM shops sh LEFT JOIN settings st ON st.shop_id = sh.shop_id
WHERE sh.shop_id = $1
"""


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


# Codes that compliance.sms_allowed_countries accepts: the ISO 3166-1 alpha-2 codes
# phone numbers are issued under (what an SMS recipient's number resolves to).
COUNTRY_CODES = frozenset(phonenumbers.SUPPORTED_REGIONS)


@dataclass(frozen=True)
class Gate:
    """A setting only some plans may turn on. `off` is the value every plan allows."""

    path: tuple[str, ...]
    feature: str  # the shared_models.plans.Plan flag
    off: Any
    message: str  # formatted with the shop's {plan}


def _paid_plans(feature: str) -> str:
    return ", ".join(name for name, plan in PLANS.items() if getattr(plan, feature))


GATES = (
    Gate(("delivery", "batch_size"), "batching", None,
         f"Batching needs a paid plan ({_paid_plans('batching')}); this shop is on the {{plan}} plan. "
         "Use null to send to everyone at once."),
    Gate(("channels", "sms", "enabled"), "sms", False,
         f"SMS needs a paid plan ({_paid_plans('sms')}); this shop is on the {{plan}} plan."),
)
_ABSENT = object()  # a path the document does not have


def _get(doc: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(doc, dict) or key not in doc:
            return _ABSENT
        doc = doc[key]
    return doc


def _set(doc: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        doc = doc[key]
    doc[path[-1]] = value


def plan_errors(current: dict[str, Any], patch: dict[str, Any], plan: str) -> dict[str, list[str]]:
    """The gated values `patch` turns on that `plan` does not allow, by dotted path from
    the settings root. Only values being changed count: a stored value a downgrade no
    longer allows may be sent again unchanged, and never blocks other changes."""
    allowed = PLANS[plan]
    errors: dict[str, list[str]] = {}
    for gate in GATES:
        value = _get(patch, gate.path)
        if value is _ABSENT or value == gate.off or getattr(allowed, gate.feature):
            continue
        if value != _get(current, gate.path):
            errors[".".join(gate.path)] = [gate.message.format(plan=plan)]
    return errors


def sending_settings(shop: Any) -> dict[str, Any]:
    """The settings a job applies, from a shop read with SHOP_WITH_OVERRIDES:
    effective, and as the shop's plan allows them now (see applicable)."""
    return applicable(effective(shop["settings_overrides"]), shop["plan"])


def applicable(settings: dict[str, Any], plan: str) -> dict[str, Any]:
    """The effective settings as sending must apply them under `plan`: stored values the
    plan no longer allows (kept after a downgrade) are turned off."""
    allowed = PLANS[plan]
    out = copy.deepcopy(settings)
    for gate in GATES:
        if not getattr(allowed, gate.feature) and _get(out, gate.path) is not _ABSENT:
            _set(out, gate.path, gate.off)
    return out
