"""One OpenAPI document for the whole HTTP surface, titled after the product, and
/llms.txt generated from the registry."""
from __future__ import annotations

from openapi_spec_validator import validate

from api_service.meta.openapi import TITLE, WEBHOOK_TOPICS
from api_service.registry import BASE_PATH, all_actions

# Served but not operations of the API: the document itself and its reader.
NOT_OPERATIONS = {BASE_PATH + "/openapi.json", BASE_PATH + "/docs"}


async def _spec(client) -> dict:
    resp = await client.get(BASE_PATH + "/openapi.json")
    assert resp.status == 200
    return await resp.json()


async def test_every_route_the_app_serves_is_documented(client):
    spec = await _spec(client)
    validate(spec)
    documented = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    served = set()
    for route in client.app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter")
        if path is None or path in NOT_OPERATIONS or route.method in ("HEAD", "OPTIONS"):
            continue  # static files of the docs page, HEAD twins of GETs, CORS preflights
        served.add((route.method, path))
    assert served - documented == set()
    assert documented - served == set()  # nothing documented that isn't served
    for outside in ("/webhooks/shopify", "/t/{token}", "/u/{token}", "/optin/{token}", "/api/v1/intents.json",
                    BASE_PATH + "/help", "/healthz", "/readyz", "/metrics", "/llms.txt"):
        assert outside in spec["paths"], outside
    ids = [op["operationId"] for item in spec["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))


async def test_titled_after_the_product(client):
    spec = await _spec(client)
    assert spec["info"]["title"] == TITLE == "backinstock API"
    resp = await client.get(BASE_PATH + "/docs")
    page = await resp.text()
    assert "<title>backinstock API reference</title>" in page and "<title>Swagger UI" not in page
    assert f'url: "{BASE_PATH}/openapi.json"' in page
    static = await client.get(BASE_PATH + "/docs/static/swagger-ui-bundle.js")  # offline: served by us
    assert static.status == 200


async def test_webhook_and_public_pages_say_what_they_take_and_answer(client):
    spec = await _spec(client)
    hook = spec["paths"]["/webhooks/shopify"]["post"]
    headers = {p["name"]: p for p in hook["parameters"] if p["in"] == "header"}
    assert {"X-Shopify-Hmac-Sha256", "X-Shopify-Shop-Domain", "X-Shopify-Topic",
            "X-Shopify-Webhook-Id"} <= {n for n, p in headers.items() if p["required"]}
    for topic in ("inventory_levels/update", "customers/redact", "shop/redact", "app/uninstalled"):
        assert topic in WEBHOOK_TOPICS and topic in headers["X-Shopify-Topic"]["description"]
    assert {"200", "400", "401"} <= set(hook["responses"])
    assert hook["security"] == []
    page = spec["paths"]["/u/{token}"]["get"]
    assert set(page["responses"]["404"]["content"]) == {"text/html", "application/json"}
    assert spec["paths"]["/t/{token}"]["get"]["responses"]["302"]
    assert spec["paths"]["/metrics"]["get"]["security"] == []
    assert "security" not in spec["paths"][BASE_PATH + "/help"]["get"]  # the document's: a key


async def test_llms_txt_indexes_every_action_from_the_registry(client):
    resp = await client.get("/llms.txt")  # public, like the OpenAPI document
    assert resp.status == 200 and resp.content_type == "text/plain"
    text = await resp.text()
    assert text.startswith(f"# {TITLE}\n\n> ")
    origin = str(client.make_url("")).rstrip("/")
    listed = [line for line in text.splitlines() if line.startswith("- [") and BASE_PATH + "/" in line]
    names = [line[3:line.index("]")] for line in listed]
    assert names[3:] == [a.name for a in all_actions()]  # after help, OpenAPI, docs
    notify = next(line for line in listed if line.startswith("- [back_in_stock_signups_notify]"))
    assert f"({origin}{BASE_PATH}/back_in_stock/signups/{{id}}/notify): POST." in notify
    assert "read-only" in next(line for line in listed if line.startswith("- [jobs_read]"))
    assert len(text) < 12_000  # short: an index, not the reference (about 8 kB today)
