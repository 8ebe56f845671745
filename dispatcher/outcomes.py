"""Writing what the provider answered: each attempt's final status, the
signup's notified marks, opt-outs, and the plan units of unsent attempts."""
from __future__ import annotations

import asyncio

from shared_models.suppression import OPT_OUT
from dispatcher.attempts import Attempt, Chunk, unlimited
from dispatcher.runtime import Runtime

# One statement, in autocommit: the attempts' final status, the signups'
# notified marks and the plan count, in one round trip. The plan_usage row,
# which every chain of the shop writes, is then locked only while PostgreSQL
# runs the statement, not across a transaction's round trips.
#
# The outcome write finds each row by primary key, whatever the statistics
# say. They are stale in the middle of a big restock (the last ANALYZE saw
# few of the shop's rows and no `sending` ones), and plans trusting them
# scanned the shop's rows, or the status index's entry for every row ever
# `sending` (dead versions too), once per batch: a 100,000-alert restock ran
# 2.5x slower. So the shop id comes from an array, as the ids do (the join can
# only probe the key), and "still sending" is written so that it can't be an
# index condition; the signups are found by key too, probed from the rows
# changed. Only rows still `sending` change: one another worker
# already settled stays as it is. $9: the plan has no monthly limit, so sent
# alerts are counted here (nothing was taken at the hand-over); otherwise the
# units of attempts not sent go back.
RECORD_OUTCOMES = """
WITH changed AS (
    UPDATE notifications n SET status = r.status, provider = r.provider,
        provider_message_id = r.message_id, error = r.error,
        sent_at = CASE WHEN r.status = 'sent' THEN now() END,
        plan_counted = (r.status = 'sent')
    FROM unnest(array_fill($1::uuid, ARRAY[cardinality($2::uuid[])]), $2::uuid[], $3::text[], $4::text[],
                $5::text[], $6::text[]) AS r(shop_id, nid, status, provider, message_id, error)
    WHERE n.shop_id = r.shop_id AND n.notification_id = r.nid AND (n.status = 'sending') IS TRUE
    RETURNING n.notification_id, n.signup_id, n.status
), marked AS (
    UPDATE signups s SET last_notified_at = now(), first_notified_at = COALESCE(s.first_notified_at, now()),
        notifications_sent = s.notifications_sent + 1, reminder_stage = GREATEST(s.reminder_stage, $7),
        updated_at = now()
    FROM changed c
    WHERE s.shop_id = $1 AND s.signup_id = c.signup_id AND c.status = 'sent'
), counted AS (
    INSERT INTO plan_usage AS p (shop_id, month, used)
    SELECT $1, $8, count(*) FROM changed WHERE status = 'sent' HAVING $9 AND count(*) > 0
    ON CONFLICT (shop_id, month) DO UPDATE SET used = p.used + EXCLUDED.used
), refunded AS (
    UPDATE plan_usage p SET used = GREATEST(0, p.used - u.n)
    FROM (SELECT count(*) AS n FROM changed WHERE status <> 'sent') u
    WHERE NOT $9 AND u.n > 0 AND p.shop_id = $1 AND p.month = $8
)
SELECT notification_id, status FROM changed
"""


async def record_outcomes(rt: Runtime, chunk: Chunk, attempts: list[Attempt]) -> None:
    """Final status of attempts, set-based (RECORD_OUTCOMES); a provider's
    opt-out is written in the same transaction."""
    if not attempts:
        return
    shop_id = chunk.job.shop_id
    cols = list(zip(*[(a.notification_id, a.status, a.provider, a.message_id, a.error) for a in attempts]))
    stage = (chunk.job.payload or {}).get("stage", 0) if chunk.job.trigger == "reminder" else 0
    args = (shop_id, *cols, stage, chunk.month, unlimited(chunk))
    opt_outs = {(a.signup.channel, a.signup.contact) for a in attempts if a.unsubscribe}
    if not opt_outs:
        rows = await rt.conns.pool.fetch(RECORD_OUTCOMES, *args)
    else:
        async with rt.conns.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(RECORD_OUTCOMES, *args)
            for channel, contact in opt_outs:
                await conn.execute(OPT_OUT, shop_id, channel, contact)
    rt.metrics.count_outcomes(attempts, {r["notification_id"]: r["status"] for r in rows})


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
