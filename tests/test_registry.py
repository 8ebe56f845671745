"""The registry drives routes, /help and OpenAPI: they must never disagree."""
from __future__ import annotations

import re

from openapi_spec_validator import validate

from api_service.registry import BASE_PATH, all_actions

CAPABILITIES = ("channels", "delivery", "compliance", "tagging", "alerts")
REPORTS = ("summary", "signups", "notifications", "conversions", "products_in_demand")

# The contract's table of action names (docs/API.md), expanded.
CONTRACT = {
    "back_in_stock_signups_list": "GET /back_in_stock/signups",
    "back_in_stock_signups_read": "GET /back_in_stock/signups/{id}",
    "back_in_stock_signups_create": "POST /back_in_stock/signups",
    "back_in_stock_signups_delete": "DELETE /back_in_stock/signups/{id}",
    "back_in_stock_signups_notify": "POST /back_in_stock/signups/{id}/notify",
    "back_in_stock_signups_bulk_notify": "POST /back_in_stock/signups/bulk_notify",
    "back_in_stock_signups_bulk_delete": "POST /back_in_stock/signups/bulk_delete",
    "back_in_stock_signups_transfer": "POST /back_in_stock/signups/transfer",
    "back_in_stock_notifications_list": "GET /back_in_stock/notifications",
    "back_in_stock_notifications_read": "GET /back_in_stock/notifications/{id}",
    "back_in_stock_settings_read": "GET /back_in_stock/settings",
    "back_in_stock_settings_update": "PATCH /back_in_stock/settings",
    **{f"back_in_stock_settings_{c}_read": f"GET /back_in_stock/settings/{c}" for c in CAPABILITIES},
    **{f"back_in_stock_settings_{c}_update": f"PATCH /back_in_stock/settings/{c}" for c in CAPABILITIES},
    "back_in_stock_reports_list": "GET /back_in_stock/reports",
    **{f"back_in_stock_reports_{r}": f"GET /back_in_stock/reports/{r}" for r in REPORTS},
    "jobs_read": "GET /jobs/{id}",
    "jobs_cancel": "POST /jobs/{id}/cancel",
    # issue 13 §2: customers/data_request exports
    "back_in_stock_data_requests_list": "GET /back_in_stock/data_requests",
    "back_in_stock_data_requests_read": "GET /back_in_stock/data_requests/{id}",
}


def test_registry_holds_exactly_the_contract_actions():
    declared = {a.name: f"{a.method} {a.path}" for a in all_actions()}
    assert declared == CONTRACT


def test_action_names_are_tool_safe():
    for action in all_actions():
        assert re.fullmatch(r"[a-z0-9_]{1,64}", action.name)


async def test_help_matches_registry(api):
    status, body, _ = await api.get("/help")
    assert status == 200
    assert body["version"] == "v2" and body["base_path"] == BASE_PATH
    assert [a["name"] for a in body["actions"]] == [a.name for a in all_actions()]
    for entry in body["actions"]:
        assert set(entry) >= {"name", "method", "path", "description", "path_params", "request_schema",
                              "side_effects", "aliases", "notes"}
        schema = entry["request_schema"]
        assert schema["type"] == "object"
        for param in entry["path_params"]:
            assert param in schema["properties"] and param in schema.get("required", [])
        assert entry["side_effects"] == (entry["method"] != "GET")


async def test_help_scopes(api):
    _, by_prefix, _ = await api.get("/help", params={"prefix": "/back_in_stock"})
    _, scoped, _ = await api.get("/back_in_stock/help")
    names = [a["name"] for a in scoped["actions"]]
    assert names == [a["name"] for a in by_prefix["actions"]]
    assert "jobs_read" not in names and "back_in_stock_signups_list" in names
    _, jobs, _ = await api.get("/jobs/help")
    assert [a["name"] for a in jobs["actions"]] == ["jobs_read", "jobs_cancel"]


async def test_help_needs_a_key(client):
    for path in ("/help", "/back_in_stock/help"):
        assert (await client.get(BASE_PATH + path)).status == 401


async def test_openapi_is_valid_and_lists_every_action(client):
    resp = await client.get(BASE_PATH + "/openapi.json")  # public: no key
    assert resp.status == 200
    spec = await resp.json()
    validate(spec)
    operations = {op["operationId"]: f"{method.upper()} {path[len(BASE_PATH):]}"
                  for path, item in spec["paths"].items()
                  for method, op in item.items() if isinstance(op, dict) and "operationId" in op}
    for action in all_actions():
        assert operations.get(action.name) == f"{action.method} {action.path}"


async def test_swagger_ui_is_served(client):
    resp = await client.get(BASE_PATH + "/docs")
    assert resp.status == 200
    assert "swagger" in (await resp.text()).lower()


def test_every_action_name_is_written_out_where_it_is_declared(repo_root):
    """From a name in /help to its declaration in one grep: no name is built."""
    sources = "\n".join(p.read_text() for p in (repo_root / "api_service").rglob("*.py"))
    for action in all_actions():
        assert f'"{action.name}"' in sources, action.name


async def test_help_says_where_each_argument_goes(api):
    status, body, _ = await api.get("/help")
    assert status == 200
    for entry in body["actions"]:
        where = entry["path_params"] + entry["query_params"] + entry["body_params"]
        assert sorted(where) == sorted(entry["request_schema"]["properties"]), entry["name"]
        assert len(set(where)) == len(where), entry["name"]  # each in one place only
    by_name = {e["name"]: e for e in body["actions"]}
    assert "status" in by_name["back_in_stock_signups_list"]["query_params"]
    assert by_name["back_in_stock_signups_bulk_notify"]["query_params"] == []
    assert "ids" in by_name["back_in_stock_signups_bulk_notify"]["body_params"]
