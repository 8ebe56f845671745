"""The v1 routes, built from the registry: no table of their own.

Each action's `v1` (registry.V1Alias: v1's method and path, schemas, adapter
and statuses) is served through run_action (auth, rate limit, idempotency,
errors) as that action under v1's names. `ROUTES` is the registry's
declarations read back, keyed by alias ("POST /api/v1/external/intents")."""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from api_service.meta.operations import document_action
from api_service.registry import BASE_PATH, V1_BASE_PATH, Action, V1Alias, all_actions
from api_service.routing import run_action
from api_service.v1 import storefront
from api_service.v1.successor import SUCCESSOR, deprecation_headers, successor_path

TAG = "v1 (deprecated)"
RESOURCE = "Intent"  # what v1 calls a signup, in its 404s


def declared(actions: list[Action]) -> list[tuple[V1Alias, Action]]:
    """(v1 alias, v2 action) for every action declaring one, static paths first
    so that /intents/products_in_demand is never taken for /intents/{id}."""
    found = [(action.v1, action) for action in actions if action.v1 is not None]
    return sorted(found, key=lambda pair: "{" in pair[0].path)


ROUTES: dict[str, V1Alias] = {v1.alias: v1 for v1, _ in declared(all_actions())}


def as_v1(v2: Action) -> Action:
    """The v2 action under v1's declaration: run_action then authorizes by v1's
    method (DELETE bulk_destroy is a write), validates v1's names and answers
    JSON only (v1 had no CSV)."""
    v1 = v2.v1
    assert v1 is not None
    return dataclasses.replace(
        v2, name=v1.operation_id, method=v1.method, path=V1_BASE_PATH + v1.path, resource=RESOURCE,
        handler=functools.partial(v1.adapter, v2=v2), path_schema=v1.path_schema,
        query_schema=v1.query_schema, body_schema=v1.body_schema, body_partial=False,
        body_errors_to_handler=False, status=v1.status, other_statuses=v1.other_statuses, v1=None,
        notes="", formats=("json",))


def _deprecation_doc(v2: Action) -> dict[str, Any]:
    """The headers every v1 success carries, as OpenAPI response headers."""
    return {"Deprecation": {"description": "Always true: v1 is deprecated",
                            "schema": {"type": "string", "enum": ["true"]}},
            "Link": {"description": f'<{BASE_PATH}{v2.path}>; rel="successor-version"',
                     "schema": {"type": "string"}}}


@functools.cache  # as routing.make_handler: documented once per action per process, not per app
def make_handler(v2: Action) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    action = as_v1(v2)

    async def handler(request: web.Request) -> web.StreamResponse:
        request[SUCCESSOR] = successor_path(v2, request.match_info)
        return await run_action(action, request)

    handler.__name__ = action.name
    summary = v2.v1.summary if v2.v1 is not None else ""
    return document_action(
        handler, action, tags=[TAG], deprecated=True, summary=summary,
        description=(f"Deprecated: use {v2.method} {BASE_PATH}{v2.path} ({v2.name}), which serves this "
                     f"call. {summary}"),
        success_headers=_deprecation_doc(v2))


def add_routes(app: web.Application, actions: list[Action]) -> None:
    for v1, v2 in declared(actions):
        app.router.add_route(v1.method, V1_BASE_PATH + v1.path, make_handler(v2))
    app.on_response_prepare.append(deprecation_headers)
    storefront.add_routes(app)
