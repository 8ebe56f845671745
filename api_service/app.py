"""create_app: one root app, routes from the registry, connections in cleanup_ctx."""
from __future__ import annotations

from typing import Any, AsyncIterator

from aiohttp import web
from aiohttp_apigami import AiohttpApiSpec
from aiohttp_apigami.constants import SWAGGER_DICT
from aiohttp_apigami.swagger_ui import SWAGGER_UI_STATIC_FILES
from redis.asyncio import Redis

from api_service import intake_limits
from api_service.auth import KEY_CACHE, KeyCache
from api_service.context import CONNECTIONS, Connections
from api_service.meta import handlers as meta, openapi
from api_service.middleware import add_common_headers, error_middleware
from api_service.observability import metrics as observability_metrics
from api_service.observability.middleware import observe_middleware
from api_service.public import routes as public_routes
from api_service.storefront import handlers as storefront
from api_service.v1 import routes as v1_routes
from api_service.webhooks import handlers as webhooks
from api_service.ratelimit import RateLimiter
from api_service.registry import BASE_PATH, Action, all_actions
from api_service.reports.export_slots import EXPORT_SLOTS, ExportSlots
from api_service.routing import RATE_LIMITER, make_handler
from shared_models import breaker
from shared_models.chains import Chains
from shared_models.config import Config
from shared_models.db import create_pool
from shared_models.queue import ENQUEUE_TIMEOUT, Queue

CONFIG = web.AppKey("config", Config)
CHAINS = web.AppKey("chains", Chains)
MAX_BODY = 1024 * 1024

ERRORS_SCHEMA = {
    "type": "object",
    "required": ["errors"],
    "properties": {
        "errors": {"type": "array", "items": {"type": "string"}},
        "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
}


async def connections_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    pool = await create_pool(config.database_url, min_size=config.db_pool_min, max_size=config.db_pool_max,
                             acquire_timeout=config.db_acquire_timeout_seconds)
    # Short: the API's Redis calls (rate limits, /readyz) must not wait on a hung Redis.
    redis = Redis.from_url(config.redis_url, socket_connect_timeout=1, socket_timeout=1)
    hung = breaker.for_client(redis, config.rate_limit_redis_timeout_seconds)
    queue = Queue(config.redis_url, config.queue_name, timeout=ENQUEUE_TIMEOUT, breaker=hung)
    conns = Connections(config=config, pool=pool, redis=redis, queue=queue, chains=app[CHAINS])
    app[CONNECTIONS] = conns
    app[RATE_LIMITER] = RateLimiter(redis, config.rate_limit_per_second, config.rate_limit_burst)
    app[KEY_CACHE] = KeyCache()
    try:
        yield
    finally:
        await queue.close()
        await redis.aclose()
        await pool.close()


def add_action_routes(app: web.Application, actions: list[Action]) -> None:
    for action in actions:
        app.router.add_route(action.method, action.full_path, make_handler(action))


# The document is a function of the registry's actions and the routes alone:
# built once per process for each (the test suite makes hundreds of apps, and
# building it was a quarter of their CPU), served to every app read-only.
_DOCUMENTS: dict[tuple, dict[str, Any]] = {}


def new_spec() -> AiohttpApiSpec:
    """apigami collects the decorated handlers (actions, v1, storefront); meta.openapi adds the rest."""
    spec = AiohttpApiSpec(
        url="",  # served by openapi_view below, from _DOCUMENTS
        title=openapi.TITLE,
        version="v2",
        swagger_path=None,  # our own page below: titled after the product
        openapi_version="3.0.3",
        info={"description": "Waitlists, alerts, settings and reports for back-in-stock notifications: the "
                             "v2 actions (also MCP tools), the deprecated v1 aliases, the storefront signup, "
                             "the Shopify webhook, the public pages and the operational endpoints. "
                             "The project's own reference is docs/API.md."},
        components={"securitySchemes": {"ApiKey": {"type": "apiKey", "in": "header", "name": "X-Auth-Token"}}},
        security=[{"ApiKey": []}],
    )
    spec.spec.components.schema("Errors", ERRORS_SCHEMA)
    return spec


def setup_openapi(app: web.Application, actions: list[Action]) -> None:
    """One document for the whole surface, at BASE_PATH/openapi.json."""
    async def build_document(app_: web.Application) -> None:
        routes = tuple(sorted((r.method, r.resource.canonical) for r in app_.router.routes() if r.resource))
        key = (tuple(actions), routes)
        if key not in _DOCUMENTS:
            new_spec().register(app_, in_place=True)  # sets app_[SWAGGER_DICT]
            served = {resource.canonical for resource in app_.router.resources()}
            app_[SWAGGER_DICT]["paths"].update(openapi.outside_paths(actions, served))
            _DOCUMENTS[key] = app_[SWAGGER_DICT]
        app_[SWAGGER_DICT] = _DOCUMENTS[key]

    async def openapi_view(request: web.Request) -> web.Response:
        return web.json_response(request.app[SWAGGER_DICT])

    app.router.add_get(BASE_PATH + "/openapi.json", openapi_view)
    app.on_startup.append(build_document)
    static = BASE_PATH + "/docs/static"
    app.router.add_static(static, SWAGGER_UI_STATIC_FILES)
    page = openapi.docs_page((SWAGGER_UI_STATIC_FILES / "index.html").read_text(), BASE_PATH + "/openapi.json",
                             static)

    async def docs_view(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

    app.router.add_get(BASE_PATH + "/docs", docs_view)


def create_app(config: Config, actions: list[Action] | None = None) -> web.Application:
    # observe_middleware outermost: it sees the status error_middleware settles on.
    app = web.Application(middlewares=[observe_middleware, error_middleware], client_max_size=MAX_BODY)
    app[CONFIG] = config
    app[CHAINS] = Chains.of(config.dispatch)  # notify and bulk_notify start chains as restocks do
    app[EXPORT_SLOTS] = ExportSlots(config.export_max_per_shop, config.export_max_concurrent)
    app.cleanup_ctx.append(connections_ctx)
    actions = all_actions() if actions is None else actions
    meta.add_routes(app, actions)
    observability_metrics.add_routes(app)  # GET /metrics, no key
    add_action_routes(app, actions)
    v1_routes.add_routes(app, actions)  # the registry's v1 aliases and the storefront signup
    public_routes.add_routes(app)
    storefront.add_routes(app)  # the widget's script and config
    webhooks.add_routes(app)
    intake_limits.setup(app)
    setup_openapi(app, actions)
    app.on_response_prepare.append(add_common_headers)
    return app
