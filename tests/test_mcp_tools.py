"""The sidecar's pure parts: tools from /help entries, argument checks, the
path/query/body split, and API answers as tool results. No servers."""
from __future__ import annotations

import json

import pytest

from api_service.meta.handlers import help_body
from api_service.registry import all_actions
from mcp_sidecar.catalog import Catalog
from mcp_sidecar.client import ApiReply
from mcp_sidecar.config import SidecarConfig
from mcp_sidecar.results import STATUS_META_KEY, reply_result
from mcp_sidecar.tools import ToolSpec, query_value
from shared_models.config import ConfigError, MissingConfig


@pytest.fixture(scope="module")
def help_json() -> dict:
    # Through JSON, as the sidecar receives it.
    return json.loads(json.dumps(help_body(all_actions(), None)))


@pytest.fixture(scope="module")
def catalog(help_json) -> Catalog:
    catalog = Catalog()
    assert catalog.replace(help_json) is True
    return catalog


def spec(catalog: Catalog, name: str) -> ToolSpec:
    found = catalog.get(name)
    assert found is not None, name
    return found


def test_one_tool_per_action_with_the_schema_as_is(catalog, help_json):
    tools = catalog.tools()
    assert [t.name for t in tools] == [a["name"] for a in help_json["actions"]]
    for tool, action in zip(tools, help_json["actions"]):
        assert tool.input_schema == action["request_schema"]
        expected = action["description"] + (f"\n\n{action['notes']}" if action["notes"] else "")
        assert tool.description == expected


def test_same_help_is_no_change_and_a_new_action_is(catalog, help_json):
    assert catalog.replace(json.loads(json.dumps(help_json))) is False
    fresh = Catalog()
    fresh.replace(help_json)
    grown = {**help_json, "actions": [*help_json["actions"], {
        "name": "x_ping", "method": "GET", "path": "/x/ping", "description": "Ping.",
        "path_params": [], "request_schema": {"type": "object", "properties": {}},
        "side_effects": False, "destructive": False, "idempotent": True, "notes": ""}]}
    assert fresh.replace(grown) is True
    assert fresh.get("x_ping") is not None and fresh.input_schema("x_ping") == {"type": "object", "properties": {}}


def test_a_broken_entry_is_skipped_not_fatal(help_json):
    broken = {**help_json, "actions": [{"name": "no_schema", "method": "GET"},
                                       {**help_json["actions"][0], "name": "bad_schema",
                                        "request_schema": {"type": "object", "properties": 3}},
                                       help_json["actions"][1]]}
    catalog = Catalog()
    catalog.replace(broken)
    assert [t.name for t in catalog.tools()] == [help_json["actions"][1]["name"]]


def test_annotations_follow_method_destructive_and_idempotent(catalog):
    read = spec(catalog, "back_in_stock_signups_read").tool().annotations
    assert read.read_only_hint is True and read.destructive_hint is None
    delete = spec(catalog, "back_in_stock_signups_delete").tool().annotations
    assert delete.read_only_hint is False and delete.destructive_hint is True and delete.idempotent_hint is True
    bulk_delete = spec(catalog, "back_in_stock_signups_bulk_delete").tool().annotations
    assert bulk_delete.destructive_hint is True
    create = spec(catalog, "back_in_stock_signups_create").tool().annotations
    assert create.read_only_hint is False and create.destructive_hint is False and create.idempotent_hint is False
    patch = spec(catalog, "back_in_stock_settings_delivery_update").tool().annotations
    assert patch.read_only_hint is False and patch.destructive_hint is False and patch.idempotent_hint is True


def test_wrong_type_and_unknown_and_missing_arguments_name_their_fields(catalog):
    listing = spec(catalog, "back_in_stock_signups_list")
    errors = listing.argument_errors({"per_page": "ten", "bogus": 1})
    assert set(errors) == {"per_page", "bogus"}
    assert errors["bogus"] == ["Unknown field."]
    assert errors["per_page"] == ["Not a valid integer."]  # the API's words
    assert listing.argument_errors({"per_page": 10}) == {}

    create = spec(catalog, "back_in_stock_signups_create")
    errors = create.argument_errors({"variant_id": 1, "customer": {"email": 5, "nope": True}})
    assert errors["channel"] == ["Missing data for required field."]
    assert errors["customer.nope"] == ["Unknown field."]
    assert "customer.email" in errors
    assert spec(catalog, "back_in_stock_settings_read").argument_errors([]) == {"": ["The body must be a JSON object."]}


def test_get_arguments_go_to_the_query_and_path_params_into_the_path(catalog):
    call = spec(catalog, "back_in_stock_signups_list").http_call(
        {"per_page": 10, "status": "pending", "from": "2026-01-01", "product_id": None})
    assert (call.method, call.path, call.body) == ("GET", "/api/v2/external/back_in_stock/signups", None)
    assert call.query == {"per_page": "10", "status": "pending", "from": "2026-01-01"}

    call = spec(catalog, "back_in_stock_signups_read").http_call({"id": "a/b c"})
    assert call.path == "/api/v2/external/back_in_stock/signups/a%2Fb%20c" and call.query == {}


def test_write_arguments_go_to_the_body(catalog):
    call = spec(catalog, "back_in_stock_signups_notify").http_call({"id": "abc", "allow_resend": True})
    assert (call.method, call.path) == ("POST", "/api/v2/external/back_in_stock/signups/abc/notify")
    assert call.body == {"allow_resend": True} and call.query == {}
    call = spec(catalog, "jobs_cancel").http_call({"id": "abc"})
    assert call.body == {}  # a POST always sends a JSON object
    call = spec(catalog, "back_in_stock_signups_delete").http_call({"id": "abc"})
    assert (call.method, call.body, call.query) == ("DELETE", None, {})


def test_query_params_named_by_help_win_over_the_method_rule():
    entry = {"name": "x_search", "method": "POST", "path": "/x/{id}/search", "path_params": ["id"],
             "query_params": ["dry_run"], "request_schema": {"type": "object"}, "description": "d"}
    call = ToolSpec.from_help(entry, "/api").http_call({"id": "7", "dry_run": True, "terms": ["a"]})
    assert call.path == "/api/x/7/search" and call.query == {"dry_run": "true"} and call.body == {"terms": ["a"]}


def test_query_values_are_spelled_like_a_url():
    assert [query_value(v) for v in (True, False, 5, 1.5, "x y", [1, 2])] == \
        ["true", "false", "5", "1.5", "x y", "[1,2]"]


def test_replies_become_results():
    ok = reply_result(ApiReply(200, "application/json", '{"a":1}'))
    assert not ok.is_error and ok.structured_content == {"a": 1} and ok.content[0].text == '{"a":1}'
    assert ok.meta[STATUS_META_KEY] == 200

    csv = reply_result(ApiReply(200, "text/csv", "a,b\n1,2\n"))
    assert not csv.is_error and csv.structured_content is None and csv.content[0].text == "a,b\n1,2\n"

    gone = reply_result(ApiReply(204, "application/octet-stream", ""))
    assert not gone.is_error and gone.meta[STATUS_META_KEY] == 204

    api_error = reply_result(ApiReply(422, "application/json", '{"errors":["bad"],"fields":{"x":["no"]}}'))
    assert api_error.is_error and api_error.content[0].text == '{"errors":["bad"],"fields":{"x":["no"]}}'
    assert api_error.structured_content == {"errors": ["bad"], "fields": {"x": ["no"]}}

    proxy = reply_result(ApiReply(502, "text/html", "<html>Bad   gateway</html>"))
    assert proxy.is_error and json.loads(proxy.content[0].text) == {"errors": ["HTTP 502: <html>Bad gateway</html>"]}


def test_config_needs_the_url_and_over_stdio_the_key():
    with pytest.raises(MissingConfig, match="BACKINSTOCK_API_URL"):
        SidecarConfig.from_env({}, needs_key=False)
    with pytest.raises(ConfigError, match="must be an http"):
        SidecarConfig.from_env({"BACKINSTOCK_API_URL": "api:8080"}, needs_key=False)
    with pytest.raises(MissingConfig, match="BACKINSTOCK_API_KEY"):
        SidecarConfig.from_env({"BACKINSTOCK_API_URL": "http://api:8080"}, needs_key=True)
    with pytest.raises(ConfigError, match="BACKINSTOCK_MCP_REFRESH_SECONDS"):
        SidecarConfig.from_env({"BACKINSTOCK_API_URL": "http://a", "BACKINSTOCK_MCP_REFRESH_SECONDS": "0"},
                               needs_key=False)
    http = SidecarConfig.from_env({"BACKINSTOCK_API_URL": "http://api:8080/", "BACKINSTOCK_API_KEY": "k"},
                                  needs_key=False)
    assert http.api_url == "http://api:8080" and http.api_key is None  # no key of its own over HTTP
