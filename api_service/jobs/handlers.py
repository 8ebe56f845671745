"""jobs_read (jobs_cancel comes with the dispatcher)."""
from __future__ import annotations

from typing import Any

from api_service.context import Call
from api_service.errors import NotFound
from api_service.jobs import queries
from api_service.jobs.schemas import job_out


async def read_job(call: Call) -> dict[str, Any]:
    row = await call.pool.fetchrow(queries.READ, call.shop.shop_id, call.path["id"])
    if row is None:
        raise NotFound("Job not found")
    return job_out(row)
