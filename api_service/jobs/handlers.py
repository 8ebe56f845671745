"""jobs_read and jobs_cancel."""
from __future__ import annotations

from typing import Any

from api_service.context import Call
from shared_models.errors import Conflict, NotFound
from api_service.jobs import queries
from api_service.jobs.schemas import job_out


async def fetch_job(call: Call) -> dict[str, Any]:
    shop_id, job_id = call.shop.shop_id, call.path["id"]
    row = await call.pool.fetchrow(queries.READ, shop_id, job_id)
    if row is None:
        raise NotFound("Job not found")
    job = job_out(row)
    if row["status"] in ("queued", "running", "cancelled"):  # in-flight sends may still land
        live = await call.pool.fetchrow(queries.LIVE_COUNTS, shop_id, job_id)
        job["counts"] = dict(live)
    return job


async def read_job(call: Call) -> dict[str, Any]:
    return await fetch_job(call)


async def cancel_job(call: Call) -> dict[str, Any]:
    shop_id, job_id = call.shop.shop_id, call.path["id"]
    async with call.pool.acquire() as conn, conn.transaction():
        status = await conn.fetchval("SELECT status FROM jobs WHERE shop_id = $1 AND job_id = $2 FOR UPDATE",
                                     shop_id, job_id)
        if status is None:
            raise NotFound("Job not found")
        if status not in ("queued", "running"):
            raise Conflict(f"Job already finished ({status})")
        await conn.execute(queries.CANCEL, shop_id, job_id)
        await conn.execute(queries.SET_CANCELLED_COUNTS, shop_id, job_id)
    return await fetch_job(call)
