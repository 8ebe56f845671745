"""The API's Prometheus metrics: requests by action and status, and their
latency. One registry per app (not prometheus_client's global one), so tests
can build several apps in one process."""
from __future__ import annotations

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram

from shared_models.exposition import exposition
from api_service.registry import BASE_PATH
from api_service.routing import ACTION_NAME

# Labels for routes that are not registry actions: a fixed few, never the raw
# path (tokens in /t/…, /u/…, and unbounded junk from scanners).
META_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "backinstock_api_requests", "HTTP requests answered, by action and status",
            ["action", "status"], registry=self.registry)
        self.latency = Histogram(
            "backinstock_api_request_duration_seconds", "Time to answer a request, by action",
            ["action"], registry=self.registry)
        # Signed webhooks whose payload doesn't fit their topic (api_service/webhooks/shapes.py).
        self.webhooks_suspicious = Counter(
            "backinstock_webhooks_suspicious", "Signed webhooks ignored: payload not of the topic's shape "
            "or not naming this shop", ["topic", "reason"], registry=self.registry)

    def observe(self, action: str, status: int, seconds: float) -> None:
        self.requests.labels(action, str(status)).inc()
        self.latency.labels(action).observe(seconds)


API_METRICS = web.AppKey("api_metrics", ApiMetrics)


def route_template(request: web.Request) -> str | None:
    """The matched route's path with its placeholders ("/t/{token}"), or None."""
    info = request.match_info
    resource = info.route.resource
    if getattr(info, "http_exception", None) is not None or resource is None:
        return None
    return resource.canonical


def action_label(request: web.Request) -> str:
    """The registry action's name, else: meta (health, metrics, help), docs
    (OpenAPI, Swagger UI), webhook, public (pages, storefront signup) or
    unmatched."""
    action = request.get(ACTION_NAME)
    if action:
        return action
    template = route_template(request)
    if template is None:
        return "unmatched"
    if template in META_PATHS or template.endswith("/help"):
        return "meta"
    if template.startswith("/webhooks/"):
        return "webhook"
    if template.startswith(BASE_PATH + "/"):
        return "docs"
    return "public"


async def metrics_handler(request: web.Request) -> web.Response:
    return exposition(request.app[API_METRICS].registry)


def add_routes(app: web.Application) -> None:
    app[API_METRICS] = ApiMetrics()
    app.router.add_get("/metrics", metrics_handler)
