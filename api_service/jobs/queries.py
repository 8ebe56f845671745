"""SQL of the jobs actions."""
READ = """
SELECT job_id, kind, status, sent, failed, blocked, created_at, finished_at
FROM jobs WHERE shop_id = $1 AND job_id = $2
"""
