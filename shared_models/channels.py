"""The channels an alert goes over: the one list, for the API's validation
(signups, notifications and reports filters, v1), the shop settings, the
storefront config and the dispatcher's providers and messages.

PostgreSQL keeps its own copy in CHECK constraints (signups.channel in
sql/001_core.sql, suppressions.channel in sql/025_suppression.sql);
tests/test_channels.py holds those, and every per-channel table in the code,
to this list."""
from __future__ import annotations

CHANNELS = ("email", "sms", "push")
# For descriptions: "email, sms or push".
CHANNELS_TEXT = ", ".join(CHANNELS[:-1]) + " or " + CHANNELS[-1]
