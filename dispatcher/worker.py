"""The arq worker: job functions, start-up and shutdown. `backinstock
dispatcher` runs one; run as many as you like against the same Redis."""
from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from arq import cron, func
from arq.worker import Worker
from redis.asyncio import Redis

from api_service.context import Connections
from dispatcher.channels.factory import build_providers
from dispatcher.merchant import merchant_alert
from dispatcher.optin import send_optin
from dispatcher.report_emails import report_emails_cron
from dispatcher.runner import run_job
from dispatcher.runtime import Runtime, Tuning
from dispatcher.shopify_admin import order_tags_cron
from dispatcher.sweep import sweep_forever
from dispatcher.throttle import Throttle
from dispatcher.webhooks.process import process_webhook
from shared_models.config import Config
from shared_models.db import create_pool
from shared_models.queue import MERCHANT_ALERT, PROCESS_WEBHOOK, RUN_JOB, SEND_OPTIN, Queue

log = logging.getLogger("backinstock.dispatcher")


async def run_job_task(ctx: dict, shop_id: str, job_id: str) -> str:
    return await run_job(ctx["rt"], uuid.UUID(shop_id), uuid.UUID(job_id))


async def process_webhook_task(ctx: dict, shop_id: str, webhook_id: str) -> str | None:
    return await process_webhook(ctx["rt"], uuid.UUID(shop_id), webhook_id)


async def send_optin_task(ctx: dict, shop_id: str, signup_id: str) -> bool:
    return await send_optin(ctx["rt"], uuid.UUID(shop_id), uuid.UUID(signup_id))


async def merchant_alert_task(ctx: dict, shop_id: str, kind: str, key: str) -> bool:
    return await merchant_alert(ctx["rt"], uuid.UUID(shop_id), kind, key)


async def build_runtime(config: Config, tuning: Tuning) -> Runtime:
    pool = await create_pool(config.database_url, min_size=1, max_size=config.db_pool_max)
    redis = Redis.from_url(config.redis_url, socket_connect_timeout=2, socket_timeout=5)
    queue = Queue(config.redis_url, config.queue_name)
    conns = Connections(config=config, pool=pool, redis=redis, queue=queue)
    throttle = Throttle(redis, {"smtp": config.smtp_max_per_second, "twilio": config.twilio_max_per_second})
    return Runtime(conns, queue, build_providers(config), throttle, tuning)


async def close_runtime(rt: Runtime) -> None:
    for provider in rt.providers.values():
        await provider.close()
    await rt.queue.close()
    await rt.conns.redis.aclose()
    await rt.conns.pool.close()


def build_worker(config: Config, tuning: Tuning | None = None, *, max_jobs: int = 10,
                 burst: bool = False, handle_signals: bool = True) -> Worker:
    tuning = tuning or Tuning.from_env()
    timeout = max(30, int(tuning.lease_seconds * 2))

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["rt"] = await build_runtime(config, tuning)
        ctx["sweeper"] = asyncio.create_task(sweep_forever(ctx["rt"]))
        log.info("dispatcher worker started (max_jobs=%d)", max_jobs)

    async def shutdown(ctx: dict[str, Any]) -> None:
        if "sweeper" in ctx:
            ctx["sweeper"].cancel()
        if "rt" in ctx:
            await close_runtime(ctx["rt"])

    queue = Queue(config.redis_url, config.queue_name)
    return Worker(
        functions=[
            func(run_job_task, name=RUN_JOB, timeout=timeout, keep_result=0, max_tries=100),
            func(process_webhook_task, name=PROCESS_WEBHOOK, timeout=timeout, keep_result=0, max_tries=100),
            func(send_optin_task, name=SEND_OPTIN, timeout=timeout, keep_result=0, max_tries=3),
            func(merchant_alert_task, name=MERCHANT_ALERT, timeout=timeout, keep_result=0, max_tries=3),
        ],
        # Scheduled work, each tick run by one worker (arq's unique cron job ids):
        # report emails hourly (a shop's period ends at its own midnight), order tags every 10 s.
        cron_jobs=[
            cron(report_emails_cron, name="report_emails", minute={5}, second={0}, timeout=600, keep_result=0),
            cron(order_tags_cron, name="order_tags", second=set(range(0, 60, 10)), timeout=120, keep_result=0),
        ],
        queue_name=config.queue_name,
        redis_settings=queue.settings,
        on_startup=startup,
        on_shutdown=shutdown,
        max_jobs=max_jobs,
        burst=burst,
        poll_delay=0.05,
        handle_signals=handle_signals,
        keep_result=0,
        job_timeout=timeout,
        allow_abort_jobs=False,
        job_completion_wait=30,  # SIGTERM: running sends finish, nothing new starts
    )


def main(concurrency: int = 10) -> None:
    config = Config.from_env(required=("DATABASE_URL", "REDIS_URL", "SECRET_KEY"))
    build_worker(config, max_jobs=concurrency).run()
