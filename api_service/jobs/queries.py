"""SQL of the jobs actions. Counts of an unfinished job are read live from
its notification rows; a finished job keeps them in its own row."""
from shared_models.jobs import CANCEL, COUNTS, SET_CANCELLED_COUNTS

READ = """
SELECT job_id, kind, status, sent, failed, blocked, created_at, finished_at
FROM jobs WHERE shop_id = $1 AND job_id = $2
"""
LIVE_COUNTS = COUNTS

__all__ = ["READ", "LIVE_COUNTS", "CANCEL", "SET_CANCELLED_COUNTS"]
