"""Running real dispatcher workers inside a test, and waiting on the database."""
from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any, Awaitable, Callable

from dispatcher.runtime import Tuning
from dispatcher.worker import CRON_NAMES, build_worker
from shared_models.config import Config
from tests.factories import signup_body

# Short leases and sweeps so that recovery tests take seconds, not a minute.
FAST = dict(lease_seconds=3.0, sweep_seconds=0.5, stale_seconds=1.0, retry_delay=0.05, chunk_size=50)


@contextlib.asynccontextmanager
async def running_workers(config: Config, n: int = 1, *, max_jobs: int = 10, **tuning: Any):
    workers = [build_worker(config, Tuning(**{**FAST, **tuning}), max_jobs=max_jobs, handle_signals=False)
               for _ in range(n)]
    tasks = [asyncio.create_task(w.main()) for w in workers]
    try:
        yield workers
    finally:
        # Graceful, as on SIGTERM: take no new jobs, let running ones finish. The
        # polling loops stop first, so that none starts a job after the wait (arq's
        # close would cancel it, and raise its CancelledError here).
        for w in workers:
            w.allow_pick_jobs = False
        for t in tasks:
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        await asyncio.gather(*(t for w in workers for t in list(w.tasks.values())), return_exceptions=True)
        for w in workers:
            await w.close()


async def wait_for(check: Callable[[], Awaitable[Any]], timeout: float = 20.0, what: str = "condition") -> Any:
    """Polls `check` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


async def queue_drained(redis: Any, config: Config) -> bool:
    """No job due in the queue and none in progress: every arq job enqueued so
    far to run now has run. Cron ticks don't count: arq keeps a tick's
    in-progress key for a minute after it ran. For proving that an enqueued
    job did nothing."""
    if await redis.zcount(config.queue_name, "-inf", time.time() * 1000):
        return False
    cron_ticks = tuple(f"arq:in-progress:{name}:".encode() for name in CRON_NAMES)
    return not [key async for key in redis.scan_iter(match="arq:in-progress:*", count=1000)
                if not key.startswith(cron_ticks)]


async def create_signup(api: Any, shop: Any, *, channel: str = "email", email: str | None = None,
                        phone: str | None = None, push_token: str | None = None, variant_id: int = 4001,
                        item: int = 7001, expect: tuple[int, ...] = (201,)) -> dict[str, Any]:
    """One signup over `channel` through the API, with a product URL on the shop's domain."""
    body = signup_body(variant_id=variant_id, inventory_item_id=item, channel=channel, email=email,
                       phone=phone, push_token=push_token)
    body["product"]["url"] = f"https://{shop.domain}/products/linen-shirt?variant={variant_id}"
    status, out, _ = await api.post("/back_in_stock/signups", json=body)
    assert status in expect, out
    return out


async def notify(api: Any, signup_id: str, **body: Any) -> str:
    status, out, _ = await api.post(f"/back_in_stock/signups/{signup_id}/notify", json=body)
    assert status == 202, out
    return out["job_id"]


async def finished_job(api: Any, job_id: str) -> dict[str, Any] | None:
    """The job as GET /jobs/{id} shows it once it has finished, else None."""
    status, job, _ = await api.get(f"/jobs/{job_id}")
    assert status == 200, job
    return job if job["status"] in ("done", "cancelled", "failed") else None


async def job_notifications(pool: Any, job_id: str) -> list[Any]:
    return await pool.fetch("SELECT * FROM notifications WHERE job_id = $1 ORDER BY attempt, created_at",
                            uuid.UUID(job_id))
