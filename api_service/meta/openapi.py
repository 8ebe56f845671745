"""The parts of the OpenAPI document that are not registry actions: /help, the
health and metrics endpoints, /llms.txt, the Shopify webhook and the public
pages. The actions, the v1 aliases and the storefront signup are documented
by their handlers, all through meta/operations.document; this adds the rest
so that one document covers the whole HTTP surface."""
from __future__ import annotations

from string import Template
from typing import Any

from api_service.meta.operations import ERROR, error
from api_service.registry import BASE_PATH, Action
from api_service.webhooks.shapes import KNOWN as TOPICS

PRODUCT = "backinstock"
TITLE = f"{PRODUCT} API"
# Served by engineer "widget"'s module when present: documented only where served.
WIDGET_PATHS = ("/storefront/widget.js", "/storefront/config")

_HTML = {"content": {"text/html": {"schema": {"type": "string"}}}}
_JSON = {"content": {"application/json": {"schema": {"type": "object"}}}}
_TEXT = {"content": {"text/plain": {"schema": {"type": "string"}}}}
WEBHOOK_TOPICS = sorted({*TOPICS, "shop/redact"})


def _page(text: str) -> dict[str, Any]:
    """A public page: HTML for browsers (Accept: text/html), the error envelope for anyone else."""
    return {"description": text, "content": {**_HTML["content"], **ERROR["content"]}}


def _token(kind: str) -> list[dict[str, Any]]:
    return [{"in": "path", "name": "token", "required": True, "schema": {"type": "string"},
             "description": f"The signed {kind} token from a message's link"}]


_ALL = {"in": "query", "name": "all", "required": False, "schema": {"type": "string", "enum": ["1"]},
        "description": "1: every alert of this customer at this shop, not only this one"}
_PAGE_ANSWERS = {"404": _page("Forged, garbled or unknown link"),
                 "429": _page("Rate limited per client address (see Retry-After)"),
                 "503": error("A dependency (PostgreSQL, Redis) is down")}


def _public(op_id: str, summary: str, kind: str, answer: str, **extra: Any) -> dict[str, Any]:
    return {"operationId": op_id, "tags": ["public pages"], "security": [], "summary": summary,
            "parameters": _token(kind), "responses": {"200": _page(answer), **_PAGE_ANSWERS}, **extra}


def _keyed(op_id: str, summary: str) -> dict[str, Any]:
    return {"operationId": op_id, "tags": ["meta"], "summary": summary,
            "responses": {"200": {"description": "The actions", **_JSON},
                          "422": error("An unknown query parameter"),
                          "401": error("Missing or invalid API key"),
                          "429": error("Rate limited (see Retry-After)"),
                          "503": error("A dependency (PostgreSQL, Redis) is down")}}


def _open(op_id: str, summary: str, ok: dict[str, Any], **responses: Any) -> dict[str, Any]:
    return {"operationId": op_id, "tags": ["meta"], "security": [], "summary": summary,
            "responses": {"200": ok, **responses}}


WEBHOOK = {
    "operationId": "webhooks_shopify", "tags": ["webhooks"], "security": [],
    "summary": "Shopify webhooks (signed by the shop's webhook secret, no API key)",
    "description": ("Verified by X-Shopify-Hmac-Sha256 over the raw body, deduplicated by "
                    "X-Shopify-Webhook-Id (and X-Shopify-Event-Id), stored, then handled by the dispatcher. "
                    "Topics acted on: " + ", ".join(WEBHOOK_TOPICS) + ". Any other topic, or a payload "
                    "without its topic's shape, is acknowledged with 200 and nothing is done."),
    "parameters": [
        {"in": "header", "name": name, "required": required, "schema": {"type": "string"}, "description": text}
        for name, required, text in (
            ("X-Shopify-Hmac-Sha256", True, "base64 HMAC-SHA256 of the raw body with the shop's webhook secret"),
            ("X-Shopify-Shop-Domain", True, "The shop's myshopify domain"),
            ("X-Shopify-Topic", True, "One of: " + ", ".join(WEBHOOK_TOPICS)),
            ("X-Shopify-Webhook-Id", True, "Deduplication key of the delivery"),
            ("X-Shopify-Event-Id", False, "Deduplication key of the event (several deliveries)"),
            ("X-Shopify-Triggered-At", False, "When Shopify triggered it; too old is refused as a replay"))],
    "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
    "responses": {"200": {"description": "Accepted (or a duplicate, or a topic ignored)", "content": {
        "application/json": {"schema": {"type": "object", "properties": {
            "ok": {"type": "boolean"}, "duplicate": {"type": "boolean"}}}}}},
        "400": error("Missing X-Shopify-Topic / X-Shopify-Webhook-Id, or malformed JSON"),
        "401": error("Bad or missing signature, unknown shop, or a replay"),
        "413": error("Body larger than 1 MiB"),
        "429": error("Rate limited (see Retry-After)"),
        "503": error("A dependency (PostgreSQL, Redis) is down")},
}


def outside_paths(actions: list[Action], served: set[str] | None = None) -> dict[str, dict[str, Any]]:
    """path -> {method: operation} for everything the registry doesn't declare;
    `served` (the app's route paths) drops the widget's paths where it isn't there."""
    scopes = sorted({"/" + a.scope for a in actions})
    help_all = _keyed("help", "Every action: name, method, path, request_schema (what the MCP tools take)")
    help_all["responses"]["422"] = error("prefix does not start with '/', or an unknown parameter")
    paths: dict[str, dict[str, Any]] = {
        BASE_PATH + "/help": {"get": {
            **help_all,
            "parameters": [{"in": "query", "name": "prefix", "required": False, "schema": {"type": "string"},
                            "description": "Only actions whose path starts with it (must start with '/')"}]}},
    }
    for scope in scopes:
        paths[f"{BASE_PATH}{scope}/help"] = {"get": _keyed(f"help_{scope.strip('/')}",
                                                           f"The actions under {scope}")}
    paths.update({
        "/healthz": {"get": _open("healthz", "The process is up", {"description": "Up", **_JSON})},
        "/readyz": {"get": _open("readyz", "PostgreSQL and Redis reachable", {"description": "Ready", **_JSON},
                                 **{"503": {"description": "Not ready: the checks say which", **_JSON}})},
        "/metrics": {"get": _open("metrics", "Prometheus metrics (text exposition format)",
                                  {"description": "Metrics", **_TEXT})},
        "/llms.txt": {"get": _open("llms_txt", "A plain-text index of the API for AI agents, from the registry",
                                   {"description": "The index", **_TEXT})},
        "/webhooks/shopify": {"post": WEBHOOK},
        "/t/{token}": {"get": {
            "operationId": "public_click", "tags": ["public pages"], "security": [],
            "summary": "Click tracking: 302 to the product (only ever on the shop's domains); HEAD doesn't count",
            "parameters": _token("click"),
            "responses": {"302": {"description": "To the product page, with UTM parameters",
                                  "headers": {"Location": {"schema": {"type": "string"}}}}, **_PAGE_ANSWERS}}},
        "/u/{token}": {
            "get": _public("public_unsubscribe_page", "A page asking to confirm the unsubscribe (changes nothing)",
                           "unsubscribe", "The page (or: already unsubscribed)",
                           parameters=[*_token("unsubscribe"), _ALL]),
            "post": _public("public_unsubscribe", "Unsubscribe: the page's button or RFC 8058 one-click",
                            "unsubscribe", "Unsubscribed", parameters=[*_token("unsubscribe"), _ALL],
                            requestBody={"required": False, "content": {"application/x-www-form-urlencoded": {
                                "schema": {"type": "object", "properties": {
                                    "List-Unsubscribe": {"type": "string", "enum": ["One-Click"]}}}}}}),
        },
        "/optin/{token}": {
            "get": _public("public_optin_page", "A page asking to confirm the alert (changes nothing)", "optin",
                           "The page (or: already confirmed / cancelled)"),
            "post": _public("public_optin_confirm", "Confirm the alert (double opt-in)", "optin", "Confirmed"),
        },
        "/storefront/widget.js": {"get": _open("storefront_widget", "The storefront widget's script (ETag)",
                                               {"description": "JavaScript", "content": {
                                                   "application/javascript": {"schema": {"type": "string"}}}})},
        "/storefront/config": {"get": {
            **_open("storefront_config", "What the widget needs: shop name, channels, opt-in, texts (CORS)",
                    {"description": "The configuration", **_JSON},
                    **{"404": error("Unknown or uninstalled shop"), "403": error("Origin not the shop's"),
                       "429": error("Rate limited (per client address)")}),
            "parameters": [{"in": "query", "name": "shop", "required": True, "schema": {"type": "string"},
                            "description": "The shop's myshopify domain"},
                           {"in": "query", "name": "locale", "required": False, "schema": {"type": "string"},
                            "description": "en, fr, de or es: the language of texts.sms_consent"}]}},
    })
    return {path: ops for path, ops in paths.items()
            if path not in WIDGET_PATHS or served is None or path in served}



def docs_page(ui_index: str, spec_url: str, static: str) -> str:
    """apigami's Swagger UI index, titled after the product instead of "Swagger UI"."""
    page = Template(ui_index).substitute(path=spec_url, static=static, layout="StandaloneLayout")
    return page.replace("<title>Swagger UI</title>", f"<title>{TITLE} reference</title>")
