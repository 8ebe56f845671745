"""Points where later issues plug in work the API itself does not do."""
from __future__ import annotations

from typing import Any

from api_service.context import Connections, Shop


def needs_optin_confirmation(signup: Any) -> bool:
    return bool(signup["optin_required"]) and signup["optin_confirmed_at"] is None


async def request_optin_confirmation(conns: Connections, shop: Shop, signup: Any) -> None:
    """Send the opt-in confirmation (email or SMS) of a signup just created.

    Called for every new signup that needs_optin_confirmation. The
    dispatcher issue implements it (enqueue the confirmation message, which is
    not an alert: no notification row, no plan usage); until then it does
    nothing and the signup simply waits unconfirmed.
    """
    return None
