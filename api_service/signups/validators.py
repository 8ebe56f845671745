"""Field types and checks for signup input: phone numbers, countries, locales,
product links on the shop's own domains."""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from marshmallow import ValidationError, fields

from shared_models.contacts import normalize_phone

# ISO 3166-1 alpha-2: every region libphonenumber knows (which includes the
# codes Shopify uses, XK among them) plus the territories without a phone plan.
COUNTRY_CODES = frozenset(phonenumbers.SUPPORTED_REGIONS) | {"AQ", "BV", "GS", "HM", "PN", "TF", "UM"}

# BCP 47-ish: "en", "pt-BR", "zh_Hant_TW"; Shopify locales fit this.
LOCALE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8}){0,3}$")

class Phone(fields.String):
    """A valid international number, loaded as E.164. Separators are accepted."""

    default_error_messages = {"phone": "Must be a valid phone number in E.164 format (+14155550123)."}

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("metadata", {})
        kwargs["metadata"].setdefault(
            "jsonschema", {"type": "string", "description": "E.164 phone number, e.g. +14155550123"})
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) > 40:
            raise self.make_error("phone")
        normalized = normalize_phone(text)
        if normalized is None:
            raise self.make_error("phone")
        return normalized


class CountryCode(fields.String):
    """ISO 3166-1 alpha-2, case-insensitive on input, upper case once loaded."""

    default_error_messages = {"country": "Must be an ISO 3166-1 alpha-2 country code (e.g. US)."}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).upper()
        if text not in COUNTRY_CODES:
            raise self.make_error("country")
        return text


def check_locale(value: str) -> None:
    if not LOCALE.match(value):
        raise ValidationError("Must be a locale such as en or pt-BR.")


# Backslashes, blanks and credentials make browsers and parsers disagree on the
# host (`https://evil.com\@shop.com/`): such links are refused outright.
UNSAFE_URL = re.compile(r"[\\\s\x00-\x1f\x7f]")


def check_http_url(value: str) -> None:
    try:
        parts = urlsplit(value)
        ok = (parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
              and "@" not in parts.netloc and not UNSAFE_URL.search(value))
    except ValueError:  # e.g. a malformed IPv6 host
        ok = False
    if not ok:
        raise ValidationError("Must be an http(s) URL.")


def url_on_domains(url: str, domains: tuple[str, ...]) -> bool:
    """True when the URL's host is exactly one of the shop's domains (any case)."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    return host is not None and host.lower().rstrip(".") in {d.lower() for d in domains}
