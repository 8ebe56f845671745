"""POST /api/v1/intents.json: the storefront signup, no API key, the shop by
X-Shopify-Shop-Domain; CORS, rate limits, and what an anonymous caller can
neither change nor learn."""
from __future__ import annotations

import pytest

from api_service.admin import shops as admin
from api_service.app import create_app
from api_service.context import CONNECTIONS
from shared_models.config import Config, ConfigError
from shared_models.queue import MERCHANT_ALERT, SEND_OPTIN
from tests.factories import count, create, set_optin_required
from tests.test_v1_support import INTENT_KEYS, intent_body

PATH = "/api/v1/intents.json"
OTHER_ORIGIN = "https://evil.example"


def headers(shop, **extra: str) -> dict[str, str]:
    return {"X-Shopify-Shop-Domain": shop.domain, **extra}


async def post(client, shop_domain: str | None, body, **extra: str):
    h = {"X-Shopify-Shop-Domain": shop_domain} if shop_domain is not None else {}
    resp = await client.post(PATH, json=body, headers={**h, **extra})
    return resp.status, await resp.json(), resp


class QueueRecorder:
    """Stands in for the arq queue: what the hooks enqueued."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    async def try_enqueue(self, function: str, *args: object, **kwargs: object) -> bool:
        self.calls.append((function, *args))
        return True


@pytest.fixture
def queue(client) -> QueueRecorder:
    recorder = QueueRecorder()
    client.app[CONNECTIONS].queue = recorder
    return recorder


async def test_signup_without_a_key_is_seen_by_v2(client, api, shop):
    url = f"https://{shop.domain}/products/linen-shirt"
    status, out, resp = await post(client, shop.domain, intent_body(source=None, product={"url": url}))
    assert status == 201, out
    assert set(out) == {"intent"} and set(out["intent"]) == INTENT_KEYS
    intent = out["intent"]
    assert (intent["email"], intent["customer_name"], intent["source"]) == ("ann@example.com", "Ann", "storefront")
    _, read, _ = await api.get(f"/back_in_stock/signups/{intent['id']}")
    assert read["contact"] == "ann@example.com" and read["source"] == "storefront"
    # Not an alias of a v2 call: there is nothing to migrate to.
    assert "Deprecation" not in resp.headers
    status, again, _ = await post(client, shop.domain.upper(), intent_body())
    assert status == 200 and again["intent"]["id"] == intent["id"]


async def test_unknown_missing_or_uninstalled_shop_is_404(client, shop, make_shop, pool):
    gone = await make_shop()
    await pool.execute("UPDATE shops SET uninstalled_at = now() WHERE shop_id = $1", gone.shop_id)
    for domain in ("nope.myshopify.com", None, "", gone.domain):
        status, out, _ = await post(client, domain, intent_body())
        assert (status, out) == (404, {"errors": ["Shop not found"]}), domain
    assert await count(pool, "signups") == 0


async def test_same_validation_as_v2_create(client, shop, pool):
    cases = [
        (intent_body(email="nope"), "customer.email"),
        (intent_body(channel="sms"), "customer.phone"),
        (intent_body(quantity=0), "intent.quantity"),
        (intent_body(product_id=None), "intent.shopify_product_id"),  # not in the catalog yet
        ({"customer": {"email": "a@example.com"}}, "intent"),
    ]
    for body, field in cases:
        status, out, _ = await post(client, shop.domain, body)
        assert status == 422 and field in out["fields"], (field, out)
    resp = await client.post(PATH, data=b"{", headers=headers(shop))
    assert resp.status == 400
    assert await count(pool, "signups") == 0


async def test_product_links_only_on_the_shops_domains(client, shop, pool):
    for url in ("https://evil.example/products/x", f"https://{shop.domain}.evil.example/p",
                "https://shop.example/p"):
        status, out, _ = await post(client, shop.domain, intent_body(product={"url": url}))
        assert status == 422 and list(out["fields"]) == ["product.url"], url
    await admin.set_domains(pool, shop.domain, ["shop.example"])
    status, out, _ = await post(client, shop.domain, intent_body(product={"url": "https://shop.example/p"}))
    assert status == 201, out


async def test_never_changes_an_existing_customer(client, api, shop, pool):
    await create(api, name="Ann", email="ann@example.com")
    body = intent_body(variant_id=4002, channel="sms", email="ann@example.com", phone="+14155550123",
                       name="Mallory")
    body["customer"].update(accepts_marketing=False, locale="fr", country_code="FR")
    status, out, _ = await post(client, shop.domain, body)
    assert status == 201, out
    customer = await pool.fetchrow("SELECT * FROM customers WHERE shop_id = $1", shop.shop_id)
    assert (customer["name"], customer["phone"], customer["accepts_marketing"], customer["locale"],
            customer["country_code"]) == ("Ann", None, True, "en", "US")
    # And an anonymous caller learns no stored detail it did not send.
    assert out["intent"]["customer_name"] is None and out["intent"]["phone"] is None
    assert out["intent"]["email"] == "ann@example.com"


async def test_existing_customers_details_stay_hidden(client, api, shop):
    await create(api, channel="sms", email="ann@example.com", phone="+14155550123", name="Ann")
    status, out, _ = await post(client, shop.domain, intent_body(variant_id=4002, email="ann@example.com",
                                                                 name=None))
    assert status == 201
    assert (out["intent"]["phone"], out["intent"]["customer_name"]) == (None, None)


async def test_cors_for_the_shops_origins_only(client, shop, pool):
    await admin.set_domains(pool, shop.domain, ["shop.example"])
    for origin in (f"https://{shop.domain}", "https://shop.example"):
        resp = await client.options(PATH, headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                                   "Access-Control-Request-Headers": "content-type"})
        assert resp.status == 204
        assert resp.headers["Access-Control-Allow-Origin"] == origin
        assert resp.headers["Access-Control-Allow-Methods"] == "POST"
        assert {h.strip().lower() for h in resp.headers["Access-Control-Allow-Headers"].split(",")} == \
            {"content-type", "x-shopify-shop-domain"}
        status, out, resp = await post(client, shop.domain, intent_body(), Origin=origin)
        assert status in (200, 201), out
        assert resp.headers["Access-Control-Allow-Origin"] == origin

    for origin in (OTHER_ORIGIN, f"http://{shop.domain}", f"https://{shop.domain}:8443", "null"):
        resp = await client.options(PATH, headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
        assert resp.status == 403 and "Access-Control-Allow-Origin" not in resp.headers, origin
        status, out, resp = await post(client, shop.domain, intent_body(variant_id=4100), Origin=origin)
        assert status == 403 and "Access-Control-Allow-Origin" not in resp.headers, origin
    assert await count(pool, "signups") == 1


async def test_one_shops_origin_is_not_anothers(client, shop, make_shop):
    other = await make_shop()
    status, _, resp = await post(client, shop.domain, intent_body(), Origin=f"https://{other.domain}")
    assert status == 403 and "Access-Control-Allow-Origin" not in resp.headers


async def test_errors_carry_cors_headers_for_allowed_origins(client, shop):
    origin = f"https://{shop.domain}"
    status, _, resp = await post(client, shop.domain, intent_body(email="nope"), Origin=origin)
    assert status == 422 and resp.headers["Access-Control-Allow-Origin"] == origin


async def test_rate_limited_per_contact(client, shop, pool):
    burst = 10  # STOREFRONT_CONTACT_RATE_BURST's default
    for variant in range(burst):
        status, out, _ = await post(client, shop.domain, intent_body(variant_id=5000 + variant))
        assert status == 201, out
    status, out, resp = await post(client, shop.domain, intent_body(variant_id=6000, email="ANN@example.com"))
    assert status == 429 and out["errors"] and int(resp.headers["Retry-After"]) >= 1
    # Another contact from the same address and shop still gets through.
    status, _, _ = await post(client, shop.domain, intent_body(variant_id=6000, email="bob@example.com"))
    assert status == 201
    assert await count(pool, "signups") == burst + 1


async def test_rate_limited_per_address_and_per_shop(env, redis, aiohttp_client, make_shop):
    shop, other = await make_shop(), await make_shop()
    env = {**env, "STOREFRONT_SHOP_RATE_BURST": "2", "STOREFRONT_SHOP_RATE_PER_SECOND": "0.001"}
    limited = await aiohttp_client(create_app(Config.from_env(env)))
    emails = iter(f"c{i}@example.com" for i in range(100))
    statuses = [(await post(limited, shop.domain, intent_body(email=next(emails))))[0] for _ in range(3)]
    assert statuses == [201, 201, 429]
    assert (await post(limited, other.domain, intent_body(email=next(emails))))[0] == 201

    env = {**env, "STOREFRONT_ADDRESS_RATE_BURST": "1", "STOREFRONT_ADDRESS_RATE_PER_SECOND": "0.001"}
    by_address = await aiohttp_client(create_app(Config.from_env(env)))
    statuses = [(await post(by_address, d, intent_body(email=next(emails))))[0]
                for d in (other.domain, other.domain, "nope.myshopify.com")]
    assert statuses == [201, 429, 429]  # the address is limited before the shop is even looked up


def test_bad_limit_configuration_is_refused_with_the_configuration(env):
    """Read with every other variable (shared_models.config), so a bad value stops the process at its start."""
    with pytest.raises(ConfigError, match="STOREFRONT_CONTACT_RATE_BURST must be an integer"):
        Config.from_env({**env, "STOREFRONT_CONTACT_RATE_BURST": "lots"})
    with pytest.raises(ConfigError, match="STOREFRONT_SHOP_RATE_PER_SECOND must be a number above 0"):
        Config.from_env({**env, "STOREFRONT_CONTACT_RATE_BURST": "5", "STOREFRONT_SHOP_RATE_PER_SECOND": "0"})


async def test_runs_the_v2_optin_hook(client, shop, pool, queue):
    await set_optin_required(pool, shop.shop_id)
    status, out, _ = await post(client, shop.domain, intent_body())
    assert status == 201 and out["intent"]["optin_confirmed"] is False
    assert queue.calls == [(SEND_OPTIN, str(shop.shop_id), out["intent"]["id"])]
    # An existing waiting signup is not created again: no second confirmation.
    assert (await post(client, shop.domain, intent_body()))[0] == 200
    assert len(queue.calls) == 1


async def test_runs_the_v2_high_demand_hook(client, api, shop, queue):
    status, _, _ = await api.patch("/back_in_stock/settings/alerts",
                                   json={"high_demand": {"enabled": True, "threshold": 2}})
    assert status == 200
    assert (await post(client, shop.domain, intent_body(email="a@example.com")))[0] == 201
    assert queue.calls == []
    assert (await post(client, shop.domain, intent_body(email="b@example.com")))[0] == 201
    assert queue.calls == [(MERCHANT_ALERT, str(shop.shop_id), "high_demand", "4001")]
