"""One chunk of a send job: decide, record, send, record the outcome.

Every attempt is a notification row written before the provider is called,
keyed (send_key, attempt) so that a chunk run twice (a retried arq job, a
worker that died) can never send twice: the second run finds the rows."""
from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from dispatcher import plan, rules
from dispatcher.channels.base import (
    Delivered,
    PermanentError,
    ProviderError,
    RateLimited,
    TransientError,
    UnknownOutcome,
)
from dispatcher.messages import link_urls, render_alert
from shared_models.templates import RenderError
from dispatcher import targets as sql
from dispatcher.runtime import Runtime
from shared_models.plans import PLANS
from shared_models.queue import MERCHANT_ALERT
from shared_models.settings import applicable, load_effective
from shared_models.suppression import OPT_OUT, SUPPRESSED

log = logging.getLogger("backinstock.dispatcher")

SHOP = """
SELECT shop_id, domain, name, plan, timezone, storefront_domains, uninstalled_at
FROM shops WHERE shop_id = $1
"""
LOAD_SIGNUPS = f"""
SELECT s.signup_id, s.customer_id, s.channel, s.contact, s.variant_id, s.product_id,
       s.optin_required, s.optin_confirmed_at, s.last_notified_at, s.unsubscribed_at,
       s.reminder_stage, s.purchased_at, v.product_title, v.variant_title, v.url, {SUPPRESSED} AS suppressed
FROM signups s LEFT JOIN variants v ON v.shop_id = s.shop_id AND v.variant_id = s.variant_id
WHERE s.shop_id = $1 AND s.signup_id = ANY($2::uuid[])
"""
INSERT_ATTEMPTS = """
INSERT INTO notifications (shop_id, notification_id, signup_id, customer_id, job_id, channel, contact,
    status, blocked_reason, trigger, batch, attempt, variant_id, product_id, variant_title,
    send_key, plan_counted)
SELECT $1, r.nid, r.sid, r.cid, $2, r.channel, r.contact, $3, r.reason, $4, r.batch, r.attempt,
       r.vid, r.pid, r.title, r.send_key, $5
FROM unnest($6::uuid[], $7::uuid[], $8::uuid[], $9::text[], $10::text[], $11::text[],
            $12::int[], $13::int[], $14::bigint[], $15::bigint[], $16::text[], $17::text[])
     AS r(nid, sid, cid, channel, contact, reason, batch, attempt, vid, pid, title, send_key)
ON CONFLICT DO NOTHING
RETURNING notification_id
"""
OVER_PLAN = """
UPDATE notifications SET status = 'blocked', blocked_reason = 'plan_limit', plan_counted = false
WHERE shop_id = $1 AND notification_id = ANY($2::uuid[])
"""
# The latest attempt per send key, one probe of the unique (shop_id, send_key,
# attempt) index each: a plan shape no statistics can change (a scan of the
# job's rows instead, chosen while the job's rows were few, made every chunk
# of a big restock slower than the one before).
LATEST_ATTEMPTS = """
SELECT n.notification_id, n.signup_id, n.status, n.plan_counted, n.created_at
FROM unnest($2::text[]) AS k(send_key)
CROSS JOIN LATERAL (
    SELECT notification_id, signup_id, status, plan_counted, created_at FROM notifications
    WHERE shop_id = $1 AND send_key = k.send_key
    ORDER BY attempt DESC LIMIT 1
) n
"""
# The outcome write finds each row by primary key, whatever the statistics
# say. They are stale in the middle of a big restock (the last ANALYZE saw
# few of the shop's rows and no `sending` ones), and plans trusting them
# scanned the shop's rows, or the status index's entry for every row ever
# `sending` (dead versions too), once per batch: a 100,000-alert restock ran
# 2.5x slower. So the shop id comes from an array, as the ids do (the join can
# only probe the key), and "still sending" is written so that it can't be an
# index condition.
STILL_SENDING = "(status = 'sending') IS TRUE"
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
UNKNOWN_OUTCOME = f"""
UPDATE notifications SET status = 'failed', plan_counted = false,
    error = 'outcome unknown: the worker stopped during the send; not retried'
WHERE shop_id = $1 AND notification_id = ANY($2::uuid[]) AND {STILL_SENDING}
"""
DROP_UNSENT = f"""
DELETE FROM notifications WHERE shop_id = $1 AND notification_id = ANY($2::uuid[]) AND {STILL_SENDING}
"""
MARK_SENT = """
UPDATE signups SET last_notified_at = now(), first_notified_at = COALESCE(first_notified_at, now()),
    notifications_sent = notifications_sent + 1, reminder_stage = GREATEST(reminder_stage, $3),
    updated_at = now()
WHERE shop_id = $1 AND signup_id = ANY($2::uuid[])
"""
MARK_BLOCKED = """
UPDATE signups SET last_blocked_at = now(), updated_at = now()
WHERE shop_id = $1 AND signup_id = ANY($2::uuid[])
"""


@dataclass
class Attempt:
    notification_id: uuid.UUID
    signup: Any
    batch: int
    attempt: int = 1
    status: str = "sending"
    provider: str | None = None
    message_id: str | None = None
    error: str | None = None
    retryable: bool = False
    unsubscribe: bool = False


@dataclass
class Chunk:
    shop: Any
    job: Any
    settings: dict
    month: Any
    cancelled: list[Attempt] = field(default_factory=list)


def send_key(job_id: uuid.UUID, signup_id: uuid.UUID) -> str:
    """One send per (job, signup): a restock's job or a notify call's job."""
    return f"{job_id}:{signup_id}"


def variant_label(row: Any) -> str | None:
    parts = [p for p in (row["product_title"], row["variant_title"]) if p]
    return " - ".join(parts) or None


def still_wanted(job: Any, signup: Any) -> bool:
    """A target can go stale between queueing and sending: another send got
    there first, or (reminders) the customer bought."""
    if job["trigger"] == "restock":
        return signup["last_notified_at"] is None
    if job["trigger"] == "reminder":
        stage = (job["payload"] or {}).get("stage", 1)
        return signup["purchased_at"] is None and signup["reminder_stage"] < stage
    return signup["last_notified_at"] is None or job["allow_resend"]


async def write_attempts(conn: asyncpg.Connection, chunk: Chunk, rows: list[tuple[Any, int, int]],
                         *, status: str, reason: str | None) -> list[Attempt]:
    """rows: (signup, batch, attempt number). Returns the attempts written
    (a row that already exists for that send and attempt is not written again)."""
    if not rows:
        return []
    job = chunk.job
    attempts = [Attempt(uuid.uuid4(), s, batch, number) for s, batch, number in rows]
    cols = list(zip(*[
        (a.notification_id, a.signup["signup_id"], a.signup["customer_id"], a.signup["channel"],
         a.signup["contact"], reason, a.batch, a.attempt, a.signup["variant_id"], a.signup["product_id"],
         variant_label(a.signup), send_key(job["job_id"], a.signup["signup_id"]))
        for a in attempts
    ]))
    written = {r["notification_id"] for r in await conn.fetch(
        INSERT_ATTEMPTS, job["shop_id"], job["job_id"], status, job["trigger"], status == "sending", *cols)}
    return [a for a in attempts if a.notification_id in written]


async def record_blocked(rt: Runtime, chunk: Chunk, rows: list[tuple[Any, int, int]], reason: str) -> None:
    async with rt.conns.pool.acquire() as conn, conn.transaction():
        written = await write_attempts(conn, chunk, rows, status="blocked", reason=reason)
        if written:
            await conn.execute(MARK_BLOCKED, chunk.job["shop_id"], [a.signup["signup_id"] for a in written])
    rt.metrics.count_alerts((a.signup["channel"], "blocked") for a in written)


async def open_attempts(rt: Runtime, chunk: Chunk, rows: list[tuple[Any, int, int]]) -> list[Attempt]:
    """Write `sending` rows and take the allowance for them in one transaction;
    what the plan can't cover becomes blocked/plan_limit."""
    shop_id = chunk.job["shop_id"]
    async with rt.conns.pool.acquire() as conn, conn.transaction():
        fresh = await write_attempts(conn, chunk, rows, status="sending", reason=None)
        granted, used = await plan.take(conn, shop_id, chunk.shop["plan"], chunk.month, len(fresh))
        over = fresh[granted:]
        if over:
            await conn.execute(OVER_PLAN, shop_id, [a.notification_id for a in over])
            await conn.execute(MARK_BLOCKED, shop_id, [a.signup["signup_id"] for a in over])
    if granted:
        await usage_check(rt, chunk, used)
    return fresh[:granted]


async def usage_check(rt: Runtime, chunk: Chunk, used: int) -> None:
    limit = PLANS[chunk.shop["plan"]].monthly_alerts
    warning = chunk.settings["alerts"]["usage_warning"]
    if limit and warning["enabled"] and used * 100 >= limit * warning["percent"]:
        await rt.queue.try_enqueue(MERCHANT_ALERT, str(chunk.shop["shop_id"]), "usage_warning",
                                   chunk.month.isoformat())


async def already_attempted(rt: Runtime, chunk: Chunk, signups: list[Any]) -> set[uuid.UUID]:
    """Targets a previous run of this chunk already recorded. A row still
    `sending` belonged to a worker that died mid-send: its outcome is unknown,
    so it is failed and not retried."""
    if not signups:
        return set()
    shop_id, job_id = chunk.job["shop_id"], chunk.job["job_id"]
    keys = [send_key(job_id, s["signup_id"]) for s in signups]
    rows = await rt.conns.pool.fetch(LATEST_ATTEMPTS, shop_id, keys)
    orphans = [r for r in rows if r["status"] == "sending"]
    if orphans:
        async with rt.conns.pool.acquire() as conn, conn.transaction():
            await conn.execute(UNKNOWN_OUTCOME, shop_id, [r["notification_id"] for r in orphans])
            by_month: dict[Any, int] = defaultdict(int)
            for r in orphans:
                if r["plan_counted"]:
                    by_month[plan.month_of(r["created_at"], chunk.shop["timezone"])] += 1
            for month, units in by_month.items():
                await plan.refund(conn, shop_id, month, units)
    return {r["signup_id"] for r in rows}


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
        await plan.refund(conn, shop_id, chunk.month, sum(1 for st in changed.values() if st != "sent"))
        sent = [a.signup["signup_id"] for a in attempts if changed.get(a.notification_id) == "sent"]
        if sent:
            await conn.execute(MARK_SENT, shop_id, sent, stage)
        for a in attempts:
            if a.unsubscribe:
                await conn.execute(OPT_OUT, shop_id, a.signup["channel"], a.signup["contact"])


def message_for(rt: Runtime, chunk: Chunk, attempt: Attempt):
    s, shop, config = attempt.signup, chunk.shop, rt.conns.config
    links = link_urls(config.public_url, shop["shop_id"], attempt.notification_id, s["signup_id"],
                      config.secret_key)
    return render_alert(
        channel=s["channel"], to=s["contact"], shop_name=shop["name"], shop_domain=shop["domain"],
        product_title=s["product_title"], variant_title=s["variant_title"],
        product_url=s["url"], email_settings=chunk.settings["channels"]["email"],
        click_url=links["click_url"], unsubscribe_url=links["unsubscribe_url"],
        unsubscribe_all_url=links["unsubscribe_all_url"], reference=str(attempt.notification_id),
    )


async def call_provider(rt: Runtime, chunk: Chunk, attempt: Attempt) -> Attempt:
    provider = rt.providers[attempt.signup["channel"]]
    attempt.provider = provider.name
    try:
        message = message_for(rt, chunk, attempt)
    except RenderError as exc:  # the shop's template, before any hand-over: a certain failure
        attempt.status, attempt.error = "failed", str(exc)
        return attempt
    for _ in range(rt.tuning.max_rate_limit_waits + 1):
        await rt.throttle.acquire(provider.name)
        try:
            with rt.metrics.time_send(provider.name):
                delivered: Delivered = await provider.send(message)
        except RateLimited as exc:  # waited out, not an attempt
            await asyncio.sleep(min(exc.retry_after, 30))
            continue
        except TransientError as exc:
            attempt.status, attempt.error, attempt.retryable = "failed", exc.message, True
        except PermanentError as exc:
            attempt.status, attempt.error, attempt.unsubscribe = "failed", exc.message, exc.unsubscribe
        except UnknownOutcome as exc:
            attempt.status, attempt.error = "failed", f"outcome unknown: {exc.message}"
        except ProviderError as exc:
            attempt.status, attempt.error = "failed", exc.message
        except Exception as exc:  # a bug or an unexpected library error: never retried blindly
            log.exception("provider %s raised unexpectedly", provider.name)
            attempt.status, attempt.error = "failed", f"outcome unknown: {type(exc).__name__}"
        else:
            attempt.status, attempt.message_id = "sent", delivered.message_id
            attempt.provider = delivered.provider
        return attempt
    attempt.status, attempt.error, attempt.retryable = "failed", "provider kept rate limiting", True
    return attempt


async def send_with_retries(rt: Runtime, chunk: Chunk, attempt: Attempt, cancelled: "CancelWatch"
                            ) -> Attempt | None:
    """The final attempt (earlier failed ones are recorded as they happen), or
    None when the job was cancelled before the provider was called."""
    while True:
        if await cancelled():
            chunk.cancelled.append(attempt)
            return None
        await call_provider(rt, chunk, attempt)
        if not attempt.retryable or attempt.attempt >= rt.tuning.max_attempts:
            return attempt
        await record_outcomes(rt, chunk, [attempt])
        await asyncio.sleep(rt.tuning.retry_delay * 2 ** (attempt.attempt - 1))
        retry = await open_attempts(rt, chunk, [(attempt.signup, attempt.batch, attempt.attempt + 1)])
        if not retry:
            return None  # the plan ran out meanwhile: recorded as blocked/plan_limit
        attempt = retry[0]


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


class CancelWatch:
    """Is the job cancelled? Asked before every provider call, read at most
    twice a second."""

    def __init__(self, rt: Runtime, shop_id: uuid.UUID, job_id: uuid.UUID):
        self.rt, self.shop_id, self.job_id = rt, shop_id, job_id
        self.checked = 0.0
        self.cancelled = False
        self.lock = asyncio.Lock()

    async def __call__(self) -> bool:
        if not self.cancelled and time.monotonic() - self.checked > 0.5:
            async with self.lock:
                if time.monotonic() - self.checked > 0.5:
                    status = await self.rt.conns.pool.fetchval(sql.STATUS, self.shop_id, self.job_id)
                    self.cancelled = status == "cancelled"
                    self.checked = time.monotonic()
        return self.cancelled


async def keep_leases(rt: Runtime, job: Any, signup_ids: list[uuid.UUID]) -> None:
    """While a chunk runs (slow providers, retries), its leases must not lapse."""
    while True:
        await asyncio.sleep(rt.tuning.lease_seconds / 3)
        await rt.conns.pool.execute(sql.EXTEND, job["shop_id"], job["job_id"], signup_ids,
                                    rt.tuning.lease_seconds)
        await rt.conns.pool.execute(sql.HEARTBEAT, job["shop_id"], job["job_id"])


async def run_chunk(rt: Runtime, job: Any, claimed: list[Any]) -> None:
    pool, shop_id = rt.conns.pool, job["shop_id"]
    shop = await pool.fetchrow(SHOP, shop_id)
    settings = applicable(await load_effective(pool, shop_id), shop["plan"])
    chunk = Chunk(shop, job, settings, plan.current_month(shop["timezone"]))
    claimed = sorted(claimed, key=lambda r: r["position"])
    ids = [r["signup_id"] for r in claimed]
    batch_of = {r["signup_id"]: r["batch"] for r in claimed}
    leases = asyncio.create_task(keep_leases(rt, job, ids))
    try:
        found = {r["signup_id"]: r for r in await pool.fetch(LOAD_SIGNUPS, shop_id, ids)}
        wanted = [found[i] for i in ids if i in found and still_wanted(job, found[i])]
        done_before = await already_attempted(rt, chunk, wanted)
        wanted = [s for s in wanted if s["signup_id"] not in done_before]

        blocked: dict[str, list[tuple[Any, int, int]]] = defaultdict(list)
        candidates: list[tuple[Any, int, int]] = []
        for s in wanted:
            reason = rules.blocked_reason(s, settings)
            row = (s, batch_of[s["signup_id"]], 1)
            (blocked[reason] if reason else candidates).append(row)
        for reason, rows in blocked.items():
            await record_blocked(rt, chunk, rows, reason)

        gate = asyncio.Semaphore(rt.tuning.send_concurrency)
        cancelled = CancelWatch(rt, shop_id, job["job_id"])
        outcomes = OutcomeWriter(rt, chunk, size=rt.tuning.outcome_batch)

        async def one(a: Attempt) -> None:
            async with gate:
                final = await send_with_retries(rt, chunk, a, cancelled)
            if final is not None:
                await outcomes.add(final)

        # Rows are opened a slice at a time, just before their sends: a worker
        # that dies leaves only that slice's sends with an unknown outcome.
        step = rt.tuning.open_slice
        try:
            for start in range(0, len(candidates), step):
                if await cancelled():
                    break
                to_send = await open_attempts(rt, chunk, candidates[start:start + step])
                await asyncio.gather(*(one(a) for a in to_send))
        finally:
            await outcomes.close()
        if chunk.cancelled:
            await pool.execute(DROP_UNSENT, shop_id, [a.notification_id for a in chunk.cancelled])
            await plan.refund(pool, shop_id, chunk.month, len(chunk.cancelled))
    finally:
        leases.cancel()
    stopped = {a.signup["signup_id"] for a in chunk.cancelled}
    await pool.execute(sql.DONE, shop_id, job["job_id"], [i for i in ids if i not in stopped], "done")
    if stopped:
        await pool.execute(sql.DONE, shop_id, job["job_id"], list(stopped), "cancelled")
