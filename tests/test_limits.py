"""Limits everywhere, over every action of the registry (a new action is
covered as it is declared): bodies over 1 MiB are 413, and every string, list
and page size an action takes is bounded, with 422 naming the field.

The bounds come from each action's request_schema (what /help and the MCP
tools publish), so this also checks that the schema tells the truth."""
from __future__ import annotations

import uuid
from typing import Any

import pytest

from api_service.registry import all_actions

ACTIONS = all_actions()
BODY_ACTIONS = [a for a in ACTIONS if a.body_schema is not None]
PAGED_ACTIONS = [a for a in ACTIONS if a.query_schema is not None and "per_page" in a.request_schema()["properties"]]
MIB = 1024 * 1024
LONG = 10_000
# Outside the registry, but reading bodies all the same.
OTHER_BODY_ROUTES = [("POST", "/webhooks/shopify"), ("POST", "/api/v1/intents.json"),
                     ("POST", "/api/v1/external/intents"), ("DELETE", "/api/v1/external/intents/bulk_destroy")]


def _url(action) -> str:
    return action.full_path.replace("{id}", str(uuid.uuid4()))


def _bounded(action) -> list[tuple[str, dict[str, Any]]]:
    """(dotted path, JSON schema) of every string (not an enum) and list the action takes."""
    out: list[tuple[str, dict[str, Any]]] = []

    def walk(schema: dict[str, Any], path: str) -> None:
        types = schema.get("type")
        types = types if isinstance(types, list) else [types]
        if "string" in types and "enum" not in schema and path:
            out.append((path, schema))
        if "array" in types:
            out.append((path, schema))
            walk(schema.get("items") or {}, path + ".0")
        for name, sub in (schema.get("properties") or {}).items():
            walk(sub, f"{path}.{name}" if path else name)

    walk(action.request_schema(), "")
    return [(p, s) for p, s in out if p not in action.path_params]


def _nested(path: str, value: Any) -> dict[str, Any]:
    """{"a": {"b": [value]}} for "a.b.0"."""
    parts = path.split(".")
    for part in reversed(parts[1:]):
        value = [value] if part.isdigit() else {part: value}
    return {parts[0]: value}


def _item(schema: dict[str, Any]) -> Any:
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    if schema.get("format") == "uuid":
        return str(uuid.uuid4())
    if "integer" in types:
        return 1
    if schema.get("format") == "email":
        return "a@example.com"
    return "US"


def _too_long(schema: dict[str, Any]) -> Any:
    if "array" in (schema.get("type") if isinstance(schema.get("type"), list) else [schema.get("type")]):
        return [_item(schema.get("items") or {}) for _ in range(schema["maxItems"] + 1)]
    return "x" * LONG


CASES = [(a, path, schema) for a in ACTIONS for path, schema in _bounded(a)]


@pytest.mark.parametrize("method,path", [(a.method, a.full_path) for a in BODY_ACTIONS] + OTHER_BODY_ROUTES,
                         ids=[a.name for a in BODY_ACTIONS] + [f"{m} {p}" for m, p in OTHER_BODY_ROUTES])
async def test_body_over_1_mib_is_413(client, shop, method, path):
    big = b'{"name": "' + b"x" * MIB + b'"}'
    resp = await client.request(method, path.replace("{id}", str(uuid.uuid4())), data=big, headers={
        **shop.headers, "Content-Type": "application/json", "X-Shopify-Shop-Domain": shop.domain})
    assert resp.status == 413
    assert await resp.json() == {"errors": ["Request body is larger than 1 MiB"]}


def test_every_string_and_list_declares_its_bound():
    """Unbounded input is a string without maxLength (or a uuid format or a
    pattern) or a list without maxItems. Dates, phone numbers and country codes
    are bounded by parsing instead (and still sent 10,000 characters below)."""
    parsed = {"from", "to", "phone", "country_code"}

    def bounded(schema: dict[str, Any]) -> bool:
        if schema.get("type") == "array":
            return "maxItems" in schema
        return "maxLength" in schema or "pattern" in schema or schema.get("format") == "uuid"

    unbounded = [(a.name, p) for a, p, s in CASES if not bounded(s) and p.rsplit(".", 1)[-1] not in parsed]
    assert unbounded == []


BOUNDED_ACTIONS = [a for a in ACTIONS if _bounded(a)]


@pytest.mark.parametrize("action", BOUNDED_ACTIONS, ids=lambda a: a.name)
async def test_over_long_strings_and_lists_are_422_naming_the_field(api, action):
    url = _url(action)[len(api.base):]
    for path, schema in _bounded(action):
        value = _too_long(schema)
        if action.method == "GET":
            if not isinstance(value, str):
                continue  # no list in a query string
            # A request line over 8 KiB is refused by the HTTP parser itself: one past the bound here.
            value = "x" * (schema.get("maxLength", 100) + 1)
            status, body, _ = await api.get(url, params={path: value})
        else:
            status, body, _ = await api.call(action.method, url, json=_nested(path, value))
        if action.path_params and status == 404:
            continue  # the (random) id is checked first
        assert status == 422, (path, status, body)
        assert isinstance(body, dict) and body["errors"] and path in body.get("fields", {}), (path, body)


@pytest.mark.parametrize("action", PAGED_ACTIONS, ids=lambda a: a.name)
async def test_page_sizes_out_of_range_are_422_never_clamped(api, action):
    for params in ({"per_page": "201"}, {"per_page": "0"}, {"page": "0"}, {"per_page": "-1"}, {"page": "x"}):
        status, body, _ = await api.get(action.path, params=params)
        assert status == 422, (params, body)
        assert list(params) == list(body["fields"]), body
    status, body, _ = await api.get(action.path, params={"per_page": "200"})
    assert status == 200, body


async def test_v1_id_lists_over_10000_are_422(client, shop):
    ids = [str(uuid.uuid4()) for _ in range(10_001)]
    for method, path in (("POST", "/api/v1/external/intents/bulk_notify_intent"),
                         ("DELETE", "/api/v1/external/intents/bulk_destroy")):
        resp = await client.request(method, path, json={"intent_ids": ids}, headers=shop.headers)
        assert resp.status == 422, path
        assert "intent_ids" in (await resp.json())["fields"]


async def test_v1_page_size_over_500_is_422(client, shop):
    for path in ("/api/v1/external/intents", "/api/v1/external/intents/products_in_demand"):
        resp = await client.get(path, params={"per_page": "501"}, headers=shop.headers)
        assert resp.status == 422, await resp.text()
        resp = await client.get(path, params={"per_page": "500"}, headers=shop.headers)
        assert resp.status == 200, await resp.text()
