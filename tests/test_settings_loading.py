"""Settings loading has one owner: a dispatcher job reads its shop and the
shop's settings once (shared_models.context.SHOP_WITH_OVERRIDES) and passes
them along. Counted on the statements a real pool's connections send while a
restock's webhook is processed and its first chunk runs: the rules, the
messages, the blocked attempts, the usage check and the batch check all use
that one read."""
from __future__ import annotations

import asyncio
import re
import uuid

from dispatcher import targets
from dispatcher.runner import run_job
from dispatcher.runtime import Tuning
from dispatcher.webhooks.process import process_webhook
from dispatcher.worker import build_runtime, close_runtime
from shared_models.allowance import current_month
from shared_models.context import SHOP_WITH_OVERRIDES
from shared_models.db import create_pool
from shared_models.queue import MERCHANT_ALERT
from tests.dispatch_support import create_signup
from tests.shopify import inventory_update, send_webhook

POOL_SIZE = 4
READS_SHOPS = re.compile(r"\b(FROM|JOIN)\s+shops\b")
READS_SETTINGS = re.compile(r"\b(FROM|JOIN)\s+settings\b")


async def _logged_runtime(config, statements: list[str]):
    """A dispatcher runtime whose every pool connection logs the statements it sends."""
    rt = await build_runtime(config, Tuning(chunk_size=50))
    await rt.conns.pool.close()
    rt.conns.pool = pool = await create_pool(config.database_url, min_size=POOL_SIZE, max_size=POOL_SIZE)
    held = [await pool.acquire() for _ in range(POOL_SIZE)]
    for conn in held:
        conn.add_query_logger(lambda logged: statements.append(logged.query))
    for conn in held:
        await pool.release(conn)
    return rt


async def _reads(statements: list[str]) -> tuple[list[str], list[str]]:
    await asyncio.sleep(0)  # loggers are called soon after each statement
    shops = [s for s in statements if READS_SHOPS.search(s)]
    settings = [s for s in statements if READS_SETTINGS.search(s)]
    statements.clear()
    return shops, settings


async def test_rule_settings_load_once_per_job_chunk(client, api, pool, shop, providers):
    for n in range(3):
        await create_signup(api, shop, email=f"w{n}@example.com")
    unconfirmed = await create_signup(api, shop, email="later@example.com")
    sms = await create_signup(api, shop, channel="sms", email=None, phone="+14155550123")
    await pool.execute("UPDATE signups SET optin_required = true WHERE signup_id = $1", uuid.UUID(unconfirmed["id"]))
    # 39 of the free plan's 50 used: this chunk's sends cross the usage warning's 80%.
    await pool.execute("INSERT INTO plan_usage (shop_id, month, used) VALUES ($1, $2, 39)", shop.shop_id,
                       current_month("UTC"))
    webhook_id = str(uuid.uuid4())
    status, _ = await send_webhook(client, shop, "inventory_levels/update", inventory_update(7001, 5),
                                   webhook_id=webhook_id)
    assert status == 200
    statements: list[str] = []
    rt = await _logged_runtime(providers.config, statements)
    try:
        assert await process_webhook(rt, shop.shop_id, webhook_id) == "restock"
        shops, settings = await _reads(statements)
        assert shops == settings == [SHOP_WITH_OVERRIDES]

        job_id = await pool.fetchval("SELECT job_id FROM jobs WHERE shop_id = $1", shop.shop_id)
        assert await run_job(rt, shop.shop_id, job_id) == "chunk"
        shops, settings = await _reads(statements)
        # The job row says whether the shop was uninstalled; the chunk's one read gives the rest.
        assert (shops, settings) == ([targets.JOB, SHOP_WITH_OVERRIDES], [SHOP_WITH_OVERRIDES])
        queued = await (await rt.queue.pool()).queued_jobs(queue_name=rt.queue.queue_name)
        assert [j.args[1:] for j in queued if j.function == MERCHANT_ALERT] == [
            ("usage_warning", current_month("UTC").isoformat())]  # the usage check, from the same read
    finally:
        await close_runtime(rt)
    outcomes = dict(await pool.fetch(
        "SELECT signup_id, COALESCE(blocked_reason, status) FROM notifications WHERE shop_id = $1", shop.shop_id))
    assert sorted(outcomes.values()) == ["channel_disabled", "optin_unconfirmed", "sent", "sent", "sent"]
    assert outcomes[uuid.UUID(sms["id"])] == "channel_disabled"
    assert len(providers.smtp.received) == 3
    assert await pool.fetchval("SELECT count(*) FROM jobs WHERE shop_id = $1 AND batch_checked = 1",
                               shop.shop_id) == 1  # the first batch was checked (in stock) with the same read
