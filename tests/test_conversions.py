"""Conversions: orders/create and orders/cancelled webhooks, attribution rules,
purchases (reminders skip buyers), and order tags on a Shopify stand-in."""
from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from decimal import Decimal

import pytest
from aiohttp import web

from api_service.admin.shops import set_token
from api_service.context import Connections
from dispatcher.runtime import Runtime
from dispatcher.shopify_admin import push_pending_tags
from tests.dispatch_support import running_workers, wait_for
from tests.report_support import notification_of, order, report, restock, send_order, signup, utm_landing
from tests.stand_ins import Reply, _HttpStandIn

UTC = dt.timezone.utc
ANN, BOB, CAT = "ann@example.com", "bob@example.com", "cat@example.com"


class ShopifyStandIn(_HttpStandIn):
    """POST /admin/api/{version}/graphql.json, recording requests; replies are queued."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[dict] = []

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/admin/api/{version}/graphql.json", self.graphql)

    def default(self, request: web.Request) -> Reply:
        return Reply(200, {"data": {"tagsAdd": {"node": {"id": "gid://shopify/Order/1"}, "userErrors": []}}})

    async def graphql(self, request: web.Request) -> web.StreamResponse:
        self.calls.append({"token": request.headers.get("X-Shopify-Access-Token"), "body": await request.json()})
        return await self.answer(request, self.next_reply(request))


@pytest.fixture
async def alerted(client, api, pool, shop, config):
    """ann and bob alerted for variant 4001, cat for 4002 (real restocks through real workers)."""
    ids = {"ann": await signup(api, shop, variant_id=4001, product_id=9001, item=7001, email=ANN),
           "bob": await signup(api, shop, variant_id=4001, product_id=9001, item=7001, email=BOB),
           "cat": await signup(api, shop, variant_id=4002, product_id=9001, item=7002, email=CAT)}
    async with running_workers(config):
        await restock(client, pool, shop, 7001, 7002)
    notes = {name: await notification_of(pool, sid) for name, sid in ids.items()}
    assert all(n["status"] == "sent" for n in notes.values())
    return {"signups": ids, "notifications": {k: n["notification_id"] for k, n in notes.items()}, "rows": notes}


async def attributions(pool, order_id: int) -> list:
    return await pool.fetch("SELECT * FROM order_attributions WHERE order_id = $1 ORDER BY line_id", order_id)


async def signup_row(pool, signup_id: str):
    return await pool.fetchrow("SELECT * FROM signups WHERE signup_id = $1", uuid.UUID(signup_id))


LINE_4001 = {"variant_id": 4001, "product_id": 9001, "price": "30.00", "quantity": 2,
             "discount_allocations": [{"amount": "5.00"}]}


async def test_utm_content_names_the_alert_high_confidence(client, pool, shop, config, api, alerted):
    bob_alert = alerted["notifications"]["bob"]
    payload = order(1001, [LINE_4001, {"variant_id": 9999, "product_id": 9998, "price": "10.00"}],
                    email="stranger@example.com", landing_site=utm_landing(bob_alert))
    async with running_workers(config):
        outcome = await send_order(client, pool, shop, payload)
    assert outcome == "order attributed: 1 lines (high)"
    [row] = await attributions(pool, 1001)
    assert (row["notification_id"], row["confidence"], row["variant_id"], row["quantity"], row["revenue"]) == \
        (bob_alert, "high", 4001, 2, Decimal("55.00"))
    bob, ann = await signup_row(pool, alerted["signups"]["bob"]), await signup_row(pool, alerted["signups"]["ann"])
    assert bob["converted_at"] is not None and bob["purchased_at"] is not None  # the one who clicked bought
    assert ann["converted_at"] is None and ann["purchased_at"] is None
    summary = await report(api, "summary")
    assert (summary["conversions"], summary["recovered_revenue"], summary["converted"]) == (1, "55.00", 1)
    assert summary["conversion_rate"] == round(1 / 3, 4)


async def test_utm_source_without_content_credits_the_buyer_else_the_latest_alert(
        client, pool, shop, config, alerted):
    await pool.execute("UPDATE notifications SET sent_at = sent_at - interval '1 hour' WHERE notification_id = $1",
                       alerted["notifications"]["bob"])  # ann's alert is the variant's latest
    note = [{"name": "landing", "value": "https://x.test/?utm_source=back_in_stock&utm_medium=sms"}]
    async with running_workers(config):
        await send_order(client, pool, shop, order(1002, [LINE_4001], email=BOB, note_attributes=note))
        await send_order(client, pool, shop, order(1003, [LINE_4001], email="stranger@example.com",
                                                   landing_site=utm_landing()))
    [by_buyer] = await attributions(pool, 1002)
    [by_variant] = await attributions(pool, 1003)
    assert (by_buyer["notification_id"], by_buyer["confidence"]) == (alerted["notifications"]["bob"], "high")
    assert (by_variant["notification_id"], by_variant["confidence"]) == (alerted["notifications"]["ann"], "high")
    # The stranger may be anyone: ann's signup is credited, but not marked as a buyer.
    ann = await signup_row(pool, alerted["signups"]["ann"])
    assert ann["converted_at"] is not None and ann["purchased_at"] is None


async def test_same_customer_is_medium_confidence(client, pool, shop, config, alerted):
    await pool.execute("UPDATE customers SET shopify_customer_id = 555 WHERE lower(email) = $1", CAT)
    async with running_workers(config):
        await send_order(client, pool, shop, order(1004, [LINE_4001], email="ANN@Example.COM"))
        # Shopify customer id (set by SQL: no endpoint links customers to Shopify yet), another email.
        await send_order(client, pool, shop, order(1005, [{"variant_id": 4002, "product_id": 9001, "price": "12.50"}],
                                                   email="cat.other@example.com", customer_id=555))
    [ann] = await attributions(pool, 1004)
    [cat] = await attributions(pool, 1005)
    assert (ann["notification_id"], ann["confidence"], ann["revenue"]) == \
        (alerted["notifications"]["ann"], "medium", Decimal("55.00"))
    assert (cat["notification_id"], cat["confidence"], cat["revenue"]) == \
        (alerted["notifications"]["cat"], "medium", Decimal("12.50"))
    assert (await signup_row(pool, alerted["signups"]["cat"]))["purchased_at"] is not None


async def test_what_is_not_counted(client, pool, shop, config, api, alerted):
    now = dt.datetime.now(UTC)
    async with running_workers(config):
        outcomes = [
            # another customer, no UTM
            await send_order(client, pool, shop, order(1006, [LINE_4001], email="stranger@example.com")),
            # the same customer, but 8 days after the alert
            await send_order(client, pool, shop, order(1007, [LINE_4001], email=ANN,
                                                       created_at=now + dt.timedelta(days=8))),
            # our UTM, but before any alert
            await send_order(client, pool, shop, order(1008, [LINE_4001], email=BOB, landing_site=utm_landing(),
                                                       created_at=now - dt.timedelta(days=1))),
            # our UTM on another source, a variant never alerted
            await send_order(client, pool, shop, order(1009, [{"variant_id": 4003, "price": "9.00"}], email=ANN,
                                                       landing_site="/?utm_source=newsletter")),
        ]
    assert outcomes == ["order recorded: no line attributed"] * 4
    assert await pool.fetchval("SELECT count(*) FROM order_attributions") == 0
    # ann still bought the variant after signing up: no reminder for her.
    ann = await signup_row(pool, alerted["signups"]["ann"])
    assert ann["purchased_at"] is not None and ann["converted_at"] is None
    summary = await report(api, "summary")
    assert (summary["conversions"], summary["recovered_revenue"], summary["conversion_rate"]) == (0, "0.00", 0.0)


async def test_an_order_counts_once_and_cancelling_removes_it(client, pool, shop, config, api, alerted):
    payload = order(1010, [LINE_4001], email=ANN)
    async with running_workers(config):
        first = await send_order(client, pool, shop, payload, webhook_id="w-1")
        again = await send_order(client, pool, shop, payload, webhook_id="w-2")  # redelivered under a new id
        assert (first, again) == ("order attributed: 1 lines (medium)", "ignored: order already recorded")
        assert (await report(api, "summary"))["conversions"] == 1
        assert (await signup_row(pool, alerted["signups"]["ann"]))["purchased_at"] is not None

        cancel = {"id": 1010, "line_items": [], "cancelled_at": dt.datetime.now(UTC).isoformat()}
        assert await send_order(client, pool, shop, cancel, topic="orders/cancelled") == \
            "order cancelled: 1 signups no longer converted"
        assert await send_order(client, pool, shop, cancel, topic="orders/cancelled") == \
            "ignored: order already cancelled"
        # Cancelled before Shopify's orders/create reached us: counts nothing either.
        early = {"id": 1011, "line_items": [], "cancelled_at": dt.datetime.now(UTC).isoformat()}
        assert await send_order(client, pool, shop, early, topic="orders/cancelled") == \
            "order cancelled before it was recorded"
        assert await send_order(client, pool, shop, order(1011, [LINE_4001], email=BOB)) == \
            "order recorded: already cancelled"
    assert await pool.fetchval("SELECT count(*) FROM order_attributions") == 0
    ann = await signup_row(pool, alerted["signups"]["ann"])
    assert ann["converted_at"] is None and ann["purchased_at"] is None
    summary = await report(api, "summary")
    assert (summary["conversions"], summary["converted"], summary["recovered_revenue"]) == (0, 0, "0.00")


def runtime_with(client, pool, config) -> Runtime:
    conns = Connections(config=config, pool=pool, redis=None, queue=None)
    return Runtime(conns, queue=None, providers={}, throttle=None)


async def test_attributed_orders_are_tagged_on_shopify(client, pool, shop, config, api, alerted):
    async with ShopifyStandIn() as shopify:
        cfg = dataclasses.replace(config, shopify_admin_api_base=shopify.base_url)
        rt = runtime_with(client, pool, cfg)
        async with running_workers(config):
            # No token yet: recorded, not pushed.
            await send_order(client, pool, shop, order(1020, [LINE_4001], email=ANN))
            await set_token(pool, shop.domain, "shpat_test")
            await api.patch("/back_in_stock/settings/tagging", json={"order_tag": {"tag": "restocked"}})
            await send_order(client, pool, shop, order(1021, [LINE_4001], email=BOB))
            await send_order(client, pool, shop, order(1022, [LINE_4001], email="nobody@example.com"))
        assert await push_pending_tags(rt) == 1
        assert shopify.calls == [{"token": "shpat_test", "body": {
            "query": shopify.calls[0]["body"]["query"],
            "variables": {"id": "gid://shopify/Order/1021", "tags": ["restocked"]}}}]
        assert "tagsAdd(id: $id, tags: $tags)" in shopify.calls[0]["body"]["query"]
        tags = {r["order_id"]: (r["tag"], r["tag_status"]) for r in await pool.fetch("SELECT * FROM orders")}
        assert tags == {1020: ("back-in-stock", "skipped"), 1021: ("restocked", "done"), 1022: (None, None)}
        assert await push_pending_tags(rt) == 0  # nothing left


async def test_tag_failures_are_retried_then_given_up(client, pool, shop, config, api, alerted):
    await set_token(pool, shop.domain, "shpat_test")
    async with ShopifyStandIn() as shopify:
        rt = runtime_with(client, pool, dataclasses.replace(config, shopify_admin_api_base=shopify.base_url))
        async with running_workers(config):
            await send_order(client, pool, shop, order(1030, [LINE_4001], email=ANN))
            await send_order(client, pool, shop, order(1031, [LINE_4001], email=BOB))
        shopify.replies = [Reply(503, {"errors": "unavailable"}),
                           Reply(200, {"data": {"tagsAdd": {"node": None, "userErrors": [
                               {"field": ["id"], "message": "Order does not exist"}]}}})]
        assert await push_pending_tags(rt) == 0
        rows = {r["order_id"]: r for r in await pool.fetch("SELECT * FROM orders")}
        statuses = sorted((r["tag_status"], r["tag_attempts"]) for r in rows.values())
        assert statuses == [("failed", 1), ("pending", 1)]  # 503: later; userErrors: given up
        retry = next(r for r in rows.values() if r["tag_status"] == "pending")
        assert "503" in retry["tag_error"]
        await pool.execute("UPDATE orders SET tag_next_at = now() WHERE order_id = $1", retry["order_id"])
        assert await push_pending_tags(rt) == 1
        assert len(shopify.calls) == 3
    disabled = await api.patch("/back_in_stock/settings/tagging", json={"order_tag": {"enabled": False}})
    assert disabled[0] == 200
    async with running_workers(config):
        assert await send_order(client, pool, shop, order(1032, [LINE_4001], email=ANN)) == \
            "order attributed: 1 lines (medium)"
    assert await pool.fetchrow("SELECT tag, tag_status FROM orders WHERE order_id = 1032") == (None, None)


async def test_workers_push_tags_on_their_own(client, pool, shop, config, alerted):
    await set_token(pool, shop.domain, "shpat_cron")
    async with ShopifyStandIn() as shopify:
        cfg = dataclasses.replace(config, shopify_admin_api_base=shopify.base_url)
        async with running_workers(cfg):
            await send_order(client, pool, shop, order(1040, [LINE_4001], email=ANN))
            await wait_for(lambda: _tagged(pool, 1040), timeout=25, what="the order tag pushed by the cron")
    assert [c["body"]["variables"] for c in shopify.calls] == \
        [{"id": "gid://shopify/Order/1040", "tags": ["back-in-stock"]}]


async def _tagged(pool, order_id: int) -> bool:
    return await pool.fetchval("SELECT tag_status FROM orders WHERE order_id = $1", order_id) == "done"


async def test_order_tags_of_one_shop_share_its_query_budget(client, pool, shop, config):
    """One Admin client per shop in a batch: the second order waits for the
    bucket the first reply reported, instead of a fresh client spending
    points the shop no longer has (THROTTLED)."""
    from tests.shopify_admin import Bucket, ShopifyAdminStandIn

    await set_token(pool, shop.domain, "shpat_test")
    await pool.execute("""
        INSERT INTO orders (shop_id, order_id, tag, tag_status, tag_next_at)
        SELECT $1, g, 'back-in-stock', 'pending', now() - interval '1 minute' FROM generate_series(1, 4) g""",
        shop.shop_id)
    async with ShopifyAdminStandIn() as shopify:
        shopify.bucket = Bucket(maximum=2.0, restore_rate=100.0, available=2.0)  # one tagsAdd at a time
        rt = runtime_with(client, pool, dataclasses.replace(config, shopify_admin_api_base=shopify.base_url))
        assert await push_pending_tags(rt) == 4
    assert sorted(i for i, _ in shopify.tags_added) == [f"gid://shopify/Order/{n}" for n in range(1, 5)]
    assert shopify.throttled == 0
