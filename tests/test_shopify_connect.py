"""`backinstock shops connect` as a real process against the Admin API stand-in."""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from shared_models.shopify_webhooks import TOPICS
from tests.api_process import COMMAND, process_env
from tests.shopify_admin import ShopifyAdminStandIn, Subscription


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


async def run(env, *args) -> Done:
    """The command as a real process, awaited, so that the stand-in in this
    test's event loop can answer it."""
    proc = await asyncio.create_subprocess_exec(*COMMAND, *args, env=process_env(env),
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    return Done(proc.returncode, out.decode(), err.decode())


async def cli_json(env, *args) -> dict:
    done = await run(env, *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def connect_env(env, shopify, **extra):
    return {**env, "SHOPIFY_ADMIN_API_BASE": shopify.base_url, "PUBLIC_URL": "https://alerts.example.com",
            **extra}


async def test_connect_creates_fixes_and_leaves_subscriptions(env, pool, make_shop):
    shop = await make_shop()
    async with ShopifyAdminStandIn(token="shpat_connect") as shopify:
        shopify.page_size = 3  # the listing is paged: every page is read
        # One right, one pointing at an old tunnel, one delivering XML; the rest missing.
        shopify.subscriptions = [
            Subscription("gid://shopify/WebhookSubscription/901", "PRODUCTS_UPDATE",
                         "https://alerts.example.com/webhooks/shopify"),
            Subscription("gid://shopify/WebhookSubscription/902", "ORDERS_CREATE",
                         "https://old-tunnel.example.net/webhooks/shopify"),
            Subscription("gid://shopify/WebhookSubscription/903", "APP_UNINSTALLED",
                         "https://alerts.example.com/webhooks/shopify", format="XML"),
            Subscription("gid://shopify/WebhookSubscription/904", "CARTS_UPDATE", "https://other.example.org/x"),
        ]
        await cli_json(env, "shops", "set-token", "--domain", shop.domain, "--token", "shpat_connect")
        out = await cli_json(connect_env(env, shopify, SHOPIFY_API_VERSION="2026-07"), "shops", "connect",
                       "--domain", shop.domain)
        assert out == {
            "domain": shop.domain, "callback_url": "https://alerts.example.com/webhooks/shopify",
            "created": [t for t in TOPICS if t not in ("PRODUCTS_UPDATE", "ORDERS_CREATE", "APP_UNINSTALLED")],
            "fixed": ["ORDERS_CREATE", "APP_UNINSTALLED"],
            "left": ["PRODUCTS_UPDATE"],
        }
        mine = {s.topic: (s.uri, s.format) for s in shopify.subscriptions if s.topic != "CARTS_UPDATE"}
        assert mine == {t: ("https://alerts.example.com/webhooks/shopify", "JSON") for t in TOPICS}
        assert {c["version"] for c in shopify.calls} == {"2026-07"}
        # Someone else's subscription is not ours to touch.
        assert shopify.subscriptions[3].uri == "https://other.example.org/x"

        calls = len(shopify.calls)
        again = await cli_json(connect_env(env, shopify), "shops", "connect", "--domain", shop.domain)
        assert again["created"] == [] and again["fixed"] == [] and again["left"] == list(TOPICS)
        assert {c["operation"] for c in shopify.calls[calls:]} == {"BisWebhookSubscriptions"}
    assert await pool.fetchval("SELECT shopify_connected_at FROM shops WHERE shop_id = $1", shop.shop_id)


async def test_connect_refusals_are_one_line(env, pool, make_shop):
    shop = await make_shop()
    async with ShopifyAdminStandIn() as shopify:
        no_token = await run(connect_env(env, shopify), "shops", "connect", "--domain", shop.domain)
        assert no_token.returncode == 2 and no_token.stdout == ""
        assert no_token.stderr.count("\n") == 1 and "set-token" in no_token.stderr

        await cli_json(env, "shops", "set-token", "--domain", shop.domain, "--token", "wrong-token")
        refused = await run(connect_env(env, shopify), "shops", "connect", "--domain", shop.domain)
        assert refused.returncode == 2 and "Shopify answered 401" in refused.stderr
        assert "wrong-token" not in refused.stderr

        bad_version = await run(connect_env(env, shopify, SHOPIFY_API_VERSION="latest"), "shops", "connect",
                          "--domain", shop.domain)
        assert bad_version.returncode == 2 and "SHOPIFY_API_VERSION" in bad_version.stderr
        assert shopify.calls == []
    assert await pool.fetchval("SELECT shopify_connected_at FROM shops WHERE shop_id = $1", shop.shop_id) is None


async def test_connect_without_shopify_is_unavailable(env, make_shop):
    shop = await make_shop()
    await cli_json(env, "shops", "set-token", "--domain", shop.domain, "--token", "shpat_x")
    out = await run({**env, "SHOPIFY_ADMIN_API_BASE": "http://127.0.0.1:9"}, "shops", "connect", "--domain", shop.domain)
    assert out.returncode == 1 and out.stderr.startswith("backinstock: Shopify: Shopify unreachable")
    assert json.loads(out.stdout or "null") is None
