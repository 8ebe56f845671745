"""Plans and what each allows."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    name: str
    monthly_alerts: int | None  # None: no limit
    batching: bool
    sms: bool


PLANS: dict[str, Plan] = {
    "free": Plan("free", 50, batching=False, sms=False),
    "lite": Plan("lite", 1_000, batching=True, sms=True),
    "pro": Plan("pro", 10_000, batching=True, sms=True),
    "unlimited": Plan("unlimited", None, batching=True, sms=True),
}
PLAN_NAMES = tuple(PLANS)
