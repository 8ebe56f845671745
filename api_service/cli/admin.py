"""`backinstock shops …` and `backinstock keys …`: operator commands over
api_service.admin.shops. Keys and webhook secrets go to stdout once and are
never logged."""
from __future__ import annotations

import argparse
import asyncio
from contextlib import ExitStack
from typing import Any, Awaitable, Callable

import asyncpg

from api_service.admin import shops as admin
from api_service.cli import devdata
from api_service.cli.output import CliError, emit
from shared_models.config import Config
from shared_models.db import create_pool
from shared_models.shopify import AdminError as ShopifyError
from shared_models.shopify_webhooks import ConnectRefused, connect_shop


def with_pool(action: Callable[[asyncpg.Pool, argparse.Namespace], Awaitable[Any]]):
    """Wraps an async action in a small pool from DATABASE_URL (unset: the
    development database of `make run`); prints its result."""
    def handler(args: argparse.Namespace) -> int:
        config = Config.from_env(required=())
        with ExitStack() as stack:
            database_url = config.database_url or devdata.attach_database(stack)

            async def go() -> Any:
                pool = await create_pool(database_url, min_size=1, max_size=2)
                try:
                    return await action(pool, args)
                finally:
                    await pool.close()

            emit(asyncio.run(go()))
        return 0
    return handler


@with_pool
async def shops_create(pool: asyncpg.Pool, args: argparse.Namespace) -> dict[str, Any]:
    return await admin.create_shop(pool, args.domain, plan=args.plan, name=args.name,
                                   currency=args.currency, timezone=args.timezone)


@with_pool
async def shops_set_plan(pool: asyncpg.Pool, args: argparse.Namespace) -> dict[str, Any]:
    await admin.set_plan(pool, args.domain, args.plan)
    return {"domain": admin.check_domain(args.domain), "plan": args.plan}


@with_pool
async def shops_set_domains(pool: asyncpg.Pool, args: argparse.Namespace) -> dict[str, Any]:
    await admin.set_domains(pool, args.domain, args.storefront_domains)
    return {"domain": admin.check_domain(args.domain),
            "storefront_domains": [admin.check_domain(d) for d in args.storefront_domains]}


@with_pool
async def shops_set_token(pool: asyncpg.Pool, args: argparse.Namespace) -> dict[str, Any]:
    await admin.set_token(pool, args.domain, args.token)
    return {"domain": admin.check_domain(args.domain), "token_set": True}  # never echo the token


@with_pool
async def shops_reinstall(pool: asyncpg.Pool, args: argparse.Namespace) -> dict[str, Any]:
    was = await admin.reinstall(pool, args.domain)
    return {"domain": admin.check_domain(args.domain), "installed": True, "was_uninstalled": was}


@with_pool
async def shops_set_shopify_id(pool: asyncpg.Pool, args: argparse.Namespace) -> dict[str, Any]:
    await admin.set_shopify_id(pool, args.domain, args.shopify_id)
    return {"domain": admin.check_domain(args.domain), "shopify_shop_id": args.shopify_id}


@with_pool
async def keys_create(pool: asyncpg.Pool, args: argparse.Namespace) -> dict[str, Any]:
    shop = await admin.shop_by_domain(pool, args.domain)
    return {"api_key": await admin.create_key(pool, shop["shop_id"], read_only=args.read_only)}


@with_pool
async def keys_revoke(pool: asyncpg.Pool, args: argparse.Namespace) -> dict[str, Any]:
    await admin.revoke_key(pool, args.domain, args.key_prefix)
    return {"domain": admin.check_domain(args.domain), "key_prefix": args.key_prefix, "revoked": True}


@with_pool
async def shops_connect(pool: asyncpg.Pool, args: argparse.Namespace) -> dict[str, Any]:
    """Registers our webhook subscriptions on the shop through the Admin API."""
    config = Config.from_env(required=())  # PUBLIC_URL and SHOPIFY_*; the pool is with_pool's
    try:
        result = await connect_shop(pool, args.domain, public_url=config.public_url,
                                    admin_api_base=config.shopify_admin_api_base,
                                    api_version=config.shopify_api_version)
    except ConnectRefused as exc:
        raise CliError(str(exc)) from None
    except ShopifyError as exc:
        raise CliError(f"Shopify: {exc}", code=1 if exc.retryable else 2) from None
    return result.as_json()
