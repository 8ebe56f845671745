"""GET /help (and /<scope>/help), /llms.txt, /healthz, /readyz."""
from __future__ import annotations

import asyncio

from aiohttp import web

from api_service.auth import Principal
from api_service.context import CONNECTIONS
from shared_models.errors import Unprocessable
from api_service.meta import llms
from api_service.registry import BASE_PATH, Action
from api_service.routing import authorize, json_response

ACTIONS = web.AppKey("actions", list)


def help_body(actions: list[Action], prefix: str | None, principal: Principal | None = None) -> dict:
    """`key` says what the caller's key may do, so that a client (the MCP
    sidecar) can offer a read-only key only the actions it may call."""
    chosen = [a for a in actions if prefix is None or a.path.startswith(prefix)]
    body = {"version": "v2", "base_path": BASE_PATH, "actions": [a.help_entry() for a in chosen]}
    if principal is not None:
        body["key"] = {"read_only": principal.read_only}
    return body


def _refuse_unknown(request: web.Request, known: tuple[str, ...]) -> None:
    """Like every action's query schema: an unknown parameter is a mistake worth saying."""
    unknown = sorted(set(request.query) - set(known))
    if unknown:
        raise Unprocessable.from_fields({name: ["Unknown field."] for name in unknown})


async def help_all(request: web.Request) -> web.Response:
    principal = await authorize(request, write=False)
    _refuse_unknown(request, ("prefix",))
    prefix = request.query.get("prefix")
    if prefix is not None and not prefix.startswith("/"):
        raise Unprocessable.from_fields({"prefix": ["Must start with '/'."]})
    return json_response(help_body(request.app[ACTIONS], prefix, principal))


def scoped_help(scope: str):
    async def handler(request: web.Request) -> web.Response:
        principal = await authorize(request, write=False)
        _refuse_unknown(request, ())
        return json_response(help_body(request.app[ACTIONS], scope, principal))
    return handler


async def llms_txt(request: web.Request) -> web.Response:
    """Public, like the OpenAPI document it summarises; links use the host the agent asked."""
    origin = f"{request.scheme}://{request.host}"
    return web.Response(text=llms.render(request.app[ACTIONS], origin), content_type="text/plain",
                        charset="utf-8")


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


READY_ACQUIRE_SECONDS = 1.0


async def readyz(request: web.Request) -> web.Response:
    conns = request.app[CONNECTIONS]
    checks = {}
    try:
        # Its own short acquisition: with every connection held, "not ready" at once.
        async with conns.pool.acquire(timeout=READY_ACQUIRE_SECONDS) as conn:
            await conn.fetchval("SELECT 1", timeout=2)
        checks["postgres"] = "ok"
    except Exception as exc:  # any failure means not ready
        checks["postgres"] = f"unavailable: {type(exc).__name__}"
    try:
        await asyncio.wait_for(conns.redis.ping(), READY_ACQUIRE_SECONDS)
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"unavailable: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return json_response({"status": "ok" if ok else "unavailable", "checks": checks}, 200 if ok else 503)


def add_routes(app: web.Application, actions: list[Action]) -> None:
    app[ACTIONS] = actions
    app.router.add_get(BASE_PATH + "/help", help_all)
    for scope in sorted({a.scope for a in actions}):
        app.router.add_get(f"{BASE_PATH}/{scope}/help", scoped_help("/" + scope))
    app.router.add_get("/llms.txt", llms_txt)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
