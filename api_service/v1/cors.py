"""CORS of the storefront signup: only the shop's own origins
(https://<myshopify domain> and https://<each storefront domain>)."""
from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from aiohttp import web

CORS_HEADERS = web.RequestKey("cors_headers", dict)  # set on the response, errors included
ALLOW_METHODS = "POST"
ALLOW_HEADERS = "Content-Type, X-Shopify-Shop-Domain"
MAX_AGE = "600"


def origin_host(origin: str | None) -> str | None:
    """The host of an `https://host` origin (no port, path or credentials), else None."""
    if not origin:
        return None
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme != "https" or port is not None or parts.path or parts.query or "@" in parts.netloc:
        return None
    return parts.hostname


def allowed(origin: str | None, domains: Iterable[str]) -> bool:
    host = origin_host(origin)
    return host is not None and host in {d.lower() for d in domains}


def response_headers(origin: str) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": "Retry-After",
            "Vary": "Origin"}


def preflight_headers(origin: str) -> dict[str, str]:
    return {**response_headers(origin), "Access-Control-Allow-Methods": ALLOW_METHODS,
            "Access-Control-Allow-Headers": ALLOW_HEADERS, "Access-Control-Max-Age": MAX_AGE}


async def add_cors_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in request.get(CORS_HEADERS, {}).items():
        response.headers[name] = value
