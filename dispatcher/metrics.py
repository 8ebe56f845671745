"""A dispatcher's Prometheus metrics, served on its own small HTTP port
(DISPATCHER_METRICS_PORT): the queue's depth and the unfinished jobs
(sampled when scraped), alert outcomes by channel and status, provider
latency. One registry per runtime, so tests can run several workers in one
process."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import TYPE_CHECKING, Iterable, Iterator

import asyncpg
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from shared_models.exposition import exposition
from shared_models.queue import Queue

if TYPE_CHECKING:  # dispatcher.attempts imports the runtime, which imports this module
    from dispatcher.attempts import Attempt

log = logging.getLogger("backinstock.dispatcher")

# Unfinished jobs only: they are served by the jobs_unfinished partial index,
# while a count over every job ever run would scan an ever-growing table.
UNFINISHED_JOBS = """
SELECT status, count(*) AS n FROM jobs WHERE status IN ('queued', 'running') GROUP BY status
"""
# Webhook lag: how long the oldest stored event has waited (webhook_events_unprocessed).
# shop/redact waits on purpose for its own job, so it is left out.
WEBHOOK_BACKLOG = """
SELECT COALESCE(EXTRACT(epoch FROM now() - min(received_at)), 0)::float8 FROM webhook_events
WHERE processed_at IS NULL AND topic <> 'shop/redact'
"""
JOB_STATES = ("queued", "running")
PROVIDER_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
SAMPLE_EVERY_SECONDS = 2.0  # several scrapers at once cost one sample
SAMPLE_TIMEOUT_SECONDS = 2.0  # a scrape answers even when a dependency hangs


class DispatcherMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.queue_depth = Gauge(
            "backinstock_queue_depth", "Entries in the arq queue, due and deferred (ZCARD)",
            registry=self.registry)
        self.queue_due = Gauge(
            "backinstock_queue_due", "Entries in the arq queue due to run now", registry=self.registry)
        self.redis_up = Gauge(
            "backinstock_dispatcher_redis_up", "1 if Redis answered the last sample, else 0",
            registry=self.registry)
        self.jobs = Gauge(
            "backinstock_jobs", "Unfinished send jobs in PostgreSQL, by status", ["status"],
            registry=self.registry)
        self.webhook_backlog = Gauge(
            "backinstock_webhook_backlog_seconds",
            "Age of the oldest Shopify webhook stored but not processed yet (0: none waiting)",
            registry=self.registry)
        self.alerts = Counter(
            "backinstock_alerts", "Alert outcomes recorded by this process, by channel and status",
            ["channel", "status"], registry=self.registry)
        self.provider_latency = Histogram(
            "backinstock_provider_send_seconds", "Duration of provider.send calls, by provider",
            ["provider"], buckets=PROVIDER_BUCKETS, registry=self.registry)
        self.reconcile = Counter(
            "backinstock_reconcile", "Inventory reconciliation with Shopify: levels checked, differences "
            "found, restocks started", ["what"], registry=self.registry)
        self.sampled_at = float("-inf")

    def count_alerts(self, outcomes: Iterable[tuple[str, str]]) -> None:
        """outcomes: (channel, status) per notification row settled."""
        for channel, status in outcomes:
            self.alerts.labels(channel, status).inc()

    def count_outcomes(self, attempts: Iterable[Attempt], changed: dict[uuid.UUID, str]) -> None:
        """The attempts record_outcomes wrote (`changed`: notification id → status)."""
        self.count_alerts((a.signup.channel, changed[a.notification_id])
                          for a in attempts if a.notification_id in changed)

    @contextlib.contextmanager
    def time_send(self, provider: str) -> Iterator[None]:
        with self.provider_latency.labels(provider).time():
            yield

    async def sample(self, queue: Queue, pool: asyncpg.Pool) -> None:
        """Queue depth and job counts, at most every SAMPLE_EVERY_SECONDS.
        A dependency that is down leaves its gauges as they were."""
        if time.monotonic() - self.sampled_at < SAMPLE_EVERY_SECONDS:
            return
        self.sampled_at = time.monotonic()
        try:
            depth, due = await asyncio.wait_for(_queue_counts(queue), SAMPLE_TIMEOUT_SECONDS)
            self.queue_depth.set(depth)
            self.queue_due.set(due)
            self.redis_up.set(1)
        except Exception as exc:  # any failure is "Redis down" for this gauge
            self.redis_up.set(0)
            log.debug("metrics: queue not sampled: %s", exc)
        try:
            rows = await pool.fetch(UNFINISHED_JOBS, timeout=SAMPLE_TIMEOUT_SECONDS)
            backlog = await pool.fetchval(WEBHOOK_BACKLOG, timeout=SAMPLE_TIMEOUT_SECONDS)
        except Exception as exc:
            log.debug("metrics: jobs not sampled: %s", exc)
            return
        counts = {r["status"]: r["n"] for r in rows}
        for state in JOB_STATES:
            self.jobs.labels(state).set(counts.get(state, 0))
        self.webhook_backlog.set(backlog)

    async def render(self, queue: Queue, pool: asyncpg.Pool) -> web.Response:
        await self.sample(queue, pool)
        return exposition(self.registry)


async def _queue_counts(queue: Queue) -> tuple[int, int]:
    redis = await queue.pool()
    depth = await redis.zcard(queue.queue_name)
    due = await redis.zcount(queue.queue_name, "-inf", time.time() * 1000)
    return depth, due


async def serve_metrics(metrics: DispatcherMetrics, queue: Queue, pool: asyncpg.Pool,
                        host: str, port: int) -> web.AppRunner:
    """GET /metrics on host:port; the caller cleans the runner up."""
    async def handler(request: web.Request) -> web.Response:
        return await metrics.render(queue, pool)

    app = web.Application()
    app.router.add_get("/metrics", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    log.info("metrics on http://%s:%d/metrics", host, port)
    return runner
