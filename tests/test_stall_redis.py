"""Issue 13 §5, a hung Redis: our own `redis-server` under SIGSTOP (it
accepts connections and answers nothing, unlike a dead one) for 20 s. Reads,
creates, notify and signed webhooks each answer within a second the whole
time (rate limits fail open within 250 ms, enqueues give up within 1 s and
then skip Redis for a few seconds); once Redis is back a dispatcher sends
everything accepted meanwhile, each alert once."""
from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter, defaultdict

from api_service.admin import shops as admin
from api_service.app import create_app
from api_service.context import CONNECTIONS
from shared_models.config import Config
from shared_models.embedded import EmbeddedRedis
from tests.conftest import Api, ShopInfo
from tests.timing import assert_responsive
from tests.dispatch_support import running_workers, wait_for
from tests.factories import signup_body
from tests.shopify import inventory_update, send_webhook
from tests.stand_ins import SmtpStandIn

FREEZE = 20.0
FAST = 1.0  # each call answers within this, Redis hung or not


async def timed(call):
    started = time.monotonic()
    result = await asyncio.wait_for(call, 10)
    elapsed = time.monotonic() - started
    return result, elapsed


async def test_a_hung_redis_stalls_nobody_and_loses_nothing(env, tmp_path, aiohttp_client):
    redis = EmbeddedRedis(tmp_path / "redis")
    redis.start()
    stopped = False
    try:
        async with SmtpStandIn() as smtp:
            config = Config.from_env({**env, "REDIS_URL": redis.url, "SMTP_URL": smtp.url,
                                      "ALLOW_CONSOLE_PROVIDERS": "0",
                                      "RATE_LIMIT_REDIS_TIMEOUT_SECONDS": "0.25"})
            client = await aiohttp_client(create_app(config))
            pool = client.app[CONNECTIONS].pool
            out = await admin.create_shop(pool, "hung-redis.myshopify.com", plan="pro")
            shop = ShopInfo(out["shop_id"], out["domain"], out["plan"], out["api_key"], out["webhook_secret"])
            api = Api(client, shop.headers)
            expected = Counter()
            for i in range(2):  # waiting on the variant the webhook restocks during the freeze
                body = signup_body(variant_id=4001, inventory_item_id=7001, email=f"restock{i}@example.com")
                assert (await api.post("/back_in_stock/signups", json=body))[0] == 201
                expected[f"restock{i}@example.com"] = 1

            os.kill(redis.process.pid, signal.SIGSTOP)
            stopped = True
            frozen_at, seen, rounds = time.monotonic(), defaultdict(list), 0
            while time.monotonic() - frozen_at < FREEZE:
                email = f"frozen{rounds}@example.com"
                (created, _, _), t = await timed(api.post("/back_in_stock/signups", json=signup_body(
                    variant_id=5000 + rounds, email=email)))
                seen["create"].append(t)
                assert created == 201
                (status, signup, _), t = await timed(api.get("/back_in_stock/signups", params={"email": email}))
                seen["read"].append(t)
                assert status == 200 and len(signup["signups"]) == 1
                (status, job, _), t = await timed(api.post(
                    f"/back_in_stock/signups/{signup['signups'][0]['id']}/notify", json={}))
                seen["notify"].append(t)
                assert status == 202, job
                expected[email] = 1
                item = 7001 if rounds == 0 else 8000 + rounds  # the first one restocks 4001
                (status, body), t = await timed(send_webhook(client, shop, "inventory_levels/update",
                                                             inventory_update(item, 5)))
                seen["webhook"].append(t)
                assert status == 200 and body["duplicate"] is False
                rounds += 1
            print(f"\n{rounds} rounds in {FREEZE:g} s of SIGSTOP; slowest: "
                  + ", ".join(f"{k} {max(v) * 1000:.0f} ms" for k, v in seen.items()))
            assert rounds >= 5
            for kind, times in seen.items():  # each answers within about 1 s, Redis hung or not
                assert_responsive(times, typical=FAST, what=kind)

            os.kill(redis.process.pid, signal.SIGCONT)
            stopped = False
            async with running_workers(config):
                await wait_for(lambda: _received(smtp, expected), timeout=60, what="every accepted alert sent")
            got = Counter(to for mail in smtp.received for to in mail.rcpt_tos)
            assert got == expected  # each once, none lost
    finally:
        if stopped:
            os.kill(redis.process.pid, signal.SIGCONT)
        redis.stop()


async def _received(smtp: SmtpStandIn, expected: Counter) -> bool:
    return set(to for mail in smtp.received for to in mail.rcpt_tos) >= set(expected)
