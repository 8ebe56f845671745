"""Prometheus's text format over aiohttp, for the API's and the dispatcher's
/metrics alike (kept apart from the API's metrics so the dispatcher need not
import the API's routing)."""
from __future__ import annotations

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4


def exposition(registry: CollectorRegistry) -> web.Response:
    """Text format 0.0.4: what every Prometheus-compatible scraper reads."""
    return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4})
