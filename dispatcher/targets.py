"""SQL of a running send job: leases on targets, batches, completion."""
from __future__ import annotations

from shared_models.jobs import COUNTS

# Row: shared_models.rows.sending.JobRow.
JOB = """
SELECT job_id, shop_id, kind, trigger, status, allow_resend, variant_id, payload, current_batch,
       batch_checked, total_batches, next_run_at, next_run_at > now() AS deferred, request_id,
       EXISTS (SELECT 1 FROM shops s WHERE s.shop_id = jobs.shop_id AND s.uninstalled_at IS NOT NULL)
           AS shop_uninstalled
FROM jobs WHERE shop_id = $1 AND job_id = $2
"""
START = """
UPDATE jobs SET status = 'running', started_at = COALESCE(started_at, now()), heartbeat_at = now()
WHERE shop_id = $1 AND job_id = $2 AND status IN ('queued', 'running')
"""
# Lease up to $5 targets of the current batch that nobody holds (or whose
# holder died: lease expired), in delivery order. The ARRAY(...) runs once (an
# init plan): as a join, a planner with stale statistics re-ran the locking
# subquery per row, which was slow and leased more than $5 rows.
# Rows: shared_models.rows.sending.TargetRow.
CLAIM = """
UPDATE job_targets SET lease_until = now() + make_interval(secs => $4)
WHERE shop_id = $1 AND job_id = $2 AND signup_id = ANY(ARRAY(
    SELECT signup_id FROM job_targets
    WHERE shop_id = $1 AND job_id = $2 AND batch = $3 AND state = 'queued'
      AND (lease_until IS NULL OR lease_until < now())
    ORDER BY position LIMIT $5
    FOR UPDATE SKIP LOCKED))
RETURNING signup_id, batch, position
"""
EXTEND = """
UPDATE job_targets SET lease_until = now() + make_interval(secs => $4)
WHERE shop_id = $1 AND job_id = $2 AND signup_id = ANY($3::uuid[]) AND state = 'queued'
"""
# When the first lease another worker holds on the batch lapses (epoch
# seconds, and seconds from now): a chain with nothing to claim comes back
# then, so that a dead worker's targets are taken over as soon as they can be.
NEXT_LEASE_EXPIRY = """
SELECT extract(epoch FROM min(lease_until)) AS at, extract(epoch FROM min(lease_until) - now()) AS wait
FROM job_targets
WHERE shop_id = $1 AND job_id = $2 AND batch = $3 AND state = 'queued' AND lease_until IS NOT NULL
"""
HEARTBEAT = "UPDATE jobs SET heartbeat_at = now() WHERE shop_id = $1 AND job_id = $2"
DONE = """
UPDATE job_targets SET state = $4, lease_until = NULL
WHERE shop_id = $1 AND job_id = $2 AND signup_id = ANY($3::uuid[]) AND state = 'queued'
"""
# Exactly one caller moves the job to its next batch, once the current one is done.
ADVANCE = """
UPDATE jobs SET current_batch = current_batch + 1,
                next_run_at = now() + make_interval(mins => batch_interval_minutes)
WHERE shop_id = $1 AND job_id = $2 AND status = 'running' AND current_batch = $3
  AND current_batch < total_batches
  AND NOT EXISTS (SELECT 1 FROM job_targets
                  WHERE shop_id = $1 AND job_id = $2 AND batch = $3 AND state = 'queued')
RETURNING batch_interval_minutes
"""
FINISH = f"""
WITH c AS ({COUNTS})
UPDATE jobs SET status = 'done', finished_at = now(), sent = c.sent, failed = c.failed, blocked = c.blocked
FROM c
WHERE shop_id = $1 AND job_id = $2 AND status = 'running'
  AND NOT EXISTS (SELECT 1 FROM job_targets
                  WHERE shop_id = $1 AND job_id = $2 AND state = 'queued')
RETURNING status
"""
# The first chain to reach a new batch checks it (sold out, unpublished).
CLAIM_BATCH_CHECK = """
UPDATE jobs SET batch_checked = current_batch
WHERE shop_id = $1 AND job_id = $2 AND batch_checked < current_batch AND current_batch = $3
RETURNING current_batch
"""
BATCH_TARGETS = """
SELECT signup_id FROM job_targets
WHERE shop_id = $1 AND job_id = $2 AND batch = $3 AND state = 'queued'
"""
STATUS = "SELECT status FROM jobs WHERE shop_id = $1 AND job_id = $2"
