"""POST /back_in_stock/signups: validation, customers, catalog, dedupe, opt-in, idempotency."""
from __future__ import annotations

import asyncio
import uuid

import pytest

from api_service.admin import shops as admin
from api_service.signups import queries
from tests.factories import counts, create, set_optin_required, signup_body

PATH = "/back_in_stock/signups"


async def test_create_returns_the_contract_shape(api, shop, pool):
    body = signup_body(inventory_item_id=7001,
                       product={"title": "Linen shirt", "variant_title": "M / Blue", "sku": "LS-M-B",
                                "vendor": "Acme", "url": f"https://{shop.domain}/products/linen-shirt?variant=4001"})
    status, out, _ = await api.post(PATH, json=body)
    assert status == 201, out
    assert set(out) == {"id", "status", "channel", "contact", "quantity", "source", "variant", "customer",
                        "optin", "notifications_sent", "last_notified_at", "unsubscribed_at",
                        "created_at", "updated_at"}
    uuid.UUID(out["id"])
    uuid.UUID(out["customer"]["id"])
    assert out["status"] == "pending"
    assert out["channel"] == "email" and out["contact"] == "ann@example.com"
    assert out["quantity"] == 1 and out["source"] == "api"
    assert out["variant"] == {"shopify_variant_id": 4001, "shopify_product_id": 9001,
                              "title": "Linen shirt - M / Blue"}
    assert out["customer"]["email"] == "ann@example.com" and out["customer"]["name"] == "Ann"
    assert out["optin"] == {"required": False, "confirmed": True}
    assert out["notifications_sent"] == 0
    assert out["last_notified_at"] is None and out["unsubscribed_at"] is None
    assert out["created_at"].endswith("Z") and out["updated_at"].endswith("Z")

    variant = await pool.fetchrow("SELECT * FROM variants WHERE shop_id = $1 AND variant_id = 4001", shop.shop_id)
    assert (variant["product_id"], variant["inventory_item_id"], variant["sku"], variant["vendor"],
            variant["source"]) == (9001, 7001, "LS-M-B", "Acme", "api")
    assert variant["url"].endswith("variant=4001")
    customer = await pool.fetchrow("SELECT * FROM customers WHERE shop_id = $1", shop.shop_id)
    assert (customer["accepts_marketing"], customer["locale"], customer["country_code"]) == (True, "en", "US")

    status, read, _ = await api.get(f"{PATH}/{out['id']}")
    assert status == 200 and read == out


async def test_same_open_signup_answers_200_with_it(api, pool):
    first = await api.post(PATH, json=signup_body())
    again = await api.post(PATH, json=signup_body(email="ANN@Example.com", quantity=3))
    assert (first[0], again[0]) == (201, 200)
    assert again[1]["id"] == first[1]["id"]
    assert again[1]["quantity"] == 1  # the existing signup, unchanged
    assert await counts(pool) == (1, 1, 1)


async def test_other_channel_or_variant_is_a_new_signup(api, pool):
    a = await create(api)
    status_sms, sms, _ = await api.post(PATH, json=signup_body(channel="sms", phone="+14155550123"))
    status_var, var, _ = await api.post(PATH, json=signup_body(variant_id=4002))
    assert (status_sms, status_var) == (201, 201)
    assert len({a["id"], sms["id"], var["id"]}) == 3
    assert sms["customer"]["id"] == a["customer"]["id"] == var["customer"]["id"]


async def test_after_an_alert_or_unsubscribe_a_new_signup_is_created(api, pool):
    a = await create(api)
    await pool.execute("UPDATE signups SET last_notified_at = now(), notifications_sent = 1 WHERE signup_id = $1",
                       uuid.UUID(a["id"]))
    status, b, _ = await api.post(PATH, json=signup_body())
    assert status == 201 and b["id"] != a["id"]
    await pool.execute("UPDATE signups SET unsubscribed_at = now() WHERE signup_id = $1", uuid.UUID(b["id"]))
    status, c, _ = await api.post(PATH, json=signup_body())
    assert status == 201 and c["id"] not in (a["id"], b["id"])
    assert (await counts(pool))[0] == 3


async def test_concurrent_identical_creates_make_one_signup(api, pool):
    results = await asyncio.gather(*[api.post(PATH, json=signup_body()) for _ in range(10)])
    statuses = sorted(r[0] for r in results)
    assert statuses == [200] * 9 + [201], [r[1] for r in results]
    assert len({r[1]["id"] for r in results}) == 1
    assert await counts(pool) == (1, 1, 1)


async def test_concurrent_creates_of_one_new_customer_on_many_variants(api, pool):
    results = await asyncio.gather(*[api.post(PATH, json=signup_body(variant_id=5000 + i)) for i in range(8)])
    assert all(r[0] == 201 for r in results), [r[1] for r in results]
    assert len({r[1]["customer"]["id"] for r in results}) == 1
    assert await counts(pool) == (8, 1, 8)


async def test_a_create_waits_for_a_transfer_into_its_variant(api, pool, shop):
    """signup_create's shared variant lock and transfer's exclusive one are the
    same key: a create on a variant being merged into waits for the merge."""
    waiting = ("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
               "AND wait_event = 'advisory' AND query LIKE '%signup_create%'")
    async with pool.acquire() as transfer:
        tx = transfer.transaction()
        await tx.start()
        await transfer.execute(queries.LOCK_VARIANT_EXCLUSIVE, shop.shop_id, 4001)
        creating = asyncio.create_task(api.post(PATH, json=signup_body(variant_id=4001)))
        for _ in range(200):  # until the create's backend waits on the lock (at most 10 s)
            if await pool.fetchval(waiting):
                break
            await asyncio.sleep(0.05)
        assert await pool.fetchval(waiting) == 1 and not creating.done()
        await tx.rollback()
    status, out, _ = await creating
    assert status == 201, out


async def test_sms_phone_is_normalized_to_e164(api, pool, shop):
    status, out, _ = await api.post(PATH, json=signup_body(channel="sms", email=None, phone="+1 (415) 555-0123"))
    assert status == 201, out
    assert out["contact"] == "+14155550123"
    assert out["customer"]["email"] is None
    assert await pool.fetchval("SELECT phone FROM customers WHERE shop_id = $1", shop.shop_id) == "+14155550123"
    # found again by phone, whatever the formatting
    status, again, _ = await api.post(PATH, json=signup_body(channel="sms", email=None, phone="+14155550123"))
    assert status == 200 and again["id"] == out["id"]


async def test_push_signup(api, pool):
    status, out, _ = await api.post(PATH, json=signup_body(channel="push", email=None, push_token="tok-123"))
    assert status == 201, out
    assert out["contact"] == "tok-123" and out["channel"] == "push"


async def test_nulls_mean_defaults(api):
    body = signup_body(quantity=None, source=None, product=None, inventory_item_id=None)
    body["customer"].update(name=None, accepts_marketing=None, locale=None, country_code=None, phone=None)
    status, out, _ = await api.post(PATH, json=body)
    assert status == 201, out
    assert (out["quantity"], out["source"], out["variant"]["title"]) == (1, "api", None)


async def test_minimal_body(api):
    status, out, _ = await api.post(PATH, json={"variant_id": 1, "product_id": 2, "channel": "email",
                                                "customer": {"email": "min@example.com"}})
    assert status == 201, out
    assert out["customer"]["name"] is None and out["quantity"] == 1


TOO_LONG = "x" * 256


@pytest.mark.parametrize("change, path", [
    ({"variant_id": None}, "variant_id"),
    ({"variant_id": "4001"}, "variant_id"),
    ({"variant_id": 0}, "variant_id"),
    ({"variant_id": -5}, "variant_id"),
    ({"variant_id": 2**63}, "variant_id"),
    ({"product_id": 0}, "product_id"),
    ({"inventory_item_id": "x"}, "inventory_item_id"),
    ({"channel": "fax"}, "channel"),
    ({"channel": None}, "channel"),
    ({"quantity": 0}, "quantity"),
    ({"quantity": 10_001}, "quantity"),
    ({"quantity": 1.5}, "quantity"),
    ({"source": ""}, "source"),
    ({"source": "s" * 65}, "source"),
    ({"customer": None}, "customer"),
    ({"customer": "ann@example.com"}, "customer"),
    ({"customer": {"email": "not-an-email"}}, "customer.email"),
    ({"customer": {"email": None}}, "customer.email"),
    ({"customer": {"email": "a@b.co", "country_code": "USA"}}, "customer.country_code"),
    ({"customer": {"email": "a@b.co", "country_code": "ZZ"}}, "customer.country_code"),
    ({"customer": {"email": "a@b.co", "locale": "e"}}, "customer.locale"),
    ({"customer": {"email": "a@b.co", "locale": "en-" + "x" * 40}}, "customer.locale"),
    ({"customer": {"email": "a@b.co", "name": TOO_LONG}}, "customer.name"),
    ({"customer": {"email": "a@b.co", "phone": "+1 555"}}, "customer.phone"),
    ({"customer": {"email": "a@b.co", "nickname": "A"}}, "customer.nickname"),
    ({"product": {"title": TOO_LONG}}, "product.title"),
    ({"product": {"url": "ftp://example.com/x"}}, "product.url"),
    ({"product": {"url": "javascript:alert(1)"}}, "product.url"),
    ({"product": {"url": "https://evil.com\\@SHOP/p"}}, "product.url"),
    ({"product": {"url": "https://user@SHOP/p"}}, "product.url"),
    ({"product": {"url": "https://evil.com/products/x"}}, "product.url"),
    ({"product": {"url": "https://SHOP.evil.com/products/x"}}, "product.url"),
    ({"product": {"url": "https://evil.com/?next=https://SHOP/"}}, "product.url"),
    ({"unexpected": 1}, "unexpected"),
])
async def test_bad_input_is_422_and_changes_nothing(api, pool, shop, change, path):
    body = signup_body()
    for key, value in change.items():
        if key == "product":
            value = {k: v.replace("SHOP", shop.domain) if isinstance(v, str) else v for k, v in value.items()}
        body[key] = value
    status, out, _ = await api.post(PATH, json=body)
    assert status == 422, out
    assert path in out["fields"], out
    assert out["errors"] and all(isinstance(m, str) for m in out["errors"])
    assert await counts(pool) == (0, 0, 0)


@pytest.mark.parametrize("channel, missing", [("email", "email"), ("sms", "phone"), ("push", "push_token")])
async def test_channel_needs_its_contact(api, pool, channel, missing):
    body = signup_body(channel=channel, email="a@b.co", phone="+14155550123", push_token="tok")
    body["customer"].pop(missing)
    status, out, _ = await api.post(PATH, json=body)
    assert status == 422
    assert out["fields"] == {f"customer.{missing}": [f"Required for the {channel} channel."]}
    assert out["errors"] == [f"customer.{missing}: Required for the {channel} channel."]
    assert await counts(pool) == (0, 0, 0)


async def test_all_field_errors_come_back_together(api, pool):
    body = signup_body(channel="sms", quantity=0, phone=None)
    body["customer"]["country_code"] = "XX"
    status, out, _ = await api.post(PATH, json=body)
    assert status == 422
    assert {"quantity", "customer.phone", "customer.country_code"} <= set(out["fields"])


async def test_not_json_object_or_malformed(api, pool):
    status, out, _ = await api.post(PATH, json=[signup_body()])
    assert status == 422 and out["errors"]
    status, out, _ = await api.call("POST", PATH, data=b"{not json", headers={"Content-Type": "application/json"})
    assert status == 400 and out["errors"][0].startswith("Malformed JSON")
    assert await counts(pool) == (0, 0, 0)


async def test_product_url_on_the_shop_domains(api, pool, shop):
    ok = signup_body(product={"url": f"https://{shop.domain.upper()}/products/x"})
    assert (await api.post(PATH, json=ok))[0] == 201
    store = signup_body(variant_id=2, product={"url": "http://www.acme-store.com/products/x"})
    status, out, _ = await api.post(PATH, json=store)
    assert status == 422 and "product.url" in out["fields"]
    await admin.set_domains(pool, shop.domain, ["www.acme-store.com"])
    status, out, _ = await api.post(PATH, json=store)
    assert status == 201, out


async def test_product_id_may_come_from_the_catalog(api, pool, shop):
    status, out, _ = await api.post(PATH, json=signup_body(product_id=None))
    assert status == 422
    assert list(out["fields"]) == ["product_id"]
    assert await counts(pool) == (0, 0, 0)
    await create(api, variant_id=4001, product_id=9001, email="first@example.com")
    status, out, _ = await api.post(PATH, json=signup_body(product_id=None))
    assert status == 201, out
    assert out["variant"]["shopify_product_id"] == 9001


async def test_shopify_catalog_rows_win(api, pool, shop):
    await pool.execute(
        "INSERT INTO variants (shop_id, variant_id, product_id, product_title, variant_title, sku, source) "
        "VALUES ($1, 4001, 9999, 'Shopify shirt', 'L', 'SH-1', 'shopify')", shop.shop_id)
    out = await create(api, product={"title": "Other", "variant_title": "S", "sku": "X"}, inventory_item_id=5)
    assert out["variant"] == {"shopify_variant_id": 4001, "shopify_product_id": 9999, "title": "Shopify shirt - L"}
    row = await pool.fetchrow("SELECT * FROM variants WHERE shop_id = $1", shop.shop_id)
    assert (row["product_title"], row["variant_title"], row["sku"], row["inventory_item_id"]) == \
        ("Shopify shirt", "L", "SH-1", None)


async def test_api_catalog_rows_are_updated_but_never_erased(api, pool, shop):
    await create(api)
    await create(api, email="bob@example.com", product={"variant_title": "L / Red"}, inventory_item_id=77)
    row = await pool.fetchrow("SELECT * FROM variants WHERE shop_id = $1", shop.shop_id)
    assert (row["product_title"], row["variant_title"], row["sku"], row["inventory_item_id"]) == \
        ("Linen shirt", "L / Red", "LS-M-B", 77)


async def test_default_title_variant_shows_the_product_title(api):
    out = await create(api, product={"title": "Mug", "variant_title": "Default Title"})
    assert out["variant"]["title"] == "Mug"


async def test_api_fills_missing_customer_details_only(api, pool, shop):
    await create(api, name=None)
    body = signup_body(channel="sms", phone="+14155550123", name="Ann Lee")
    body["customer"]["locale"] = "fr"
    status, out, _ = await api.post(PATH, json=body)
    assert status == 201
    assert out["customer"]["name"] == "Ann Lee"  # was missing: filled
    row = await pool.fetchrow("SELECT * FROM customers WHERE shop_id = $1", shop.shop_id)
    assert (row["phone"], row["locale"]) == ("+14155550123", "en")  # locale was known: kept
    status, out, _ = await api.post(PATH, json=signup_body(variant_id=9, name="Someone else"))
    assert out["customer"]["name"] == "Ann Lee"


async def test_a_phone_held_by_another_customer_is_not_copied(api, pool, shop):
    await create(api, channel="sms", email=None, phone="+14155550123", name="Bob")
    out = await create(api, email="ann@example.com", phone="+14155550123", variant_id=2)
    bob_phone = await pool.fetch("SELECT email FROM customers WHERE shop_id = $1 AND phone = '+14155550123'",
                                 shop.shop_id)
    assert [r["email"] for r in bob_phone] == [None]
    assert out["customer"]["email"] == "ann@example.com"
    assert (await counts(pool))[1] == 2


async def test_optin_required_starts_unconfirmed(api, pool, shop):
    await set_optin_required(pool, shop.shop_id)
    out = await create(api)
    assert out["optin"] == {"required": True, "confirmed": False}
    assert out["status"] == "pending"
    await set_optin_required(pool, shop.shop_id, False)
    out = await create(api, variant_id=2)
    assert out["optin"] == {"required": False, "confirmed": True}


async def test_idempotency_key_replays_the_first_response(api, pool):
    headers = {"Idempotency-Key": "create-1"}
    s1, b1, _ = await api.post(PATH, json=signup_body(), headers=headers)
    s2, b2, r2 = await api.post(PATH, json=signup_body(), headers=headers)
    assert (s1, s2) == (201, 201)  # replayed, not the 200 of a second create
    assert b1 == b2 and r2.headers.get("Idempotent-Replayed") == "true"
    s3, b3, _ = await api.post(PATH, json=signup_body(variant_id=5), headers=headers)
    assert s3 == 422 and b3["errors"]
    assert await counts(pool) == (1, 1, 1)
    s4, b4, _ = await api.post(PATH, json=signup_body(), headers={"Idempotency-Key": "create-2"})
    assert s4 == 200 and b4["id"] == b1["id"]


async def test_idempotency_key_replays_a_validation_error(api, pool):
    headers = {"Idempotency-Key": "bad-1"}
    s1, b1, _ = await api.post(PATH, json=signup_body(quantity=0), headers=headers)
    s2, b2, _ = await api.post(PATH, json=signup_body(quantity=0), headers=headers)
    assert (s1, s2) == (422, 422) and b1 == b2


async def test_read_only_key_cannot_create(api, client, pool, shop):
    key = await admin.create_key(pool, shop.shop_id, read_only=True)
    status, out, _ = await api.with_key(key).post(PATH, json=signup_body())
    assert status == 403 and out["errors"]
    assert await counts(pool) == (0, 0, 0)


async def test_storefront_create_never_changes_an_existing_customer(api, client, pool, shop):
    # Service level: the storefront endpoint is built later, on this core.
    from api_service.context import CONNECTIONS, Shop
    from api_service.signups import service
    await create(api, name=None)
    row = await pool.fetchrow("SELECT * FROM shops WHERE shop_id = $1", shop.shop_id)
    data = {"variant_id": 4002, "product_id": 9001, "channel": "sms", "quantity": 1, "source": "storefront",
            "customer": {"email": "ann@example.com", "phone": "+14155550123", "name": "Changed",
                         "accepts_marketing": False}}
    record, created = await service.create_signup(client.app[CONNECTIONS], Shop.from_row(row), data,
                                                  storefront=True)
    assert created and record["customer_name"] is None
    customer = await pool.fetchrow("SELECT * FROM customers WHERE shop_id = $1", shop.shop_id)
    assert (customer["name"], customer["phone"], customer["accepts_marketing"]) == (None, None, True)


async def test_a_create_brings_its_after_effects_whoever_calls_it(client, pool, shop, api, redis, config):
    """The core's create_signup enqueues the opt-in confirmation itself: an entry
    point can't forget it (v2, v1 and the storefront all call the same function)."""
    from api_service.context import CONNECTIONS, Shop
    from api_service.signups import service
    await api.patch("/back_in_stock/settings/compliance", json={"optin_required": True})
    row = await pool.fetchrow("SELECT * FROM shops WHERE shop_id = $1", shop.shop_id)
    data = {"variant_id": 4002, "product_id": 9001, "channel": "email", "quantity": 1, "source": "script",
            "customer": {"email": "new@example.com"}}
    record, created = await service.create_signup(client.app[CONNECTIONS], Shop.from_row(row), data)
    assert created and record["optin_required"]
    queued = await redis.zrange(config.queue_name, 0, -1)
    assert len(queued) == 1  # the send_optin job for that signup
