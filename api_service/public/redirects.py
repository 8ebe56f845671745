"""Where a click on a tracked link lands: the variant's URL when it is on one of
the shop's domains, else the shop's own product page; with UTM parameters."""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

UTM_KEYS = ("utm_source", "utm_medium", "utm_content")
UTM_SOURCE = "back_in_stock"


def _host(value: str) -> str:
    return value.strip().lower().rstrip(".")


def safe_product_url(url: str | None, domains: Iterable[str]) -> str | None:
    """`url` rebuilt from its parsed parts if it is http(s) on one of `domains`, else None.
    Rebuilding means the Location we send is exactly what was checked; userinfo and
    backslashes are refused because browsers and parsers disagree on their host."""
    if not url or any(ch in url for ch in "\\\r\n\t ") or not url.isprintable():
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or "@" in parts.netloc or not parts.hostname:
        return None
    host = _host(parts.hostname)
    if host not in {_host(d) for d in domains if d}:
        return None
    netloc = host if port is None else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, parts.fragment))


def fallback_url(domain: str, variant_id: int, handle: str | None) -> str:
    if handle:
        return f"https://{domain}/products/{quote(handle, safe='')}?variant={variant_id}"
    return f"https://{domain}/products?variant={variant_id}"


def with_utm(url: str, channel: str, notification_id: uuid.UUID) -> str:
    """Our UTM parameters added to the query (replacing any UTM keys of ours already there)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in UTM_KEYS]
    query += [("utm_source", UTM_SOURCE), ("utm_medium", channel), ("utm_content", str(notification_id))]
    return urlunsplit(parts._replace(query=urlencode(query)))


def click_target(*, url: str | None, domain: str, storefront_domains: Iterable[str], variant_id: int,
                 handle: str | None, channel: str, notification_id: uuid.UUID) -> str:
    target = safe_product_url(url, (domain, *storefront_domains)) or fallback_url(domain, variant_id, handle)
    return with_utm(target, channel, notification_id)
