"""The arq worker: job functions, start-up and shutdown. `backinstock
dispatcher` runs one; run as many as you like against the same Redis."""
from __future__ import annotations

import asyncio
import logging
import uuid

from arq import cron, func
from arq.worker import Worker
from redis.asyncio import Redis

from shared_models.context import Connections
from shared_models.log_context import bound
from dispatcher.channels.factory import build_providers, check_providers
from dispatcher.merchant import merchant_alert
from dispatcher.metrics import serve_metrics
from dispatcher.optin import send_optin
from dispatcher.report_emails import report_emails_cron
from dispatcher.runner import run_job
from dispatcher.runtime import ArqContext, Runtime, Tuning
from dispatcher.shopify_admin import order_tags_cron
from dispatcher.report_folding import fold_forever
from dispatcher.sweep import sweep_forever
from dispatcher.throttle import Throttle
from dispatcher.watchdog import RedisWatchdog, ResilientWorker, supervise
from dispatcher.webhooks.process import process_webhook
from shared_models import aio
from shared_models.chains import Chains
from shared_models.config import Config
from shared_models.db import create_pool
from shared_models.queue import MERCHANT_ALERT, PROCESS_WEBHOOK, RUN_JOB, SEND_OPTIN, Queue

log = logging.getLogger("backinstock.dispatcher")

JOB_COMPLETION_WAIT = 30  # SIGTERM (or Redis lost): running sends finish, nothing new starts
REQUEST_ID_OF_JOB = "SELECT request_id FROM jobs WHERE shop_id = $1 AND job_id = $2"


async def run_job_task(ctx: ArqContext, shop_id: str, job_id: str) -> str:
    rt: Runtime = ctx["rt"]
    # The API request that created the job, so its id shows in these logs too.
    request_id = await rt.conns.pool.fetchval(REQUEST_ID_OF_JOB, uuid.UUID(shop_id), uuid.UUID(job_id))
    with bound({"request_id": request_id, "shop_id": shop_id, "job_id": job_id}):
        outcome = await run_job(rt, uuid.UUID(shop_id), uuid.UUID(job_id))
        log.info("run_job: %s", outcome)
        return outcome


async def process_webhook_task(ctx: ArqContext, shop_id: str, webhook_id: str) -> str | None:
    with bound({"shop_id": shop_id, "webhook_id": webhook_id}):
        return await process_webhook(ctx["rt"], uuid.UUID(shop_id), webhook_id)


async def send_optin_task(ctx: ArqContext, shop_id: str, signup_id: str) -> bool:
    with bound({"shop_id": shop_id}):
        return await send_optin(ctx["rt"], uuid.UUID(shop_id), uuid.UUID(signup_id))


async def merchant_alert_task(ctx: ArqContext, shop_id: str, kind: str, key: str) -> bool:
    with bound({"shop_id": shop_id}):
        return await merchant_alert(ctx["rt"], uuid.UUID(shop_id), kind, key)


async def build_runtime(config: Config, tuning: Tuning) -> Runtime:
    pool = await create_pool(config.database_url, min_size=1, max_size=config.db_pool_max)
    redis = Redis.from_url(config.redis_url, socket_connect_timeout=2, socket_timeout=5)
    queue = Queue(config.redis_url, config.queue_name)
    conns = Connections(config=config, pool=pool, redis=redis, queue=queue,
                        chains=Chains.of(tuning))
    throttle = Throttle(redis, {"smtp": config.smtp_max_per_second, "twilio": config.twilio_max_per_second})
    return Runtime(conns, queue, build_providers(config), throttle, tuning)


async def close_runtime(rt: Runtime) -> None:
    for provider in rt.providers.values():
        await provider.close()
    await rt.queue.close()
    await rt.conns.redis.aclose()
    await rt.conns.pool.close()


# arq cron job names; a tick's job id is "<name>:<ms>", and arq keeps its
# in-progress key for a minute after it ran, so that no other worker runs it again.
REPORT_EMAILS_CRON = "report_emails"
ORDER_TAGS_CRON = "order_tags"
CRON_NAMES = (REPORT_EMAILS_CRON, ORDER_TAGS_CRON)


def build_worker(config: Config, tuning: Tuning | None = None, *, max_jobs: int = 10,
                 burst: bool = False, handle_signals: bool = True,
                 metrics_address: tuple[str, int] | None = None) -> Worker:
    """metrics_address: (host, port) to serve GET /metrics on, None for none."""
    tuning = tuning or Tuning.of(config.dispatch)
    timeout = max(90, int(tuning.lease_seconds * 2))  # a slow chunk (rate limits, retries) is not cut off

    async def startup(ctx: ArqContext) -> None:
        if "rt" in ctx:
            return  # arq's start-up retried after Redis was down: already done
        ctx["rt"] = rt = await build_runtime(config, tuning)
        ctx["sweeper"] = asyncio.create_task(sweep_forever(rt))
        ctx["folder"] = asyncio.create_task(fold_forever(rt))
        if metrics_address:
            try:
                ctx["metrics"] = await serve_metrics(rt.metrics, rt.queue, rt.conns.pool, *metrics_address)
            except OSError as exc:  # sending matters more than being scraped
                log.error("no metrics endpoint on %s:%d: %s", *metrics_address, exc)
        log.info("dispatcher worker started (max_jobs=%d)", max_jobs)

    async def shutdown(ctx: ArqContext) -> None:
        # Entries are taken out as they are closed: this may run twice (see watchdog).
        for task in ("sweeper", "folder"):
            if task in ctx:
                await aio.cancel_and_wait(ctx.pop(task))
        if "metrics" in ctx:
            await ctx.pop("metrics").cleanup()
        if "rt" in ctx:
            await close_runtime(ctx.pop("rt"))

    queue = Queue(config.redis_url, config.queue_name)
    return ResilientWorker(
        functions=[
            func(run_job_task, name=RUN_JOB, timeout=timeout, keep_result=0, max_tries=100),
            func(process_webhook_task, name=PROCESS_WEBHOOK, timeout=timeout, keep_result=0, max_tries=100),
            func(send_optin_task, name=SEND_OPTIN, timeout=timeout, keep_result=0, max_tries=3),
            func(merchant_alert_task, name=MERCHANT_ALERT, timeout=timeout, keep_result=0, max_tries=3),
        ],
        # Scheduled work, each tick run by one worker (arq's unique cron job ids):
        # report emails hourly (a shop's period ends at its own midnight), order tags every 10 s.
        cron_jobs=[
            cron(report_emails_cron, name=REPORT_EMAILS_CRON, minute={5}, second={0}, timeout=600, keep_result=0),
            cron(order_tags_cron, name=ORDER_TAGS_CRON, second=set(range(0, 60, 10)), timeout=120, keep_result=0),
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
        job_completion_wait=JOB_COMPLETION_WAIT,
    )


async def serve(config: Config, concurrency: int) -> int:
    """The worker of one process, built inside its event loop (arq binds the
    running loop and its signal handlers). Returns the exit code."""
    process = config.dispatcher  # its metrics endpoint, its patience with a lost Redis
    address = (process.metrics_host, process.metrics_port) if process.metrics_port else None
    worker = build_worker(config, max_jobs=concurrency, metrics_address=address)
    watchdog = RedisWatchdog(config.redis_url, process.redis_grace_seconds)
    return await supervise(worker, watchdog, drain_seconds=JOB_COMPLETION_WAIT)


def main(concurrency: int = 10) -> int:
    """`backinstock dispatcher`: 0 after SIGTERM/SIGINT, 1 when Redis stayed
    unreachable past DISPATCHER_REDIS_GRACE_SECONDS (a supervisor restarts it)."""
    config = Config.from_env(required=("DATABASE_URL", "REDIS_URL", "SECRET_KEY"))
    check_providers(config)
    return aio.run(serve(config, concurrency))
