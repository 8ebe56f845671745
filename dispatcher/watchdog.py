"""Redis loss, for a dispatcher process: ride out a short outage, give up
after a long one.

- ResilientWorker: arq's worker whose poll loop survives Redis errors (arq's
  own lets the first one end the process) and whose close() still runs the
  shutdown hook when Redis is gone.
- RedisWatchdog: pings Redis every few seconds; once it has failed for the
  grace period (DISPATCHER_REDIS_GRACE_SECONDS) it returns.
- supervise: runs the worker next to the watchdog and tells the caller the
  exit code: 0 after SIGTERM/SIGINT, 1 after the grace period ran out, so a
  supervisor restarts the process.
"""
from __future__ import annotations

import asyncio
import logging
import time

from arq.worker import Worker
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger("backinstock.dispatcher")

# What Redis being unreachable looks like through redis-py and arq (it wraps
# socket errors; a bare OSError is somebody else, e.g. PostgreSQL).
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)
RETRY_SECONDS = 1.0  # between poll attempts (and start-up attempts) while Redis is down
SETTLE_SECONDS = 5.0  # for cancelled jobs to unwind
EXIT_OK = 0
EXIT_REDIS_LOST = 1


class ResilientWorker(Worker):
    redis_down_since: float | None = None

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
        except REDIS_DOWN as exc:
            if self.redis_down_since is None:
                self.redis_down_since = time.monotonic()
                log.warning("lost Redis, polling again every %.0f s: %s", RETRY_SECONDS, exc)
            await asyncio.sleep(RETRY_SECONDS)
            return
        if self.redis_down_since is not None:
            log.info("Redis is back after %.1f s, polling again", time.monotonic() - self.redis_down_since)
            self.redis_down_since = None

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        # arq takes a slot before its Redis round trip and gives it back only on
        # success: a failure there would leak the slot for good.
        for job_id in job_ids:
            if self.job_counter >= self.max_jobs:
                return  # full: arq's own loop stops here too, and polls again later
            before = self.job_counter
            try:
                await super().start_jobs([job_id])
            except REDIS_DOWN:
                if job_id.decode() not in self.tasks and self.job_counter > before:
                    self.job_counter -= 1
                    self.sem.release()
                raise

    async def close(self) -> None:
        try:
            await super().close()
        except Exception as exc:  # Redis gone: arq stops before its shutdown hook
            log.warning("closing without Redis: %s", exc)
            if self.on_shutdown:
                await self.on_shutdown(self.ctx)
            self._pool = None


class RedisWatchdog:
    def __init__(self, redis_url: str, grace_seconds: float, interval: float | None = None):
        self.redis_url = redis_url
        self.grace = grace_seconds
        # A few pings within the grace period, never more than one every 5 s.
        self.interval = interval or min(5.0, max(0.2, grace_seconds / 4))
        self.down_since: float | None = None

    async def ping(self, client: Redis) -> bool:
        try:
            await asyncio.wait_for(client.ping(), timeout=max(self.interval, 1.0))
            return True
        except Exception as exc:  # whatever the reason, Redis did not answer
            log.debug("Redis ping failed: %s", exc)
            return False

    async def run(self) -> None:
        """Returns once Redis has been unreachable for the grace period."""
        client = Redis.from_url(self.redis_url, socket_connect_timeout=2, socket_timeout=2)
        try:
            while True:
                now = time.monotonic()
                if await self.ping(client):
                    if self.down_since is not None:
                        log.info("Redis reachable again after %.1f s", now - self.down_since)
                    self.down_since = None
                elif self.down_since is None:
                    self.down_since = now
                    log.warning("Redis unreachable; the dispatcher stops if it stays so for %.0f s",
                                self.grace)
                elif now - self.down_since >= self.grace:
                    log.error("Redis unreachable for %.1f s (grace %.0f s): stopping the dispatcher",
                              now - self.down_since, self.grace)
                    return
                await asyncio.sleep(self.interval)
        finally:
            await client.aclose()


async def drain(worker: Worker, wait_seconds: float) -> None:
    """As on SIGTERM: take nothing new, let running jobs finish for a while,
    cancel what is left."""
    worker.allow_pick_jobs = False
    deadline = time.monotonic() + wait_seconds
    while any(not t.done() for t in worker.tasks.values()) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    for task in worker.tasks.values():
        task.cancel()


async def settle(worker: Worker) -> None:
    """Waits (briefly) for the worker's job tasks and forgets the finished
    ones, so that close() does not re-raise their cancellation."""
    tasks = list(worker.tasks.values())
    if tasks:
        await asyncio.wait(tasks, timeout=SETTLE_SECONDS)
    for job_id, task in list(worker.tasks.items()):
        if task.done():
            if not task.cancelled() and task.exception() is not None:
                log.warning("job %s ended with %r", job_id, task.exception())
            del worker.tasks[job_id]


async def supervise(worker: Worker, watchdog: RedisWatchdog, *, drain_seconds: float) -> int:
    """Runs `worker` (built in this event loop) until a signal stops it (0) or
    the watchdog gives up on Redis (1). Start-up is retried while Redis is down."""
    stopped = asyncio.Event()
    worker.on_stop = lambda _signum: stopped.set()
    guard = asyncio.create_task(watchdog.run())
    stop_wait = asyncio.create_task(stopped.wait())
    code = EXIT_OK
    try:
        while True:
            worker.main_task = asyncio.create_task(worker.main())
            await asyncio.wait({worker.main_task, guard}, return_when=asyncio.FIRST_COMPLETED)
            if guard.done():
                if guard.exception() is not None:
                    log.error("the Redis watchdog failed: %r", guard.exception())
                code = EXIT_REDIS_LOST
                await drain(worker, drain_seconds)
                worker.main_task.cancel()
                break
            if worker.main_task.cancelled() or stopped.is_set():
                break  # SIGTERM/SIGINT: arq drained and cancelled the main task
            error = worker.main_task.exception()
            if error is None:
                break  # burst mode ran out of jobs
            if not isinstance(error, REDIS_DOWN):
                raise error
            log.warning("cannot start without Redis, retrying: %s", error)
            await asyncio.wait({guard, stop_wait}, timeout=RETRY_SECONDS, return_when=asyncio.FIRST_COMPLETED)
            if stopped.is_set():
                break
    finally:
        guard.cancel()
        stop_wait.cancel()
        await asyncio.gather(guard, stop_wait, return_exceptions=True)
        if worker.main_task is not None and not worker.main_task.done():
            worker.main_task.cancel()
            await asyncio.gather(worker.main_task, return_exceptions=True)
        await settle(worker)
        await worker.close()
    log.info("dispatcher stopped (exit code %d)", code)
    return code

