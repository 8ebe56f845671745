"""The registry closes its loops (issue 14, item 5): a v1 alias is declared
once, on the action it aliases, and routed from there; output formats are
declared, not guessed from the query schema; every OpenAPI operation of ours
goes through one decoration; and an action's OpenAPI tag is its /help scope."""
from __future__ import annotations

import ast
import dataclasses

import pytest
from aiohttp_apigami.constants import API_SPEC_ATTR
from marshmallow import Schema, fields

from api_service.app import create_app
from api_service.context import Call, Reply
from api_service.meta.openapi import outside_paths
from api_service.meta.operations import DOCUMENTED
from api_service.negotiation import output_format
from api_service.registry import BASE_PATH, V1_BASE_PATH, Action, V1Alias, all_actions
from api_service.v1 import routes as v1_routes

OPENAPI = BASE_PATH + "/openapi.json"


class EchoQuery(Schema):
    output_format = fields.String(data_key="format")


async def echo_format(call: Call) -> dict:
    return {"format": call.output_format}


async def v1_echo(call: Call, v2: Action) -> Reply:
    """A v1 adapter: calls the action and reshapes its answer."""
    out = await v2.handler(call)
    return Reply({"v1": out["format"]})


# Declared by tests only: routing, /help and OpenAPI must follow them like any other action.
ECHO = Action(name="test_format_echo", method="GET", path="/test/format", handler=echo_format,
              description="Say which format the call was negotiated to.", resource="Echo",
              query_schema=EchoQuery, formats=("json", "csv"),
              v1=V1Alias("GET", "/test/format", "v1_test_format_echo", v1_echo, "The echo, v1's way.",
                         query_schema=EchoQuery))
PLAIN = Action(name="test_plain_echo", method="GET", path="/test/plain", handler=echo_format,
               description="JSON only, whatever the caller asks.", resource="Echo", query_schema=EchoQuery)


@pytest.fixture
async def echo_client(config, aiohttp_client):
    return await aiohttp_client(create_app(config, actions=[*all_actions(), ECHO, PLAIN]))


async def _spec(client) -> dict:
    resp = await client.get(OPENAPI)
    assert resp.status == 200
    return await resp.json()


def _operations(spec: dict) -> dict[str, tuple[str, str, dict]]:
    return {op["operationId"]: (method.upper(), path, op) for path, item in spec["paths"].items()
            for method, op in item.items() if isinstance(op, dict) and "operationId" in op}


# --- v1 aliases: declared on the action, routed from the declaration -----------

def test_the_v1_route_table_is_the_registry_read_back():
    declared = {a.v1.alias: a.v1 for a in all_actions() if a.v1 is not None}
    assert v1_routes.ROUTES == declared
    assert {alias for a in all_actions() for alias in a.aliases} == set(declared)
    for action in all_actions():
        assert action.aliases == ((action.v1.alias,) if action.v1 else ())


def test_no_second_v1_table_in_the_source(repo_root):
    """No module but the actions declarations names a v1 intents path: v1/ holds
    adapters and schemas, never another list of what v1 serves."""
    for path in sorted((repo_root / "api_service" / "v1").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert not node.value.startswith("/intents"), f"{path.name}: {node.value!r}"


async def test_a_declared_alias_is_served_listed_and_documented(echo_client, make_shop):
    shop = await make_shop()
    resp = await echo_client.get(V1_BASE_PATH + "/test/format", headers=shop.headers)
    assert resp.status == 200 and await resp.json() == {"v1": "json"}
    assert resp.headers["Deprecation"] == "true"
    assert resp.headers["Link"] == f'<{BASE_PATH}/test/format>; rel="successor-version"'
    help_body = await (await echo_client.get(BASE_PATH + "/help", headers=shop.headers)).json()
    entry = next(e for e in help_body["actions"] if e["name"] == ECHO.name)
    assert entry["aliases"] == [f"GET {V1_BASE_PATH}/test/format"]
    method, path, op = _operations(await _spec(echo_client))["v1_test_format_echo"]
    assert (method, path, op["deprecated"]) == ("GET", V1_BASE_PATH + "/test/format", True)
    assert ECHO.name in op["description"]


async def test_an_alias_not_declared_is_not_served(config, aiohttp_client, make_shop):
    """Take the declaration off bulk_notify: its v1 route goes with it."""
    actions = [dataclasses.replace(a, v1=None) if a.name == "back_in_stock_signups_bulk_notify" else a
               for a in all_actions()]
    client = await aiohttp_client(create_app(config, actions=actions))
    routed = {f"{r.method} {r.resource.canonical}" for r in client.app.router.routes()
              if r.resource is not None and r.resource.canonical.startswith(V1_BASE_PATH + "/")}
    assert f"POST {V1_BASE_PATH}/intents/bulk_notify_intent" not in routed
    assert f"POST {V1_BASE_PATH}/intents/notify_intent" in routed


# --- output formats: declared ---------------------------------------------------

def test_formats_must_start_with_json_and_be_known():
    for formats in ((), ("csv",), ("csv", "json"), ("json", "xml")):
        with pytest.raises(ValueError):
            dataclasses.replace(PLAIN, formats=formats)


def test_csv_actions_are_the_reports_and_take_format():
    """Exactly the reports declare CSV, and an action takes `format=` exactly
    when it declares a choice, offering exactly its declared formats."""
    csv = {a.name for a in all_actions() if "csv" in a.formats}
    assert csv == {f"back_in_stock_reports_{r}" for r in
                   ("summary", "signups", "notifications", "conversions", "products_in_demand")}
    for action in all_actions():
        entry = action.help_entry()
        assert entry["formats"] == list(action.formats)
        param = entry["request_schema"]["properties"].get("format")
        assert (param is not None) == (len(action.formats) > 1), action.name
        if param is not None:
            assert param["enum"] == list(action.formats), action.name


async def test_openapi_offers_csv_exactly_where_declared(echo_client):
    for name, (_, _, op) in _operations(await _spec(echo_client)).items():
        media = {m for code, r in op["responses"].items() if code.startswith("2") for m in r.get("content", {})}
        declared = next((a.formats for a in [*all_actions(), ECHO, PLAIN] if a.name == name), None)
        if declared is None:
            assert "text/csv" not in media, name  # v1, storefront, outside paths: JSON or their own
        elif "csv" in declared:
            assert media == {"application/json", "text/csv"}, name
        else:
            assert "text/csv" not in media, name


@pytest.mark.parametrize("asked,accept,expected", [
    (None, "", "json"),
    (None, "text/csv", "csv"),
    ("json", "text/csv", "json"),
    ("csv", "application/json", "csv"),
    (None, "application/json, text/csv", "json"),
    (None, "text/csv;q=0.9, application/json;q=0.5", "csv"),
    (None, "application/json;q=0, text/csv;q=0.1", "csv"),
    (None, "text/csv;q=0", "json"),
    (None, "*/*", "json"),
    (None, "TEXT/CSV", "csv"),
])
def test_negotiation(asked, accept, expected):
    assert output_format(("json", "csv"), asked, accept) == expected
    assert output_format(("json",), asked, accept) == "json"


async def test_run_action_negotiates_among_the_declared_formats(echo_client, make_shop):
    shop = await make_shop()

    async def fmt(path: str, accept: str = "", **params: str) -> str:
        resp = await echo_client.get(BASE_PATH + path, params=params,
                                     headers={**shop.headers, "Accept": accept})
        assert resp.status == 200
        return (await resp.json())["format"]

    assert await fmt("/test/format") == "json"
    assert await fmt("/test/format", "text/csv") == "csv"
    assert await fmt("/test/format", "text/csv", format="json") == "json"
    # Declares JSON only: the same asks change nothing.
    assert await fmt("/test/plain", "text/csv") == "json"
    assert await fmt("/test/plain", format="csv") == "json"


# --- OpenAPI: one decoration path ----------------------------------------------

APIGAMI_DECORATORS = {"docs", "json_schema", "querystring_schema", "request_schema", "response_schema",
                      "match_info_schema", "headers_schema", "cookies_schema", "form_schema"}


def test_apigami_decorators_are_imported_in_one_module(repo_root):
    users = set()
    for path in (repo_root / "api_service").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("aiohttp_apigami"):
                if {alias.name for alias in node.names} & APIGAMI_DECORATORS:
                    users.add(str(path.relative_to(repo_root)))
    assert users == {"api_service/meta/operations.py"}


async def test_every_operation_comes_from_one_decoration_or_the_outside_list(client):
    spec = await _spec(client)
    decorated = {}
    for route in client.app.router.routes():
        if hasattr(route.handler, API_SPEC_ATTR):
            decorated[getattr(route.handler, DOCUMENTED, None)] = route
    assert None not in decorated  # apigami-annotated, but not by operations.document
    outside = {op["operationId"] for item in outside_paths(all_actions()).values() for op in item.values()}
    ops = set(_operations(spec))
    assert set(decorated) & outside == set()
    assert ops == set(decorated) | (outside & ops)
    assert {a.name for a in all_actions()} | {r.operation_id for r in v1_routes.ROUTES.values()} <= set(decorated)


# --- tags: the /help scope ---------------------------------------------------------

async def test_an_actions_openapi_tag_is_its_help_scope(client, api):
    ops = _operations(await _spec(client))
    for action in all_actions():
        assert ops[action.name][2]["tags"] == [action.scope], action.name
    for scope in sorted({a.scope for a in all_actions()}):
        _, body, _ = await api.get(f"/{scope}/help")
        tagged = [name for name, (_, path, op) in ops.items() if op["tags"] == [scope] and path.startswith(BASE_PATH)]
        assert sorted(a["name"] for a in body["actions"]) == sorted(tagged), scope
