"""Attempt rows and their SQL: writing them, taking the plan allowance, and
what a previous run of a chunk left behind.

Every attempt is a notification row written before the provider is called,
keyed (send_key, attempt) so that a chunk run twice (a retried arq job, a
worker that died) can never send twice: the second run finds the rows. A
`sending` row means the send was handed to the provider (dispatcher.handover
opens rows only as their calls start), so a `sending` row a dead worker left
has an unknown outcome and is never resent."""
from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

import asyncpg

from shared_models import allowance as plan
from shared_models.context import Shop
from shared_models.suppression import SUPPRESSED
from dispatcher.runtime import Runtime
from shared_models.plans import PLANS
from shared_models.naming import display_name
from shared_models.queue import MERCHANT_ALERT
from shared_models.rows.sending import JobRow, LatestAttemptRow, OpenedRow, SignupRow
from shared_models.settings import Settings

# Rows: shared_models.rows.sending.SignupRow.
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
# The hand-over write (dispatcher.handover), one statement so that it is one
# round trip and holds the plan_usage row lock only while PostgreSQL runs it
# (a transaction held it across the client's round trips, and with several
# chains of one shop opening small groups they queued on that lock): take
# the allowance as plan.TAKE does, open the granted rows `sending` and the
# rest blocked/plan_limit, in delivery order. The caller marks those signups
# blocked, in a statement of its own only when there are any: as a CTE it ran
# (and fired the reports trigger on signups) for every group. No row when the month has no plan_usage row yet. A row another run already
# wrote is skipped (its unit, if granted, is given back by the caller).
# Row: shared_models.rows.sending.OpenedRow.
OPEN_ATTEMPTS = """
WITH taken AS (
    UPDATE plan_usage p SET used = p.used + g.granted
    FROM (SELECT LEAST(cardinality($6::uuid[]), GREATEST(0, COALESCE($5::int, 2147483647) - used)) AS granted
          FROM plan_usage WHERE shop_id = $1 AND month = $4 FOR UPDATE) g
    WHERE p.shop_id = $1 AND p.month = $4
    RETURNING p.used, g.granted
), ins AS (
    INSERT INTO notifications (shop_id, notification_id, signup_id, customer_id, job_id, channel, contact,
        status, blocked_reason, trigger, batch, attempt, variant_id, product_id, variant_title,
        send_key, plan_counted)
    SELECT $1, r.nid, r.sid, r.cid, $2, r.channel, r.contact,
           CASE WHEN r.ord <= t.granted THEN 'sending' ELSE 'blocked' END,
           CASE WHEN r.ord <= t.granted THEN NULL ELSE 'plan_limit' END,
           $3, r.batch, r.attempt, r.vid, r.pid, r.title, r.send_key, r.ord <= t.granted
    FROM taken t,
         unnest($6::uuid[], $7::uuid[], $8::uuid[], $9::text[], $10::text[], $11::text[],
                $12::int[], $13::int[], $14::bigint[], $15::bigint[], $16::text[], $17::text[]) WITH ORDINALITY
         AS r(nid, sid, cid, channel, contact, reason, batch, attempt, vid, pid, title, send_key, ord)
    ON CONFLICT DO NOTHING
    RETURNING notification_id, signup_id, status
)
SELECT t.used, t.granted, ARRAY(SELECT notification_id FROM ins WHERE status = 'sending') AS opened,
       ARRAY(SELECT signup_id FROM ins WHERE status = 'blocked') AS blocked
FROM (SELECT 1) one LEFT JOIN taken t ON true
"""
# Without a monthly limit nothing is granted or blocked, so nothing is taken
# here: the plan_usage row, which every chain of the shop writes, is left
# alone (its lock, held to commit, made the shop's hand-overs queue), and the
# outcome write counts the sent alerts instead (dispatcher.outcomes). The rows
# are not plan_counted until then, so an unknown outcome has nothing to give back.
OPEN_ATTEMPTS_UNLIMITED = """
INSERT INTO notifications (shop_id, notification_id, signup_id, customer_id, job_id, channel, contact,
    status, blocked_reason, trigger, batch, attempt, variant_id, product_id, variant_title,
    send_key, plan_counted)
SELECT $1, r.nid, r.sid, r.cid, $2, r.channel, r.contact, 'sending', NULL,
       $3, r.batch, r.attempt, r.vid, r.pid, r.title, r.send_key, false
FROM unnest($4::uuid[], $5::uuid[], $6::uuid[], $7::text[], $8::text[], $9::text[],
            $10::int[], $11::int[], $12::bigint[], $13::bigint[], $14::text[], $15::text[])
     AS r(nid, sid, cid, channel, contact, reason, batch, attempt, vid, pid, title, send_key)
ON CONFLICT DO NOTHING
RETURNING notification_id
"""
# The latest attempt per send key, one probe of the unique (shop_id, send_key,
# attempt) index each: a plan shape no statistics can change (a scan of the
# job's rows instead, chosen while the job's rows were few, made every chunk
# of a big restock slower than the one before). Rows: LatestAttemptRow.
LATEST_ATTEMPTS = """
SELECT n.notification_id, n.signup_id, n.status, n.plan_counted, n.created_at
FROM unnest($2::text[]) AS k(send_key)
CROSS JOIN LATERAL (
    SELECT notification_id, signup_id, status, plan_counted, created_at FROM notifications
    WHERE shop_id = $1 AND send_key = k.send_key
    ORDER BY attempt DESC LIMIT 1
) n
"""
# Statistics are stale in the middle of a big restock (the last ANALYZE saw
# none of the shop's rows `sending`): "still sending" is written so that it
# can't be an index condition, and these writes probe the primary key.
STILL_SENDING = "(status = 'sending') IS TRUE"
UNKNOWN_OUTCOME = f"""
UPDATE notifications SET status = 'failed', plan_counted = false,
    error = 'outcome unknown: the worker stopped during the send; not retried'
WHERE shop_id = $1 AND notification_id = ANY($2::uuid[]) AND {STILL_SENDING}
"""
DROP_UNSENT = f"""
DELETE FROM notifications WHERE shop_id = $1 AND notification_id = ANY($2::uuid[]) AND {STILL_SENDING}
"""
MARK_BLOCKED = """
UPDATE signups SET last_blocked_at = now(), updated_at = now()
WHERE shop_id = $1 AND signup_id = ANY($2::uuid[])
"""


# A send to make: (signup, batch, attempt number).
Queued = tuple[SignupRow, int, int]


@dataclass
class Attempt:
    notification_id: uuid.UUID
    signup: SignupRow
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
    """What one run of a send job reads once and hands to everything it calls
    (dispatcher.runner.load_chunk): the rules, the messages, the attempts and
    the usage check read the shop and its settings here, never the database."""

    shop: Shop
    job: JobRow
    settings: Settings  # shop.sending_settings
    month: dt.date  # the plan month, in the shop's timezone
    cancelled: list[uuid.UUID] = field(default_factory=list)  # signups not sent: the job was cancelled
    usage_warned: bool = False


def send_key(job_id: uuid.UUID, signup_id: uuid.UUID) -> str:
    """One send per (job, signup): a restock's job or a notify call's job."""
    return f"{job_id}:{signup_id}"


def variant_label(row: SignupRow) -> str | None:
    return display_name(row.product_title, row.variant_title)


def attempt_columns(chunk: Chunk, attempts: list[Attempt], reason: str | None) -> list[tuple[object, ...]]:
    """The unnest() arrays of INSERT_ATTEMPTS and OPEN_ATTEMPTS."""
    job_id = chunk.job.job_id
    return list(zip(*[
        (a.notification_id, a.signup.signup_id, a.signup.customer_id, a.signup.channel, a.signup.contact,
         reason, a.batch, a.attempt, a.signup.variant_id, a.signup.product_id, variant_label(a.signup),
         send_key(job_id, a.signup.signup_id))
        for a in attempts
    ]))


async def write_attempts(conn: asyncpg.Connection, chunk: Chunk, rows: list[Queued],
                         *, status: str, reason: str | None) -> list[Attempt]:
    """Returns the attempts written (a row that already exists for that send
    and attempt is not written again)."""
    if not rows:
        return []
    job = chunk.job
    attempts = [Attempt(uuid.uuid4(), s, batch, number) for s, batch, number in rows]
    cols = attempt_columns(chunk, attempts, reason)
    written = {r["notification_id"] for r in await conn.fetch(
        INSERT_ATTEMPTS, job.shop_id, job.job_id, status, job.trigger, status == "sending", *cols)}
    return [a for a in attempts if a.notification_id in written]


async def record_blocked(rt: Runtime, chunk: Chunk, rows: list[Queued], reason: str) -> None:
    async with rt.conns.pool.acquire() as conn, conn.transaction():
        written = await write_attempts(conn, chunk, rows, status="blocked", reason=reason)
        if written:
            await conn.execute(MARK_BLOCKED, chunk.job.shop_id, [a.signup.signup_id for a in written])
    rt.metrics.count_alerts((a.signup.channel, "blocked") for a in written)


async def open_attempts(rt: Runtime, chunk: Chunk, rows: list[Queued]) -> list[Attempt]:
    """Write `sending` rows and take the allowance for them (OPEN_ATTEMPTS);
    what the plan can't cover becomes blocked/plan_limit. Committed before it
    returns: the callers hand the rows to the provider next."""
    if not rows:
        return []
    job, pool = chunk.job, rt.conns.pool
    attempts = [Attempt(uuid.uuid4(), s, batch, number) for s, batch, number in rows]
    cols = attempt_columns(chunk, attempts, None)
    limit = PLANS[chunk.shop.plan].monthly_alerts
    if limit is None:
        opened = {r[0] for r in await pool.fetch(OPEN_ATTEMPTS_UNLIMITED, job.shop_id, job.job_id,
                                                 job.trigger, *cols)}
        return [a for a in attempts if a.notification_id in opened]
    args = (job.shop_id, job.job_id, job.trigger, chunk.month, limit, *cols)
    row: OpenedRow = await pool.fetchrow(OPEN_ATTEMPTS, *args, record_class=OpenedRow)
    if row.used is None:  # the month's first take
        await pool.execute(plan.ENSURE, job.shop_id, chunk.month)
        row = await pool.fetchrow(OPEN_ATTEMPTS, *args, record_class=OpenedRow)
    opened = set(row.opened)
    if row.blocked:
        await pool.execute(MARK_BLOCKED, job.shop_id, row.blocked)
    # Units granted to rows another run had already written go back.
    await plan.refund(pool, job.shop_id, chunk.month, row.granted - len(opened))
    if opened:
        await usage_check(rt, chunk, row.used)
    return [a for a in attempts if a.notification_id in opened]


async def usage_check(rt: Runtime, chunk: Chunk, used: int) -> None:
    limit = PLANS[chunk.shop.plan].monthly_alerts
    warning = chunk.settings["alerts"]["usage_warning"]
    # Once per chunk is enough: the merchant alert itself is sent once per month.
    if limit and warning["enabled"] and not chunk.usage_warned and used * 100 >= limit * warning["percent"]:
        chunk.usage_warned = await rt.queue.try_enqueue(MERCHANT_ALERT, str(chunk.shop.shop_id),
                                                        "usage_warning", chunk.month.isoformat())


def unlimited(chunk: Chunk) -> bool:
    """No monthly limit: the allowance is counted as alerts are sent, not taken ahead."""
    return PLANS[chunk.shop.plan].monthly_alerts is None


async def drop_unsent(conn: asyncpg.Connection | asyncpg.Pool, chunk: Chunk, attempts: list[Attempt]) -> None:
    """Rows opened but never handed to the provider: gone, and their units back."""
    if attempts:
        shop_id = chunk.job.shop_id
        await conn.execute(DROP_UNSENT, shop_id, [a.notification_id for a in attempts])
        if not unlimited(chunk):
            await plan.refund(conn, shop_id, chunk.month, len(attempts))


async def already_attempted(rt: Runtime, chunk: Chunk, signups: list[SignupRow]) -> set[uuid.UUID]:
    """Targets a previous run of this chunk already recorded. A row still
    `sending` was handed to the provider by a worker that died before it
    wrote the outcome: the outcome is unknown, so it is failed and not retried."""
    if not signups:
        return set()
    shop_id, job_id = chunk.job.shop_id, chunk.job.job_id
    keys = [send_key(job_id, s.signup_id) for s in signups]
    rows: list[LatestAttemptRow] = await rt.conns.pool.fetch(LATEST_ATTEMPTS, shop_id, keys,
                                                             record_class=LatestAttemptRow)
    orphans = [r for r in rows if r.status == "sending"]
    if orphans:
        async with rt.conns.pool.acquire() as conn, conn.transaction():
            await conn.execute(UNKNOWN_OUTCOME, shop_id, [r.notification_id for r in orphans])
            by_month: dict[dt.date, int] = defaultdict(int)
            for r in orphans:
                if r.plan_counted:
                    by_month[plan.month_of(r.created_at, chunk.shop.timezone)] += 1
            for month, units in by_month.items():
                await plan.refund(conn, shop_id, month, units)
    return {r.signup_id for r in rows}
