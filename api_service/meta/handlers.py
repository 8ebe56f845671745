"""GET /help (and /<scope>/help), /healthz, /readyz."""
from __future__ import annotations

from aiohttp import web

from api_service.context import CONNECTIONS
from api_service.errors import Unprocessable
from api_service.registry import BASE_PATH, Action
from api_service.routing import authorize, json_response

ACTIONS = web.AppKey("actions", list)


def help_body(actions: list[Action], prefix: str | None) -> dict:
    chosen = [a for a in actions if prefix is None or a.path.startswith(prefix)]
    return {"version": "v2", "base_path": BASE_PATH,
            "actions": [a.help_entry() for a in chosen]}


async def help_all(request: web.Request) -> web.Response:
    await authorize(request, write=False)
    prefix = request.query.get("prefix")
    if prefix is not None and not prefix.startswith("/"):
        raise Unprocessable.from_fields({"prefix": ["Must start with '/'."]})
    return json_response(help_body(request.app[ACTIONS], prefix))


def scoped_help(scope: str):
    async def handler(request: web.Request) -> web.Response:
        await authorize(request, write=False)
        return json_response(help_body(request.app[ACTIONS], scope))
    return handler


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    conns = request.app[CONNECTIONS]
    checks = {}
    try:
        await conns.pool.fetchval("SELECT 1", timeout=2)
        checks["postgres"] = "ok"
    except Exception as exc:  # any failure means not ready
        checks["postgres"] = f"unavailable: {type(exc).__name__}"
    try:
        await conns.redis.ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"unavailable: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return json_response({"status": "ok" if ok else "unavailable", "checks": checks}, 200 if ok else 503)


def add_routes(app: web.Application, actions: list[Action]) -> None:
    app[ACTIONS] = actions
    app.router.add_get(BASE_PATH + "/help", help_all)
    for scope in sorted({"/" + a.path.strip("/").split("/")[0] for a in actions}):
        app.router.add_get(f"{BASE_PATH}{scope}/help", scoped_help(scope))
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
