"""The v1 routes, one per alias the registry declares on a v2 action.

The registry stays the one place: an alias string there ("POST
/api/v1/external/intents/notify_intent") is served by the adapter this module
maps it to, through run_action (auth, rate limit, idempotency, errors), with
the v1 schemas. An alias without an adapter stops the app from starting."""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp_apigami import docs, json_schema, querystring_schema
from aiohttp_apigami.constants import API_SPEC_ATTR
from marshmallow import Schema

from api_service.context import Call
from api_service.registry import BASE_PATH, V1_BASE_PATH, Action
from api_service.routing import run_action
from api_service.v1 import commands, demand, intents, schemas, storefront
from api_service.v1.successor import SUCCESSOR, deprecation_headers, successor_path

Adapter = Callable[[Call, Action], Awaitable[Any]]
V1 = V1_BASE_PATH + "/intents"
TAG = "v1 (deprecated)"


@dataclass(frozen=True)
class V1Route:
    operation_id: str
    adapter: Adapter
    summary: str
    path_schema: type[Schema] | None = None
    query_schema: type[Schema] | None = None
    body_schema: type[Schema] | None = None
    status: int = 200
    other_statuses: tuple[tuple[int, str], ...] = ()  # documented besides 401/403/404/422/429


# Keyed by the alias strings of the registry (signups/actions.py, reports/actions.py).
ROUTES: dict[str, V1Route] = {
    f"GET {V1}": V1Route(
        "v1_intents_list", intents.list_intents,
        "List intents, newest first: {intents, meta}; per_page up to 500.",
        query_schema=schemas.V1ListQuery),
    f"GET {V1}/products_in_demand": V1Route(
        "v1_intents_products_in_demand", demand.products_in_demand,
        "Variants ranked by waiting intents: {products, meta}; per_page up to 500.",
        query_schema=schemas.V1DemandQuery),
    f"GET {V1}/{{id}}": V1Route(
        "v1_intents_read", intents.read_intent, "Read one intent: {intent}.",
        path_schema=schemas.V1IntentPath),
    f"POST {V1}": V1Route(
        "v1_intents_create", intents.create_intent,
        "Create an intent: 201 {intent}; 200 with the existing one when the customer already waits.",
        body_schema=schemas.V1SignupCreate, status=201,
        other_statuses=((200, "The customer's existing waiting intent"),)),
    f"POST {V1}/notify_intent": V1Route(
        "v1_intents_notify", commands.notify_intent,
        "Queue the alert of one intent: {success: true, intent_id}. 422 already notified, 409 in flight.",
        body_schema=schemas.V1NotifyBody,
        other_statuses=((409, "A send for this intent is already queued or in flight"),)),
    f"POST {V1}/bulk_notify_intent": V1Route(
        "v1_intents_bulk_notify", commands.bulk_notify_intent,
        "Queue the alerts of many intents: {success: [ids], failed: [{intent_id, error}]}; 207 if any failed.",
        body_schema=schemas.V1BulkNotifyBody,
        other_statuses=((207, "Some intents were refused: see failed"),)),
    f"DELETE {V1}/bulk_destroy": V1Route(
        "v1_intents_bulk_destroy", commands.bulk_destroy,
        "Delete never-notified intents, all or nothing: {success: true, deleted_count}; 422 names the "
        "notified ones, 404 when none is known.",
        body_schema=schemas.V1BulkDestroyBody),
    f"POST {V1}/transfer_signups": V1Route(
        "v1_intents_transfer", commands.transfer_signups,
        "Move the intents of one variant to another: {transferred_count, merged_count}.",
        body_schema=schemas.V1TransferBody),
}


def aliases(actions: list[Action]) -> list[tuple[str, Action]]:
    """(alias, v2 action) for every alias in the registry, static paths first
    so that /intents/products_in_demand is never taken for /intents/{id}."""
    found = [(alias, action) for action in actions for alias in action.aliases]
    return sorted(found, key=lambda pair: "{" in pair[0])


def _responses(route: V1Route, method: str, v2: Action) -> dict[str, Any]:
    """As routing._responses for v2, plus the deprecation headers on successes."""
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Errors"}}}}
    headers = {"Deprecation": {"description": "Always true: v1 is deprecated",
                               "schema": {"type": "string", "enum": ["true"]}},
               "Link": {"description": f'<{BASE_PATH}{v2.path}>; rel="successor-version"',
                        "schema": {"type": "string"}}}
    success = {"headers": headers, "content": {"application/json": {"schema": {"type": "object"}}}}
    out: dict[str, Any] = {str(route.status): {"description": "Success", **success}}
    for status, text in route.other_statuses:
        out[str(status)] = {"description": text, **(error if status >= 400 else success)}
    codes = [(401, "Missing or invalid API key"), (404, "Not found"), (422, "Validation error"),
             (429, "Rate limited (see Retry-After)"), (503, "A dependency (PostgreSQL, Redis) is down")]
    if method != "GET":
        codes.append((403, "Read-only key"))
    if route.body_schema is not None:
        codes += [(400, "Malformed JSON"), (413, "Body larger than 1 MiB")]
    if method == "POST":
        codes.append((409, "A request with this Idempotency-Key is still being handled"))
    for status, text in codes:
        out.setdefault(str(status), {"description": text, **error})
    return dict(sorted(out.items()))


def make_handler(alias: str, route: V1Route, v2: Action) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    method, path = alias.split(" ", 1)
    # The v2 action under v1 schemas: run_action then authorizes by v1's method
    # (DELETE bulk_destroy is a write) and validates v1's names.
    action = dataclasses.replace(
        v2, name=route.operation_id, method=method, path=path, resource="Intent",
        handler=functools.partial(route.adapter, v2=v2), path_schema=route.path_schema,
        query_schema=route.query_schema, body_schema=route.body_schema, body_partial=False,
        body_errors_to_handler=False, status=route.status, other_statuses=route.other_statuses, aliases=(),
        notes="")

    async def handler(request: web.Request) -> web.StreamResponse:
        request[SUCCESSOR] = successor_path(v2, request.match_info)
        return await run_action(action, request)

    handler.__name__ = route.operation_id
    decorated: Any = handler
    if route.body_schema is not None:
        decorated = json_schema(route.body_schema)(decorated)
    if route.query_schema is not None:
        decorated = querystring_schema(route.query_schema)(decorated)
    decorated = docs(
        operation_id=route.operation_id, tags=[TAG], deprecated=True, summary=route.summary,
        description=(f"Deprecated: use {v2.method} {BASE_PATH}{v2.path} ({v2.name}), which serves this "
                     f"call. {route.summary}"),
        responses=_responses(route, method, v2),
    )(decorated)
    getattr(decorated, API_SPEC_ATTR).pop("produces", None)  # Swagger 2 only
    return decorated


def add_routes(app: web.Application, actions: list[Action]) -> None:
    for alias, v2 in aliases(actions):
        route = ROUTES.get(alias)
        if route is None:
            raise ValueError(f"{v2.name}: no v1 adapter for alias {alias!r}")
        method, path = alias.split(" ", 1)
        app.router.add_route(method, path, make_handler(alias, route, v2))
    app.on_response_prepare.append(deprecation_headers)
    storefront.add_routes(app)
