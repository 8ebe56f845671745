"""POST /api/v1/intents.json: the storefront signup. No API key: the shop is
X-Shopify-Shop-Domain. Same validation and core as the authenticated create
(with `storefront`: an existing customer's details and consent are never
changed), the same opt-in and high-demand hooks.

Since anyone can call it: rate limits per client address, shop and contact;
browsers only from the shop's own origins; and the answer shows no stored
contact detail or name the caller did not send itself."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from aiohttp import web

from api_service.auth import Principal
from api_service.context import CONNECTIONS, Shop
from api_service.meta.operations import document, error
from shared_models.errors import Forbidden, NotFound, Unprocessable
from api_service.routing import json_response, load, read_json
from api_service.signups import service
from api_service.signups.schemas import CONTACT_FIELD
from api_service.v1 import cors
from api_service.v1.errors import v1_errors
from api_service.v1.limits import STOREFRONT_LIMITERS, StorefrontLimiters
from api_service.v1.output import intent_out
from api_service.v1.schemas import CREATE_RENAMES, V1SignupCreate

PATH = "/api/v1/intents.json"
SOURCE = "storefront"  # when the intent names none
SHOP = "SELECT * FROM shops WHERE domain = $1 AND uninstalled_at IS NULL"
# No index on storefront_domains: preflights are few and cached (Max-Age).
ORIGIN_KNOWN = """
SELECT EXISTS (SELECT 1 FROM shops
               WHERE uninstalled_at IS NULL AND (domain = $1 OR $1 = ANY (storefront_domains)))
"""


async def limiters_ctx(app: web.Application) -> AsyncIterator[None]:
    """Runs after connections_ctx: the buckets live in the same Redis."""
    conns = app[CONNECTIONS]
    app[STOREFRONT_LIMITERS] = StorefrontLimiters(conns.redis, conns.config.limits)
    yield


async def find_shop(pool: asyncpg.Pool, header: str | None) -> Shop:
    domain = (header or "").strip().lower()
    row = await pool.fetchrow(SHOP, domain) if domain else None
    if row is None:
        raise NotFound("Shop not found")
    return Shop.from_row(row)


def storefront_view(intent: dict[str, Any], customer: dict[str, Any]) -> dict[str, Any]:
    """The intent, with the stored email, phone and name of an existing
    customer shown only where they are what the caller sent."""
    given = {"email": (customer.get("email") or "").lower() or None, "phone": customer.get("phone"),
             "customer_name": customer.get("name")}
    stored = {"email": (intent["email"] or "").lower() or None, "phone": intent["phone"],
              "customer_name": intent["customer_name"]}
    return {**intent, **{k: None for k in given if stored[k] != given[k]}}


async def create(request: web.Request) -> web.Response:
    conns = request.app[CONNECTIONS]
    limiters = request.app[STOREFRONT_LIMITERS]
    request[cors.CORS_HEADERS] = {"Vary": "Origin"}
    await limiters.address(request.remote)
    shop = await find_shop(conns.pool, request.headers.get("X-Shopify-Shop-Domain"))
    origin = request.headers.get("Origin")
    if origin is not None:
        # Browsers send Origin; only the shop's own pages may sign people up.
        if not cors.allowed(origin, shop.domains):
            raise Forbidden("This origin may not sign up for this shop")
        request[cors.CORS_HEADERS] = cors.response_headers(origin)
    await limiters.shop(shop.shop_id)
    raw, _ = await read_json(request)
    if not isinstance(raw, dict):
        raise Unprocessable.from_fields({"": ["The body must be a JSON object."]})
    data = load(V1SignupCreate, raw)
    if (raw.get("intent") or {}).get("source") is None:
        data["source"] = SOURCE
    await limiters.contact(shop.shop_id, data["customer"][CONTACT_FIELD[data["channel"]]])
    with v1_errors(CREATE_RENAMES):
        row, created = await service.create_signup(conns, Principal(shop, None, False), data, storefront=True)
    return json_response({"intent": storefront_view(intent_out(row), data["customer"])}, 201 if created else 200)


async def preflight(request: web.Request) -> web.Response:
    """Browsers send no custom header in a preflight: the origin alone must
    belong to some shop; the POST then checks it against its own shop."""
    origin = request.headers.get("Origin")
    if origin is None:
        return web.Response(status=204, headers={"Allow": "POST, OPTIONS"})
    await request.app[STOREFRONT_LIMITERS].address(request.remote)
    host = cors.origin_host(origin)
    known = host is not None and await request.app[CONNECTIONS].pool.fetchval(ORIGIN_KNOWN, host)
    if not known:
        raise Forbidden("This origin may not sign up here")
    return web.Response(status=204, headers=cors.preflight_headers(origin))


def _documented(handler: Any) -> Any:
    """A fresh function per app: apigami's decorators annotate the function itself."""
    async def documented(request: web.Request) -> web.StreamResponse:
        return await handler(request)

    documented.__name__ = handler.__name__
    return document(
        documented, operation_id="v1_storefront_intents_create", tags=["storefront"], security=[],
        summary="Storefront signup (no API key): 201 {intent}; 200 with the customer's existing waiting one.",
        description=("The shop is X-Shopify-Shop-Domain (unknown: 404). Same validation as "
                     "back_in_stock_signups_create; an existing customer's details and consent are never "
                     "changed, and product.url must be on the shop's domains; the product's text (title, variant "
                     "title, sku, vendor, url) is validated but not stored: messages show only text from "
                     "Shopify or the merchant's API key. Browsers: only from "
                     "https://<shop domain> or https://<storefront domain> (CORS; other origins 403). "
                     "Rate-limited per client address, shop and contact (429 with Retry-After). The stored "
                     "email, phone and name of an existing customer are shown only where they match what "
                     "was sent."),
        parameters=[{"in": "header", "name": "X-Shopify-Shop-Domain", "required": True,
                     "schema": {"type": "string"}, "description": "The shop's myshopify domain"}],
        responses={"201": {"description": "Created"}, "200": {"description": "The existing waiting intent"},
                   "403": error("Origin not allowed"), "404": error("Unknown shop"),
                   "422": error("Validation error"), "429": error("Rate limited"),
                   "400": error("Malformed JSON"), "413": error("Body larger than 1 MiB"),
                   "503": error("A dependency (PostgreSQL, Redis) is down")},
        body_schema=V1SignupCreate)


def add_routes(app: web.Application) -> None:
    app.cleanup_ctx.append(limiters_ctx)
    app.router.add_post(PATH, _documented(create))
    app.router.add_route("OPTIONS", PATH, preflight)
    app.on_response_prepare.append(cors.add_cors_headers)
