"""Shopify webhooks: a delivery triggered longer ago than the replay window
(WEBHOOK_REPLAY_WINDOW_SECONDS, default 24 h) is refused with 401 and not
stored; signatures are compared in constant time."""
from __future__ import annotations

import datetime as dt
import inspect
import json
import urllib.error
import urllib.request
import uuid

import pytest_asyncio

from api_service.app import create_app
from api_service.webhooks import verify
from api_service.webhooks.verify import signature
from shared_models.config import Config
from tests.api_process import ApiProcess, cli_json
from tests.conftest import ShopInfo
from tests.shopify import inventory_update, send_webhook


def ago(seconds: float) -> str:
    when = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=seconds)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def stored(pool, webhook_id: str) -> int:
    return await pool.fetchval("SELECT count(*) FROM webhook_events WHERE webhook_id = $1", webhook_id)


async def test_default_window_is_24_hours(client, pool, shop):
    assert Config.from_env({"DATABASE_URL": "postgresql://x"}).webhook_replay_window_seconds == 86400
    payload = inventory_update(7001, 3)
    for age, expected in ((60, 200), (23 * 3600, 200), (25 * 3600, 401), (400 * 86400, 401)):
        webhook_id = str(uuid.uuid4())
        status, body = await send_webhook(client, shop, "inventory_levels/update", payload, webhook_id=webhook_id,
                                          headers={"X-Shopify-Triggered-At": ago(age)})
        assert status == expected, (age, body)
        if expected == 401:
            assert list(body) == ["errors"] and "replay window" in body["errors"][0]
        assert await stored(pool, webhook_id) == (1 if expected == 200 else 0)
    # No header (or one that isn't a time): not judged on a topic that destroys nothing.
    status, _ = await send_webhook(client, shop, "inventory_levels/update", payload,
                                   headers={"X-Shopify-Triggered-At": None})
    assert status == 200
    status, _ = await send_webhook(client, shop, "inventory_levels/update", payload,
                                   headers={"X-Shopify-Triggered-At": "yesterday"})
    assert status == 200


async def test_signature_is_checked_before_the_age(client, shop):
    """An unsigned old request is refused for its signature: it learns nothing about the window."""
    status, body = await send_webhook(client, shop, "inventory_levels/update", inventory_update(7001, 3),
                                      secret="not-the-secret", headers={"X-Shopify-Triggered-At": ago(90000)})
    assert status == 401 and body == {"errors": ["Invalid webhook signature"]}


@pytest_asyncio.fixture
async def short_window_client(env, redis, aiohttp_client):
    return await aiohttp_client(create_app(Config.from_env({**env, "WEBHOOK_REPLAY_WINDOW_SECONDS": "120"})))


async def test_window_is_configurable_and_zero_disables_it(short_window_client, env, redis, aiohttp_client):
    from api_service.admin import shops as admin
    from api_service.context import CONNECTIONS
    pool = short_window_client.app[CONNECTIONS].pool
    out = await admin.create_shop(pool, "replay.myshopify.com")
    shop = ShopInfo(uuid.UUID(out["shop_id"]), out["domain"], out["plan"], out["api_key"], out["webhook_secret"])
    payload = inventory_update(7001, 3)
    status, _ = await send_webhook(short_window_client, shop, "inventory_levels/update", payload,
                                   headers={"X-Shopify-Triggered-At": ago(60)})
    assert status == 200
    status, body = await send_webhook(short_window_client, shop, "inventory_levels/update", payload,
                                      headers={"X-Shopify-Triggered-At": ago(180)})
    assert status == 401 and "120 s replay window" in body["errors"][0]

    unlimited = await aiohttp_client(create_app(Config.from_env({**env, "WEBHOOK_REPLAY_WINDOW_SECONDS": "0"})))
    status, _ = await send_webhook(unlimited, shop, "inventory_levels/update", payload,
                                   headers={"X-Shopify-Triggered-At": ago(10 * 86400)})
    assert status == 200


def test_the_environment_variable_reaches_the_api_process(env, tmp_path):
    shop = cli_json(env, "shops", "create", "--domain", f"replay-{uuid.uuid4().hex[:8]}.myshopify.com")
    api = ApiProcess({**env, "WEBHOOK_REPLAY_WINDOW_SECONDS": "30"}, tmp_path / "api.log").start()
    try:
        raw = json.dumps(inventory_update(7001, 3)).encode()
        statuses = []
        for age in (5, 60):
            req = urllib.request.Request(api.url + "/webhooks/shopify", data=raw, method="POST", headers={
                "X-Shopify-Topic": "inventory_levels/update", "X-Shopify-Shop-Domain": shop["domain"],
                "X-Shopify-Webhook-Id": str(uuid.uuid4()), "X-Shopify-Triggered-At": ago(age),
                "X-Shopify-Hmac-Sha256": signature(shop["webhook_secret"], raw),
                "Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:
                    statuses.append(resp.status)
            except urllib.error.HTTPError as exc:
                statuses.append(exc.code)
        assert statuses == [200, 401]
    finally:
        assert api.stop() == 0


def test_signatures_are_compared_in_constant_time():
    source = inspect.getsource(verify.valid)
    assert "hmac.compare_digest" in source and "==" not in source
    secret, body = "s3cret", b'{"a": 1}'
    assert verify.valid(secret, body, signature(secret, body))
    assert not verify.valid(secret, body, signature(secret, body + b" "))
    assert not verify.valid(secret, body, None) and not verify.valid(secret, body, "")
    assert not verify.valid(secret, body, "é" * 44)  # non-ASCII: refused, not a crash

