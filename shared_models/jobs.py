"""Send jobs as rows: the API (notify, bulk_notify) and the dispatcher
(restocks, reminders) create them the same way; workers run them."""
from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from shared_models.signup_states import open_sql

ONE_BATCH = 2**31 - 1
ANALYZE_AFTER = 5_000
ORDER_SQL = {"oldest_first": "created_at ASC, signup_id ASC", "newest_first": "created_at DESC, signup_id DESC"}

INSERT_JOB = """
INSERT INTO jobs (shop_id, job_id, kind, trigger, allow_resend, variant_id,
                  batch_interval_minutes, payload, request_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
"""
# {where} and {order} are filled from constants in this module, never from input.
INSERT_TARGETS = """
INSERT INTO job_targets (shop_id, job_id, signup_id, batch, position)
SELECT $1, $2, signup_id, (row_number() OVER w - 1) / $3 + 1, row_number() OVER w
FROM signups WHERE shop_id = $1 AND {where}
WINDOW w AS (ORDER BY {order})
ON CONFLICT DO NOTHING
RETURNING signup_id
"""
# A job's counts while it runs, read from its notification rows; cancelling
# it (the API's jobs_cancel, the dispatcher for an uninstalled shop).
COUNTS = """
SELECT count(*) FILTER (WHERE status = 'sent') AS sent,
       count(*) FILTER (WHERE status = 'failed') AS failed,
       count(*) FILTER (WHERE status = 'blocked') AS blocked
FROM notifications WHERE shop_id = $1 AND job_id = $2
"""
CANCEL = """
WITH j AS (
    UPDATE jobs SET status = 'cancelled', finished_at = now()
    WHERE shop_id = $1 AND job_id = $2 AND status IN ('queued', 'running')
    RETURNING job_id
)
UPDATE job_targets t SET state = 'cancelled', lease_until = NULL
FROM j WHERE t.shop_id = $1 AND t.job_id = j.job_id AND t.state = 'queued'
"""
SET_CANCELLED_COUNTS = f"""
WITH c AS ({COUNTS})
UPDATE jobs SET sent = c.sent, failed = c.failed, blocked = c.blocked FROM c
WHERE shop_id = $1 AND job_id = $2
"""
TARGETS_BY_IDS = "signup_id = ANY($4::uuid[])"
# A restock targets the variant's open signups (shared_models.signup_states).
TARGETS_WAITING_ON_VARIANT = f"variant_id = $4 AND {open_sql('')}"
SET_BATCHES = """
UPDATE jobs SET total_batches = GREATEST(1, (SELECT max(batch) FROM job_targets
                                              WHERE shop_id = $1 AND job_id = $2))
WHERE shop_id = $1 AND job_id = $2
"""
FINISH_EMPTY = """
UPDATE jobs SET status = 'done', finished_at = now() WHERE shop_id = $1 AND job_id = $2
"""


async def create_job(conn: asyncpg.Connection, shop_id: uuid.UUID, *, kind: str, trigger: str,
                     allow_resend: bool = False, variant_id: int | None = None,
                     batch_interval_minutes: int = 0, payload: dict[str, Any] | None = None,
                     request_id: str | None = None) -> uuid.UUID:
    job_id = uuid.uuid4()
    await conn.execute(INSERT_JOB, shop_id, job_id, kind, trigger, allow_resend, variant_id,
                       batch_interval_minutes, payload or {}, request_id)
    return job_id


async def add_targets(conn: asyncpg.Connection, shop_id: uuid.UUID, job_id: uuid.UUID, *,
                      where: str, arg: Any, batch_size: int | None, order: str = "oldest_first",
                      analyze: bool = False) -> list[uuid.UUID]:
    """Targets in delivery order, numbered into batches. A signup already in
    another unfinished send is skipped (the in-flight unique index)."""
    sql = INSERT_TARGETS.format(where=where, order=ORDER_SQL[order])
    rows = await conn.fetch(sql, shop_id, job_id, batch_size or ONE_BATCH, arg)
    if not rows:
        await conn.execute(FINISH_EMPTY, shop_id, job_id)
        return []
    await conn.execute(SET_BATCHES, shop_id, job_id)
    if analyze and len(rows) >= ANALYZE_AFTER:
        # Fresh statistics, or the planner takes this job's targets for a
        # handful and scans them all on every claim.
        await conn.execute("ANALYZE job_targets")
    return [r["signup_id"] for r in rows]
