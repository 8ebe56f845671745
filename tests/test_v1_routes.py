"""The v1 calls come from the registry's aliases: routes, /help and OpenAPI
agree, and every v1 answer says it is deprecated and names its successor."""
from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from api_service.registry import all_actions
from api_service.v1.routes import ROUTES
from tests.test_v1_support import V1, V2, V1Api, assert_deprecated


@pytest.fixture
def v1(client, shop) -> V1Api:
    return V1Api(client, shop.headers)


# The contract's parity table (docs/API.md, "v1").
PARITY = {
    f"GET {V1}/intents": "back_in_stock_signups_list",
    f"GET {V1}/intents/{{id}}": "back_in_stock_signups_read",
    f"POST {V1}/intents": "back_in_stock_signups_create",
    f"POST {V1}/intents/notify_intent": "back_in_stock_signups_notify",
    f"POST {V1}/intents/bulk_notify_intent": "back_in_stock_signups_bulk_notify",
    f"DELETE {V1}/intents/bulk_destroy": "back_in_stock_signups_bulk_delete",
    f"POST {V1}/intents/transfer_signups": "back_in_stock_signups_transfer",
    f"GET {V1}/intents/products_in_demand": "back_in_stock_reports_products_in_demand",
}


def test_registry_aliases_are_the_parity_table():
    declared = {alias: action.name for action in all_actions() for alias in action.aliases}
    assert declared == PARITY


def test_every_alias_has_an_adapter_and_every_adapter_an_alias():
    aliases = {alias for action in all_actions() for alias in action.aliases}
    assert set(ROUTES) == aliases


async def test_every_alias_is_routed(client):
    routed = {f"{r.method} {r.resource.canonical}" for r in client.app.router.routes()
              if r.resource is not None and r.resource.canonical.startswith(V1 + "/")}
    assert routed == set(PARITY)


async def test_help_lists_the_aliases(api):
    status, body, _ = await api.get("/help")
    assert status == 200
    listed = {alias: entry["name"] for entry in body["actions"] for alias in entry["aliases"]}
    assert listed == PARITY


async def test_openapi_marks_v1_deprecated_and_stays_valid(client):
    resp = await client.get(V2 + "/openapi.json")
    spec = await resp.json()
    validate(spec)
    v1_ops = {f"{method.upper()} {path}": op for path, item in spec["paths"].items() if path.startswith(V1 + "/")
              for method, op in item.items() if isinstance(op, dict) and "operationId" in op}
    assert set(v1_ops) == set(PARITY)
    for alias, op in v1_ops.items():
        assert op["deprecated"] is True, alias
        assert op["operationId"].startswith("v1_intents_")
        assert PARITY[alias] in op["description"]
    assert len({op["operationId"] for op in v1_ops.values()}) == len(PARITY)
    for path, item in spec["paths"].items():
        if path.startswith(V2):
            assert not any(op.get("deprecated") for op in item.values() if isinstance(op, dict)), path
    storefront = spec["paths"]["/api/v1/intents.json"]["post"]
    assert storefront["security"] == [] and not storefront.get("deprecated")


async def test_every_v1_answer_is_deprecated_with_its_successor(v1, client):
    status, _, resp = await v1.get("/intents")
    assert status == 200
    assert_deprecated(resp, "/back_in_stock/signups")
    assert "X-RateLimit-Remaining" in resp.headers  # the per-key limit, as v2
    status, _, resp = await v1.get("/intents/products_in_demand")
    assert_deprecated(resp, "/back_in_stock/reports/products_in_demand")
    # Errors, malformed JSON and paths or methods v1 never had.
    for method, path, headers in (("GET", "/intents", {"X-Auth-Token": "bis_nope"}),
                                  ("POST", "/intents/notify_intent", None),
                                  ("PUT", "/intents", None),
                                  ("GET", "/intents/a/b", None)):
        resp = await client.request(method, V1 + path, headers=headers or v1.headers, data=b"{")
        assert resp.status in (400, 401, 404), (method, path, resp.status)
        assert (await resp.json())["errors"]
        assert_deprecated(resp, "/back_in_stock/signups")


async def test_v2_answers_carry_no_deprecation(api):
    _, _, resp = await api.get("/back_in_stock/signups")
    assert "Deprecation" not in resp.headers and "Link" not in resp.headers
