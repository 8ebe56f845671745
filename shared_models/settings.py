"""Shop settings: five capabilities, their defaults, how a shop's stored
overrides become the effective document, and plan gating (what a plan may turn
on, and what sending ignores after a downgrade). Field rules live in the API's
schemas (api_service.settings.schemas)."""
from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from typing import Any, TypedDict, cast

import asyncpg
import phonenumbers

from shared_models.plans import PLANS

CAPABILITIES = ("channels", "delivery", "compliance", "tagging", "alerts")


# The effective document's shape, mirroring DEFAULTS (tests/test_typed_rows.py
# holds the two together). TypedDicts, not dataclasses: the document is JSON
# (stored overrides merged over DEFAULTS, the API's responses), and a job's
# rules read it per signup, so it stays the dict it is, at no cost. Field
# rules (lengths, ranges) are the API's schemas' (api_service.settings.schemas).
class EmailChannel(TypedDict):
    enabled: bool
    sender_name: str | None
    reply_to: str | None
    subject: str


class Channel(TypedDict):
    enabled: bool


class Channels(TypedDict):
    email: EmailChannel
    sms: Channel
    push: Channel


class Reminders(TypedDict):
    enabled: bool
    after_days: list[int]


class Delivery(TypedDict):
    auto_send: bool
    min_restock_quantity: int
    batch_size: int | None
    batch_interval_minutes: int
    order: str  # shared_models.jobs.ORDER_SQL's keys
    skip_if_sold_out: bool
    only_when_published: bool
    location_ids: list[int]
    reminders: Reminders


class Compliance(TypedDict):
    optin_required: bool
    sms_allowed_countries: list[str]
    data_retention_days: int | None


class OrderTag(TypedDict):
    enabled: bool
    tag: str


class Tagging(TypedDict):
    order_tag: OrderTag
    customer_tags: list[str]


class HighDemand(TypedDict):
    enabled: bool
    threshold: int


class UsageWarning(TypedDict):
    enabled: bool
    percent: int


class ReportEmails(TypedDict):
    frequency: str  # off, daily, weekly, monthly
    recipients: list[str]


class Alerts(TypedDict):
    high_demand: HighDemand
    usage_warning: UsageWarning
    report_emails: ReportEmails


class Settings(TypedDict):
    channels: Channels
    delivery: Delivery
    compliance: Compliance
    tagging: Tagging
    alerts: Alerts


# What a shop stores: any part of the document, JSON as the API validated it.
Overrides = dict[str, Any]

DEFAULTS: Settings = {
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


def effective(overrides: Overrides | None) -> Settings:
    return cast(Settings, deep_merge(cast(dict[str, Any], DEFAULTS), overrides or {}))


async def load_effective(conn: asyncpg.Connection | asyncpg.Pool, shop_id: uuid.UUID) -> Settings:
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


def sending_settings(overrides: Overrides | None, plan: str) -> Settings:
    """The settings a job applies: effective, and as the shop's plan allows
    them now (see applicable). A dispatcher job reads the shop with its
    overrides once (shared_models.context.read_shop) and takes them from
    Shop.sending_settings, computed once per Shop."""
    return applicable(effective(overrides), plan)


def applicable(settings: Settings, plan: str) -> Settings:
    """The effective settings as sending must apply them under `plan`: stored values the
    plan no longer allows (kept after a downgrade) are turned off."""
    allowed = PLANS[plan]
    out = cast(dict[str, Any], copy.deepcopy(settings))
    for gate in GATES:
        if not getattr(allowed, gate.feature) and _get(out, gate.path) is not _ABSENT:
            _set(out, gate.path, gate.off)
    return cast(Settings, out)
