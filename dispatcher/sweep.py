"""Work PostgreSQL says is unfinished but nobody is doing: jobs whose worker
died or whose queue entry Redis lost, webhook events and opt-ins never
processed. One worker sweeps per interval (a Redis lock); re-enqueueing is
always safe because every job is idempotent."""
from __future__ import annotations

import asyncio
import logging

from redis.exceptions import RedisError

from dispatcher.reconcile import RECONCILE
from dispatcher.reminders import schedule_reminders
from dispatcher.retention import RETENTION
from dispatcher.runtime import Runtime
from shared_models.queue import PROCESS_WEBHOOK, RUN_JOB, SEND_OPTIN

log = logging.getLogger("backinstock.sweep")

STALE_JOBS = """
UPDATE jobs SET heartbeat_at = now()
WHERE (shop_id, job_id) IN (
    SELECT shop_id, job_id FROM jobs
    WHERE status IN ('queued', 'running') AND next_run_at <= now()
      AND COALESCE(heartbeat_at, created_at) < now() - make_interval(secs => $1)
    LIMIT 500)
RETURNING shop_id, job_id
"""
STALE_EVENTS = """
SELECT shop_id, webhook_id FROM webhook_events
WHERE processed_at IS NULL AND received_at < now() - make_interval(secs => $1)
LIMIT 500
"""
UNSENT_OPTINS = """
SELECT shop_id, signup_id FROM signups
WHERE optin_required AND optin_sent_at IS NULL AND optin_confirmed_at IS NULL
  AND created_at < now() - make_interval(secs => $1)
LIMIT 500
"""


async def sweep_once(rt: Runtime) -> int:
    pool, stale = rt.conns.pool, rt.tuning.stale_seconds
    found = 0
    for row in await pool.fetch(STALE_JOBS, stale):
        await rt.queue.try_enqueue(RUN_JOB, str(row["shop_id"]), str(row["job_id"]))
        found += 1
    for row in await pool.fetch(STALE_EVENTS, stale):
        await rt.queue.try_enqueue(PROCESS_WEBHOOK, str(row["shop_id"]), row["webhook_id"])
        found += 1
    for row in await pool.fetch(UNSENT_OPTINS, stale):
        await rt.queue.try_enqueue(SEND_OPTIN, str(row["shop_id"]), str(row["signup_id"]))
        found += 1
    return found


async def sweep_forever(rt: Runtime) -> None:
    try:
        await _sweep_loop(rt)
    finally:
        await RETENTION.stop(rt)
        await RECONCILE.stop(rt)


async def _sweep_loop(rt: Runtime) -> None:
    interval = rt.tuning.sweep_seconds
    while True:
        try:
            if await rt.conns.redis.set("bis:sweep", "1", nx=True, px=int(interval * 900)):
                found = await sweep_once(rt)
                if found:
                    log.info("sweep re-enqueued %d items", found)
            if await rt.conns.redis.set("bis:reminders", "1", nx=True, px=int(rt.tuning.reminder_seconds * 1000)):
                queued = await schedule_reminders(rt)
                if queued:
                    log.info("queued %d reminders", queued)
            await RETENTION.tick(rt)  # daily, its own lock, in the background
            await RECONCILE.tick(rt)  # every SHOPIFY_RECONCILE_MINUTES, likewise
        except (RedisError, OSError) as exc:
            log.warning("sweep skipped, Redis unavailable: %s", exc)
        except Exception:
            log.exception("sweep failed")
        await asyncio.sleep(interval)
