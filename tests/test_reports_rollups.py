"""The rollups the reports read stay equal to a recomputation from the rows
through every kind of change the service makes: creates, sends, clicks,
orders and cancellations, transfers with merges, deletes, unsubscribes,
customer and shop redaction."""
from __future__ import annotations

import asyncio
import uuid

from shared_models import tokens
from tests.dispatch_support import running_workers, wait_for
from tests.report_support import notification_of, order, restock, send_order, signup
from tests.shopify import send_webhook

DAILY = """
SELECT variant_id, product_id, day, channel, state, signups FROM report_signups_daily
WHERE shop_id = $1 AND signups <> 0 ORDER BY 1, 2, 3, 4, 5
"""
# Per state, the latest time may lag (see sql/021); over the group's states it is exact.
DAILY_LATEST = """
SELECT variant_id, product_id, day, channel, max(last_created_at) FROM report_signups_daily
WHERE shop_id = $1 AND variant_id <> 0 AND signups <> 0 GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
"""
DEMAND = """
SELECT channel, variant_id, product_id, total, pending, last_requested_at FROM report_variant_demand
WHERE shop_id = $1 AND (total <> 0 OR pending <> 0) ORDER BY 1, 2, 3
"""
MONTHLY = """
SELECT channel, month, variant_id, product_id, total, pending, last_requested_at FROM report_variant_demand_monthly
WHERE shop_id = $1 AND (total <> 0 OR pending <> 0) ORDER BY 1, 2, 3, 4
"""
NOTIFICATIONS = """
SELECT variant_id, product_id, day, channel, status, blocked_reason, attempts, clicked
FROM report_notifications_daily WHERE shop_id = $1 AND (attempts <> 0 OR clicked <> 0) ORDER BY 1, 2, 3, 4, 5, 6
"""


async def snapshot(pool, shop_id) -> dict[str, list]:
    await pool.execute("SELECT report_rollups_fold($1)", shop_id)  # what a report does first
    return {name: [tuple(r) for r in await pool.fetch(sql, shop_id)]
            for name, sql in (("daily", DAILY), ("latest", DAILY_LATEST), ("demand", DEMAND), ("monthly", MONTHLY),
                              ("notifications", NOTIFICATIONS))}


async def assert_rollups_exact(pool, shop_id) -> dict[str, list]:
    maintained = await snapshot(pool, shop_id)
    await pool.execute("SELECT report_rollups_rebuild($1)", shop_id)
    assert maintained == await snapshot(pool, shop_id)
    return maintained


async def test_rollups_follow_every_change(client, api, pool, shop, config):
    ids = {}
    for name, variant, item, channel in [("ann", 4001, 7001, "email"), ("bob", 4001, 7001, "email"),
                                         ("cat", 4001, 7001, "sms"), ("ann2", 4002, 7002, "email"),
                                         ("dan", 4002, 7002, "email"), ("eve", 4003, 7003, "push"),
                                         ("fay", 4003, 7003, "email")]:
        contact = {"email": None, "phone": "+14155550123"} if channel == "sms" else \
            {"email": None, "push_token": f"tok-{name}"} if channel == "push" else \
            {"email": f"{name.rstrip('2')}@example.com"}
        ids[name] = await signup(api, shop, variant_id=variant, product_id=9000 + variant % 2, item=item,
                                 channel=channel, **contact)
    snap = await assert_rollups_exact(pool, shop.shop_id)
    assert sum(r[-1] for r in snap["daily"] if r[0] == 0 and r[1] == 0) == 7

    async with running_workers(config):
        await restock(client, pool, shop, 7001)
        alert = (await notification_of(pool, ids["bob"]))["notification_id"]
        assert (await client.get(f"/t/{tokens.sign('click', shop.shop_id, alert, config.secret_key)}",
                                 allow_redirects=False)).status == 302
        await send_order(client, pool, shop, order(5001, [{"variant_id": 4001, "price": "10.00"}],
                                                   email="bob@example.com"))
        await send_order(client, pool, shop, order(5002, [{"variant_id": 4001, "price": "10.00"}],
                                                   email="ann@example.com"))
        await send_order(client, pool, shop, {"id": 5002, "line_items": [], "cancelled_at": "2026-12-01T10:00:00Z"},
                         topic="orders/cancelled")
        await assert_rollups_exact(pool, shop.shop_id)

        # fay waits on 4003 and now on 4002 too: moving 4003's waiting signups to 4002
        # merges hers (keeping the earlier created_at) and moves eve's.
        await signup(api, shop, variant_id=4002, product_id=9000, item=7002, email="fay@example.com")
        status, body, _ = await api.post("/back_in_stock/signups/transfer", json={
            "from_variant_id": 4003, "from_product_id": 9001, "to_variant_id": 4002, "to_product_id": 9000})
        assert status == 200 and body == {"transferred_count": 1, "merged_count": 1}, body
        await assert_rollups_exact(pool, shop.shop_id)

        assert (await api.delete(f"/back_in_stock/signups/{ids['dan']}"))[0] == 204
        token = tokens.sign("unsubscribe", shop.shop_id, uuid.UUID(ids["ann2"]), config.secret_key)
        assert (await client.post(f"/u/{token}")).status == 200
        await send_webhook(client, shop, "customers/redact",
                           {"shop_domain": shop.domain, "customer": {"email": "bob@example.com"}})
        await restock(client, pool, shop, 7002)
    snap = await assert_rollups_exact(pool, shop.shop_id)
    assert snap["notifications"] and snap["demand"] and snap["monthly"]

    async with running_workers(config):
        # shop/redact acts only on an uninstalled shop, and names its Shopify id.
        await send_order(client, pool, shop, {"id": 77, "domain": shop.domain}, topic="app/uninstalled")
        await send_webhook(client, shop, "shop/redact", {"shop_id": 77, "shop_domain": shop.domain})
        await wait_for(lambda: _gone(pool, shop.shop_id), what="shop redacted")
    for table in ("report_signups_daily", "report_variant_demand", "report_variant_demand_monthly",
                  "report_notifications_daily", "report_signup_deltas", "report_notification_deltas"):
        assert await pool.fetchval(f"SELECT count(*) FROM {table}") == 0


async def test_concurrent_folds_count_each_change_once(api, pool, shop):
    """Writes append deltas; folds racing each other (reports, every worker)
    move each delta exactly once."""
    for n in range(30):
        await signup(api, shop, variant_id=4100 + n % 3, product_id=9100, item=7100 + n % 3,
                     email=f"fold-{n}@example.com")
    assert await pool.fetchval("SELECT count(*) FROM report_signup_deltas WHERE shop_id = $1", shop.shop_id) > 0
    await asyncio.gather(*(pool.fetchval("SELECT report_rollups_fold($1, $2)", shop.shop_id, n % 2 == 0)
                           for n in range(8)))
    assert await pool.fetchval("SELECT count(*) FROM report_signup_deltas WHERE shop_id = $1", shop.shop_id) == 0
    snap = await assert_rollups_exact(pool, shop.shop_id)
    assert sum(r[-1] for r in snap["daily"] if r[0] == 0 and r[1] == 0) == 30


async def _gone(pool, shop_id) -> bool:
    return not await pool.fetchval("SELECT count(*) FROM shops WHERE shop_id = $1", shop_id)


async def test_dispatchers_fold_deltas_in_the_background(api, pool, shop, config):
    """With no report asked for, a running dispatcher still moves the deltas
    into the rollups (every DISPATCH_FOLD_SECONDS)."""
    for n in range(5):
        await signup(api, shop, variant_id=4200, product_id=9200, item=7200, email=f"bg-{n}@example.com")

    async def pending() -> int:
        return await pool.fetchval("SELECT count(*) FROM report_signup_deltas WHERE shop_id = $1", shop.shop_id)

    assert await pending() > 0
    async with running_workers(config, fold_seconds=0.1):
        await wait_for(lambda: _none(pending), what="deltas folded")
    total = await pool.fetchval("SELECT total FROM report_variant_demand WHERE shop_id = $1 AND channel = 'all' "
                                "AND variant_id = 4200", shop.shop_id)
    assert total == 5


async def _none(count) -> bool:
    return await count() == 0
