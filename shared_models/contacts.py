"""How contacts are compared: one rule for the API's validation, erasure's
matching and consent's suppression list. Phones are E.164; emails compare
lower-cased; push tokens as they are."""
from __future__ import annotations

import re

import phonenumbers

# Separators people type inside a number; the phone list filter ignores them too.
PHONE_SEPARATORS = re.compile(r"[\s().-]")


def normalize_phone(value: str) -> str | None:
    """E.164 (`+14155550123`) if `value` is a valid international number, else None."""
    compact = PHONE_SEPARATORS.sub("", value)
    if not compact.startswith("+") or not compact[1:].isdigit():
        return None
    try:
        parsed = phonenumbers.parse(compact, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)

