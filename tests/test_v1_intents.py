"""v1 list, read and create against v2: data created through one is seen
through the other, in each one's exact shape."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest

from api_service.admin import shops as admin
from tests.factories import (
    count,
    create,
    mark_notified,
    set_columns,
    set_optin_required,
)
from tests.test_v1_support import INTENT_KEYS, V1Api, assert_deprecated, intent_body


@pytest.fixture
def v1(client, shop) -> V1Api:
    return V1Api(client, shop.headers)


INTENTS = "/intents"


async def test_create_through_v1_is_read_through_v2(v1, api, shop, pool):
    url = f"https://{shop.domain}/products/linen-shirt?variant=4001"
    body = intent_body(shopify_inventory_item_id=7001, shopify_market_id=55,
                       product={"title": "Linen shirt", "variant_title": "M / Blue", "url": url})
    status, out, resp = await v1.post(INTENTS, json=body)
    assert status == 201, out
    assert set(out) == {"intent"} and set(out["intent"]) == INTENT_KEYS
    intent = out["intent"]
    assert_deprecated(resp, "/back_in_stock/signups")
    assert (intent["shopify_variant_id"], intent["shopify_product_id"], intent["shopify_inventory_item_id"]) == \
        (4001, 9001, 7001)
    assert (intent["channel"], intent["email"], intent["phone"], intent["customer_name"]) == \
        ("email", "ann@example.com", None, "Ann")
    assert (intent["notified_at"], intent["blocked_at"], intent["unsubscribed_at"]) == (None, None, None)
    assert intent["optin_confirmed"] is True and intent["sent_notifications_count"] == 0
    assert intent["created_at"].endswith("Z")

    status, read, _ = await api.get(f"/back_in_stock/signups/{intent['id']}")
    assert status == 200
    assert read["customer"]["id"] == intent["customer_id"]
    assert read["variant"] == {"shopify_variant_id": 4001, "shopify_product_id": 9001,
                               "title": "Linen shirt - M / Blue"}
    assert await pool.fetchval("SELECT shopify_market_id FROM signups WHERE signup_id = $1",
                               uuid.UUID(intent["id"])) == 55


async def test_create_through_v2_is_read_and_listed_through_v1(v1, api, pool):
    signup = await create(api, channel="sms", phone="+14155550123", inventory_item_id=7001)
    status, out, resp = await v1.get(f"{INTENTS}/{signup['id']}")
    assert status == 200 and set(out) == {"intent"}
    assert_deprecated(resp, f"/back_in_stock/signups/{signup['id']}")
    intent = out["intent"]
    assert set(intent) == INTENT_KEYS
    assert intent["id"] == signup["id"] and intent["customer_id"] == signup["customer"]["id"]
    assert (intent["channel"], intent["phone"], intent["email"]) == ("sms", "+14155550123", "ann@example.com")
    assert intent["shopify_inventory_item_id"] == 7001
    assert intent["created_at"] == signup["created_at"]

    status, listed, _ = await v1.get(INTENTS)
    assert status == 200 and set(listed) == {"intents", "meta"}
    assert listed["intents"] == [intent]
    assert listed["meta"] == {"total_count": 1, "page": 1, "per_page": 50, "total_pages": 1}


async def test_v1_states_come_from_the_dispatchers_columns(v1, api, pool, shop):
    await set_optin_required(pool, shop.shop_id)
    signup = await create(api)
    await mark_notified(pool, signup["id"], when="'2026-01-02T03:04:05Z'")
    await set_columns(pool, signup["id"], last_blocked_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    _, out, _ = await v1.get(f"{INTENTS}/{signup['id']}")
    intent = out["intent"]
    assert intent["notified_at"] == "2026-01-02T03:04:05Z"
    assert intent["sent_notifications_count"] == 1 and intent["blocked_at"] == "2026-01-01T00:00:00Z"
    assert intent["optin_confirmed"] is False


async def test_existing_waiting_intent_answers_200(v1, api):
    signup = await create(api)
    status, out, _ = await v1.post(INTENTS, json=intent_body(email="ANN@example.com", quantity=4))
    assert status == 200
    assert out["intent"]["id"] == signup["id"] and out["intent"]["quantity"] == 1


async def test_push_contact_is_v1s_push(v1, api):
    status, out, _ = await v1.post(INTENTS, json=intent_body(channel="push", email=None, push="tok-1"))
    assert status == 201, out
    _, read, _ = await api.get(f"/back_in_stock/signups/{out['intent']['id']}")
    assert read["contact"] == "tok-1" and read["channel"] == "push"


@pytest.mark.parametrize("change, field", [
    (lambda b: b["intent"].pop("shopify_variant_id"), "intent.shopify_variant_id"),
    (lambda b: b["intent"].update(shopify_variant_id="x"), "intent.shopify_variant_id"),
    (lambda b: b["intent"].update(channel="fax"), "intent.channel"),
    (lambda b: b["intent"].update(quantity=0), "intent.quantity"),
    (lambda b: b["intent"].update(variant_id=4001), "intent.variant_id"),  # a v2 name is unknown in v1
    (lambda b: b["customer"].update(email="nope"), "customer.email"),
    (lambda b: b["customer"].update(push_token="t"), "customer.push_token"),
    (lambda b: b.pop("customer"), "customer"),
    (lambda b: b.update(extra=1), "extra"),
])
async def test_bad_create_is_422_under_v1_names(v1, pool, change, field):
    body = intent_body()
    change(body)
    status, out, resp = await v1.post(INTENTS, json=body)
    assert status == 422 and field in out["fields"], out
    assert out["errors"]
    assert_deprecated(resp, "/back_in_stock/signups")
    assert await count(pool, "signups") == 0


async def test_channel_needs_its_v1_contact(v1):
    status, out, _ = await v1.post(INTENTS, json=intent_body(channel="push", push=None))
    assert status == 422 and out["fields"] == {"customer.push": ["Required for the push channel."]}


async def test_core_errors_use_v1_names(v1, shop, pool):
    # The catalog does not know the variant: the core asks for its product id.
    status, out, _ = await v1.post(INTENTS, json=intent_body(product_id=None))
    assert status == 422 and list(out["fields"]) == ["intent.shopify_product_id"]
    assert out["errors"][0].startswith("intent.shopify_product_id: ")
    status, out, _ = await v1.post(INTENTS, json=intent_body(product={"url": "https://evil.example/p"}))
    assert status == 422 and list(out["fields"]) == ["product.url"]
    assert await count(pool, "signups") == 0


async def test_read_unknown_or_other_shops_is_404(v1, api, make_shop):
    other = await make_shop()
    theirs = await create(api.with_key(other.api_key))
    for intent_id in (str(uuid.uuid4()), theirs["id"], "not-a-uuid"):
        status, out, resp = await v1.get(f"{INTENTS}/{intent_id}")
        assert status == 404 and out == {"errors": ["Intent not found"]}
        assert resp.headers["Deprecation"] == "true"


async def test_list_filters(v1, api, pool):
    a = await create(api, variant_id=4001, product_id=9001, email="ann@example.com")
    b = await create(api, variant_id=4002, product_id=9002, email="bob@example.com",
                     channel="sms", phone="+14155550199")
    c = await create(api, variant_id=4003, product_id=9001, email="cy@example.org")
    await mark_notified(pool, c["id"])
    await set_columns(pool, a["id"], created_at=dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC))

    async def ids(**params: str) -> list[str]:
        status, out, _ = await v1.get(INTENTS, params=params)
        assert status == 200, out
        return [i["id"] for i in out["intents"]]

    assert set(await ids()) == {a["id"], b["id"], c["id"]}
    assert await ids(shopify_variant_id="4002") == [b["id"]]
    assert set(await ids(shopify_product_id="9001")) == {a["id"], c["id"]}
    assert await ids(email="BOB@") == [b["id"]]
    assert await ids(phone="415 555 0199") == [b["id"]]
    assert await ids(notified="true") == [c["id"]]
    assert set(await ids(notified="false")) == {a["id"], b["id"]}
    assert await ids(start_date="2026-01-05", end_date="2026-01-05") == [a["id"]]
    assert a["id"] not in await ids(start_date="2026-01-06")


async def test_list_pages_go_up_to_500(v1, api, pool):
    for variant in range(3):
        await create(api, variant_id=5000 + variant)
    status, out, _ = await v1.get(INTENTS, params={"per_page": "500"})
    assert status == 200 and out["meta"] == {"total_count": 3, "page": 1, "per_page": 500, "total_pages": 1}
    status, out, _ = await v1.get(INTENTS, params={"per_page": "2", "page": "2"})
    assert len(out["intents"]) == 1 and out["meta"]["total_pages"] == 2
    # The v2 list keeps its own limit.
    assert (await api.get("/back_in_stock/signups", params={"per_page": "500"}))[0] == 422


@pytest.mark.parametrize("params, field", [
    ({"per_page": "501"}, "per_page"), ({"per_page": "0"}, "per_page"), ({"page": "0"}, "page"),
    ({"notified": "maybe"}, "notified"), ({"start_date": "yesterday"}, "start_date"),
    ({"start_date": "2026-02-01", "end_date": "2026-01-01"}, "start_date"),
    ({"status": "pending"}, "status"),  # a v2-only filter
    ({"variant_id": "4001"}, "variant_id"),
])
async def test_bad_list_query_is_422(v1, params, field):
    status, out, resp = await v1.get(INTENTS, params=params)
    assert status == 422 and field in out["fields"], out
    assert_deprecated(resp, "/back_in_stock/signups")


async def test_v1_needs_a_key_and_honours_read_only(client, pool, shop):
    status, out, resp = await V1Api(client, {}).get(INTENTS)
    assert status == 401 and out["errors"]
    assert_deprecated(resp, "/back_in_stock/signups")
    read_only = V1Api(client, {"X-Auth-Token": await admin.create_key(pool, shop.shop_id, read_only=True)})
    assert (await read_only.get(INTENTS))[0] == 200
    status, _, resp = await read_only.post(INTENTS, json=intent_body())
    assert status == 403 and resp.headers["Deprecation"] == "true"


async def test_idempotency_key_replays_a_v1_create(v1, pool):
    headers = {"Idempotency-Key": "v1-create-1"}
    first = await v1.post(INTENTS, json=intent_body(), headers=headers)
    again = await v1.post(INTENTS, json=intent_body(), headers=headers)
    assert (first[0], again[0]) == (201, 201) and first[1] == again[1]
    assert again[2].headers.get("Idempotent-Replayed") == "true"
    assert_deprecated(again[2], "/back_in_stock/signups")
    assert await count(pool, "signups") == 1
