"""tagging.customer_tags: customers who sign up get the shop's tags on
Shopify (an Admin API stand-in), once each, when Shopify knows them."""
from __future__ import annotations

import dataclasses

from api_service.admin.shops import set_token
from dispatcher.customer_tags import push_customer_tags, search_query
from dispatcher.runtime import Tuning
from dispatcher.worker import build_runtime, close_runtime
from tests.dispatch_support import FAST, create_signup, running_workers, wait_for
from tests.shopify_admin import ShopifyAdminStandIn


async def tagged(pool, shop) -> dict:
    rows = await pool.fetch("SELECT email, phone, shopify_tagged_at, shopify_customer_id, tag_status "
                            "FROM customers WHERE shop_id = $1", shop.shop_id)
    return {r["email"] or r["phone"]: (r["shopify_tagged_at"] is not None, r["shopify_customer_id"],
                                       r["tag_status"]) for r in rows}


async def test_customers_are_tagged_once_when_shopify_knows_them(client, api, pool, shop, config):
    status, out, _ = await api.patch("/back_in_stock/settings/tagging",
                                     json={"customer_tags": ["waiting-list", "bis"]})
    assert status == 200, out
    await set_token(pool, shop.domain, "shpat_test")
    await create_signup(api, shop, email="Ann@Example.com")
    await create_signup(api, shop, channel="sms", phone="+14155550123", email=None)
    await create_signup(api, shop, email="zed@example.com")
    async with ShopifyAdminStandIn() as shopify:
        shopify.customers = {"ann@example.com": 5550001, "+14155550123": 5550002}
        rt = await build_runtime(dataclasses.replace(config, shopify_admin_api_base=shopify.base_url),
                                 Tuning(**FAST))
        try:
            assert await push_customer_tags(rt) == 2
            assert sorted(shopify.tags_added) == [("gid://shopify/Customer/5550001", ["waiting-list", "bis"]),
                                                  ("gid://shopify/Customer/5550002", ["waiting-list", "bis"])]
            # zed is not a Shopify customer (yet): looked for by email.
            searches = [c["variables"]["query"] for c in shopify.operations("BisCustomerByContact")]
            assert 'email:"zed@example.com"' in searches
            assert await push_customer_tags(rt) == 0  # once each; zed waits a day
            assert len(shopify.tags_added) == 2

            # zed orders and becomes a customer; a day later the next pass finds them.
            shopify.customers["zed@example.com"] = 5550003
            await pool.execute("UPDATE customers SET tag_next_at = now() WHERE shop_id = $1 "
                               "AND shopify_tagged_at IS NULL", shop.shop_id)
            assert await push_customer_tags(rt) == 1
        finally:
            await close_runtime(rt)
    assert await tagged(pool, shop) == {"Ann@Example.com": (True, 5550001, None),
                                        "+14155550123": (True, 5550002, None),
                                        "zed@example.com": (True, 5550003, None)}


async def test_no_tags_no_token_no_calls_and_workers_push_on_their_own(client, api, pool, shop, config):
    await create_signup(api, shop, email="ann@example.com")
    async with ShopifyAdminStandIn() as shopify:
        shopify.customers = {"ann@example.com": 5550001}
        cfg = dataclasses.replace(config, shopify_admin_api_base=shopify.base_url, shopify_reconcile_minutes=0)
        rt = await build_runtime(cfg, Tuning(**FAST))
        try:
            await api.patch("/back_in_stock/settings/tagging", json={"customer_tags": ["bis"]})
            assert await push_customer_tags(rt) == 0  # no token: nothing to call
        finally:
            await close_runtime(rt)
        assert shopify.calls == []
        await set_token(pool, shop.domain, "shpat_test")
        async with running_workers(cfg):  # the tag cron runs every 10 s
            await wait_for(lambda: _tags_added(shopify), timeout=30, what="customer tagged by the cron")
    assert shopify.tags_added == [("gid://shopify/Customer/5550001", ["bis"])]


async def _tags_added(shopify):
    return shopify.tags_added


def test_search_values_are_quoted():
    assert search_query('a"b\\c@example.com', None) == 'email:"a\\"b\\\\c@example.com"'
    assert search_query(None, "+14155550123") == 'phone:"+14155550123"'
    assert search_query(None, None) is None


async def test_unsubscribed_and_suppressed_customers_are_not_tagged(client, api, pool, shop, config):
    await api.patch("/back_in_stock/settings/tagging", json={"customer_tags": ["bis"]})
    await set_token(pool, shop.domain, "shpat_test")
    gone = await create_signup(api, shop, email="gone@example.com")
    await create_signup(api, shop, email="quiet@example.com")
    await pool.execute("UPDATE signups SET unsubscribed_at = now() WHERE signup_id = $1::uuid", gone["id"])
    await pool.execute("INSERT INTO suppressions (shop_id, channel, contact, source) "
                       "VALUES ($1, 'email', 'quiet@example.com', 'one_click')", shop.shop_id)
    async with ShopifyAdminStandIn() as shopify:
        shopify.customers = {"gone@example.com": 1, "quiet@example.com": 2}
        rt = await build_runtime(dataclasses.replace(config, shopify_admin_api_base=shopify.base_url),
                                 Tuning(**FAST))
        try:
            assert await push_customer_tags(rt) == 0
        finally:
            await close_runtime(rt)
    assert shopify.tags_added == [] and shopify.calls == []
