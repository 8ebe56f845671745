"""Why a send does not happen: one check per blocked_reason, in order."""
from __future__ import annotations

from typing import Protocol

import phonenumbers

from shared_models import signup_states
from shared_models.rows.sending import SignupRow
from shared_models.settings import Settings


class Addressed(Protocol):
    """What the channel checks read: a send's signup (SignupRow), or the
    opt-in confirmation's claimed signup (OptinClaimRow)."""

    @property
    def channel(self) -> str: ...

    @property
    def contact(self) -> str: ...


def sms_region(phone: str) -> str | None:
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(phone, None))
    except phonenumbers.NumberParseException:
        return None


def unsubscribed(signup: SignupRow, settings: Settings) -> bool:
    return signup_states.unsubscribed(signup)


def suppressed(signup: SignupRow, settings: Settings) -> bool:
    """The contact is on the shop's suppression list, whichever signup this is."""
    return bool(signup.suppressed)


def channel_disabled(signup: Addressed, settings: Settings) -> bool:
    return not settings["channels"][signup.channel]["enabled"]


def optin_unconfirmed(signup: SignupRow, settings: Settings) -> bool:
    return signup_states.awaiting_optin(signup)


def country_not_allowed(signup: Addressed, settings: Settings) -> bool:
    allowed = settings["compliance"]["sms_allowed_countries"]
    return signup.channel == "sms" and bool(allowed) and sms_region(signup.contact) not in allowed


# Per-signup checks; sold_out and not_published are checked per batch, and
# plan_limit last, when the allowance is taken.
CHECKS = (
    ("unsubscribed", unsubscribed),
    ("unsubscribed", suppressed),
    ("channel_disabled", channel_disabled),
    ("optin_unconfirmed", optin_unconfirmed),
    ("country_not_allowed", country_not_allowed),
)


def blocked_reason(signup: SignupRow, settings: Settings) -> str | None:
    """`settings` are the shop's settings as its plan allows them now."""
    for reason, check in CHECKS:
        if check(signup, settings):
            return reason
    return None
