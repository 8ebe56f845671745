"""MCP as agents meet it: the listing is per key (a read-only key sees only what
it may call; a missing or bad key hears the API's 401 message), and arguments
that miss a tool's schema are refused in the API's own words for those fields."""
from __future__ import annotations

import json

import pytest
from mcp.shared.exceptions import MCPError

from api_service.admin import shops as admin
from mcp_sidecar.results import STATUS_META_KEY
from tests.test_mcp_sidecar import TRANSPORTS, api_root, http_call, mcp_session

# (tool, arguments, method, path, how the same thing goes over HTTP)
BAD_ARGUMENTS = [
    ("back_in_stock_signups_list", {"per_page": "ten"}, "GET", "/back_in_stock/signups",
     {"params": {"per_page": "ten"}}),
    ("back_in_stock_signups_list", {"per_page": 500, "page": 0}, "GET", "/back_in_stock/signups",
     {"params": {"per_page": "500", "page": "0"}}),
    ("back_in_stock_signups_list", {"status": "asleep", "bogus": 1}, "GET", "/back_in_stock/signups",
     {"params": {"status": "asleep", "bogus": "1"}}),
    ("back_in_stock_signups_create", {"channel": None, "customer": "someone", "variant_id": "x"},
     "POST", "/back_in_stock/signups", {"json": {"channel": None, "customer": "someone", "variant_id": "x"}}),
    ("back_in_stock_signups_create", {"variant_id": 1, "product_id": 2, "channel": "fax",
                                      "customer": {"email": 5, "nickname": "x"}},
     "POST", "/back_in_stock/signups", {"json": {"variant_id": 1, "product_id": 2, "channel": "fax",
                                                 "customer": {"email": 5, "nickname": "x"}}}),
    ("back_in_stock_signups_bulk_notify", {"ids": "all", "allow_resend": "yes"},
     "POST", "/back_in_stock/signups/bulk_notify", {"json": {"ids": "all", "allow_resend": "yes"}}),
    ("back_in_stock_settings_delivery_update", {"batch_size": -1, "batched": "true"},
     "PATCH", "/back_in_stock/settings/delivery", {"json": {"batch_size": -1, "batched": "true"}}),
]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_read_only_key_lists_only_the_tools_it_may_call(transport, client, shop, api, pool):
    _, help_json, _ = await api.get("/help")
    reads = [a["name"] for a in help_json["actions"] if not a["side_effects"]]
    assert help_json["key"] == {"read_only": False}
    read_only = await admin.create_key(pool, shop.shop_id, read_only=True)
    async with mcp_session(transport, api_root(client), read_only) as mcp:
        listed = [t.name for t in (await mcp.list_tools()).tools]
        refused = await mcp.call_tool("back_in_stock_settings_delivery_update", {"batch_size": 10})
    assert listed == reads and "back_in_stock_signups_list" in listed
    assert "back_in_stock_signups_create" not in listed
    assert refused.is_error and refused.structured_content == {"errors": ["This API key is read-only"]}
    async with mcp_session(transport, api_root(client), shop.api_key) as mcp:
        assert [t.name for t in (await mcp.list_tools()).tools] == [a["name"] for a in help_json["actions"]]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_bad_key_fails_the_listing_with_the_apis_401(transport, client, shop, api):
    status, body, _ = await api.with_key("bis_nope_" + "x" * 32).get("/help")
    assert status == 401
    async with mcp_session(transport, api_root(client), "bis_nope_" + "x" * 32) as mcp:
        with pytest.raises(MCPError) as failed:
            await mcp.list_tools()
    assert str(failed.value) == body["errors"][0] == "Invalid API key"
    assert failed.value.error.data == {"status": 401, "errors": ["Invalid API key"]}


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_argument_errors_are_worded_like_the_api(transport, client, shop, api):
    results = []
    async with mcp_session(transport, api_root(client), shop.api_key) as mcp:
        for name, arguments, *_ in BAD_ARGUMENTS:
            results.append(await mcp.call_tool(name, arguments))
    for result, (name, arguments, method, path, kwargs) in zip(results, BAD_ARGUMENTS):
        status, body = await http_call(api, method, path, **kwargs)
        assert status == 422, (name, body)
        assert result.is_error and result.meta[STATUS_META_KEY] == 422
        assert result.structured_content == json.loads(body), (name, arguments)
