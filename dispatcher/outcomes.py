"""Writing what the provider answered: each attempt's final status, the
signup's notified marks, opt-outs, and the plan units of unsent attempts."""
from __future__ import annotations

import asyncio

from shared_models import allowance as plan
from shared_models.suppression import OPT_OUT
from dispatcher.attempts import Attempt, Chunk, unlimited
from dispatcher.runtime import Runtime

# The outcome write finds each row by primary key, whatever the statistics
# say. They are stale in the middle of a big restock (the last ANALYZE saw
# few of the shop's rows and no `sending` ones), and plans trusting them
# scanned the shop's rows, or the status index's entry for every row ever
# `sending` (dead versions too), once per batch: a 100,000-alert restock ran
# 2.5x slower. So the shop id comes from an array, as the ids do (the join can
# only probe the key), and "still sending" is written so that it can't be an
# index condition.
RECORD_OUTCOMES = """
UPDATE notifications n SET status = r.status, provider = r.provider,
    provider_message_id = r.message_id, error = r.error,
    sent_at = CASE WHEN r.status = 'sent' THEN now() END,
    plan_counted = (r.status = 'sent')
FROM unnest(array_fill($1::uuid, ARRAY[cardinality($2::uuid[])]), $2::uuid[], $3::text[], $4::text[],
            $5::text[], $6::text[]) AS r(shop_id, nid, status, provider, message_id, error)
WHERE n.shop_id = r.shop_id AND n.notification_id = r.nid AND (n.status = 'sending') IS TRUE
RETURNING n.notification_id, n.status
"""
MARK_SENT = """
UPDATE signups SET last_notified_at = now(), first_notified_at = COALESCE(first_notified_at, now()),
    notifications_sent = notifications_sent + 1, reminder_stage = GREATEST(reminder_stage, $3),
    updated_at = now()
WHERE shop_id = $1 AND signup_id = ANY($2::uuid[])
"""


async def record_outcomes(rt: Runtime, chunk: Chunk, attempts: list[Attempt]) -> None:
    """Final status of attempts, set-based; unsent units go back to the plan."""
    if not attempts:
        return
    shop_id = chunk.job["shop_id"]
    cols = list(zip(*[(a.notification_id, a.status, a.provider, a.message_id, a.error) for a in attempts]))
    stage = (chunk.job["payload"] or {}).get("stage", 0) if chunk.job["trigger"] == "reminder" else 0
    async with rt.conns.pool.acquire() as conn, conn.transaction():
        # Only rows still `sending` change: one another worker already settled stays as it is.
        changed = {r["notification_id"]: r["status"] for r in await conn.fetch(RECORD_OUTCOMES, shop_id, *cols)}
        rt.metrics.count_outcomes(attempts, changed)
        sent = [a.signup["signup_id"] for a in attempts if changed.get(a.notification_id) == "sent"]
        if unlimited(chunk):  # nothing was taken at the hand-over: count what was sent
            await plan.add(conn, shop_id, chunk.month, len(sent))
        else:
            await plan.refund(conn, shop_id, chunk.month, len(changed) - len(sent))
        if sent:
            await conn.execute(MARK_SENT, shop_id, sent, stage)
        for a in attempts:
            if a.unsubscribe:
                await conn.execute(OPT_OUT, shop_id, a.signup["channel"], a.signup["contact"])


class OutcomeWriter:
    """Outcomes written in small batches as they come (every 50 ms or
    DISPATCH_OUTCOME_BATCH sends), so that a worker killed mid-chunk leaves only its last instant of
    sends with an unknown outcome, while a fast provider still gets set-based
    writes."""

    def __init__(self, rt: Runtime, chunk: Chunk, interval: float = 0.05, size: int = 100):
        self.rt, self.chunk, self.interval, self.size = rt, chunk, interval, size
        self.pending: list[Attempt] = []
        self.lock = asyncio.Lock()
        self.ticker = asyncio.create_task(self._tick())

    async def add(self, attempt: Attempt) -> None:
        self.pending.append(attempt)
        # One write at a time: sends finishing meanwhile join the next batch.
        if len(self.pending) >= self.size and not self.lock.locked():
            await self.flush()

    async def flush(self) -> None:
        async with self.lock:
            batch, self.pending = self.pending, []
            if batch:
                await record_outcomes(self.rt, self.chunk, batch)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if self.pending:
                # Shielded: stopping the ticker must not abort a write half-way.
                await asyncio.shield(self.flush())

    async def close(self) -> None:
        self.ticker.cancel()
        await self.flush()  # waits on the lock for a shielded write still running
