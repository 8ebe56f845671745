"""The arq queue as both processes see it: job function names and a thin
enqueue wrapper that connects lazily and reports Redis being down plainly.

PostgreSQL is the source of truth: every queued item also exists as a row
(jobs, webhook_events) that the dispatcher's sweep re-enqueues if Redis lost it.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from arq import ArqRedis, create_pool
from arq.connections import RedisSettings
from redis.exceptions import RedisError

from shared_models.breaker import Breaker

log = logging.getLogger("backinstock.queue")

# arq function names (dispatcher/worker.py registers them).
RUN_JOB = "run_job"  # (shop_id, job_id): one chunk of a send job, then continues
PROCESS_WEBHOOK = "process_webhook"  # (shop_id, webhook_id)
SEND_OPTIN = "send_optin"  # (shop_id, signup_id): the opt-in confirmation
MERCHANT_ALERT = "merchant_alert"  # (shop_id, kind, key): high demand, usage warning


# arq's pool has no socket timeout: a hung Redis (SIGSTOP, black-holed) would
# hold an enqueue until TCP gives up. The API's queue gives up after this (its
# work is already a row in PostgreSQL that the dispatcher's sweep re-enqueues)
# and then skips Redis for a few seconds. The dispatcher's queue waits as before:
# a dispatcher stalled on Redis delays nobody's request.
ENQUEUE_TIMEOUT = 0.75


class QueueUnavailable(Exception):
    pass


class Queue:
    def __init__(self, redis_url: str, queue_name: str, *, timeout: float | None = None,
                 breaker: Breaker | None = None):
        self.settings = RedisSettings.from_dsn(redis_url)
        self.settings.conn_timeout = 2
        self.settings.conn_retries = 0
        self.queue_name = queue_name
        self._pool: ArqRedis | None = None
        self._lock = asyncio.Lock()
        self._timeout = timeout
        self._breaker = Breaker(timeout) if timeout else None
        # The API's rate limits' breaker: once they found Redis hung, enqueues skip it too
        # (a slow enqueue only opens our own: it never turns the rate limits off).
        self._shared = breaker

    async def pool(self) -> ArqRedis:
        if self._pool is None:
            async with self._lock:
                if self._pool is None:
                    self._pool = await create_pool(self.settings, default_queue_name=self.queue_name)
        return self._pool

    async def enqueue(self, function: str, *args: Any, defer_by: float | None = None,
                      job_id: str | None = None) -> None:
        breaker = self._breaker
        if (breaker is not None and breaker.open) or (self._shared is not None and self._shared.open):
            raise QueueUnavailable("queue unavailable: Redis hung a moment ago")
        try:
            await asyncio.wait_for(self._enqueue(function, *args, defer_by=defer_by, job_id=job_id),
                                   self._timeout)
        except asyncio.TimeoutError:
            if breaker is None:
                raise QueueUnavailable("queue unavailable: timed out") from None
            breaker.trip()
            raise QueueUnavailable(f"queue unavailable: no answer within {self._timeout:g} s") from None
        except (RedisError, OSError) as exc:
            raise QueueUnavailable(f"queue unavailable: {exc}") from exc

    async def _enqueue(self, function: str, *args: Any, defer_by: float | None, job_id: str | None) -> None:
        pool = await self.pool()
        await pool.enqueue_job(function, *args, _defer_by=defer_by, _job_id=job_id, _queue_name=self.queue_name)

    async def try_enqueue(self, function: str, *args: Any, **kwargs: Any) -> bool:
        """For work already durable in PostgreSQL: a failure only delays it
        until the dispatcher's sweep finds it."""
        try:
            await self.enqueue(function, *args, **kwargs)
            return True
        except QueueUnavailable as exc:
            log.warning("could not enqueue %s, the sweep will pick it up: %s", function, exc)
            return False

    async def depth(self) -> int:
        pool = await self.pool()
        return await pool.zcard(self.queue_name)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None
