"""back_in_stock_signups_notify and back_in_stock_signups_bulk_notify: record a
send job (and its targets) in PostgreSQL, then enqueue it for the dispatcher.

If Redis is down the job is still accepted (202): it lives in PostgreSQL and
the dispatcher's sweep runs it once Redis is back."""
from __future__ import annotations

import uuid
from typing import Any

from api_service.context import Call, Reply
from shared_models.errors import Conflict, NotFound, Unprocessable
from api_service.signups import queries
from shared_models import jobs
from shared_models.chains import start_chains
from shared_models.settings import applicable
from shared_models.signup_states import NOT_ALERTED, alerted_sql

# "Already notified" is alerted (shared_models.signup_states), whatever happened since.
LOCK_ONE = f"""
SELECT {alerted_sql("")} AS notified FROM signups
WHERE shop_id = $1 AND signup_id = $2 FOR UPDATE
"""
STATES = f"""
SELECT signup_id, {alerted_sql("")} AS notified FROM signups
WHERE shop_id = $1 AND signup_id = ANY($2::uuid[])
"""
ALREADY_NOTIFIED = "Signup was already notified; set allow_resend to send again"
RESEND_FIELD = "Must be true to send again: this signup was already notified."
IN_FLIGHT = "A send for this signup is already queued or in flight"
NOT_FOUND = "Signup not found"


async def enqueue(call: Call, job_id: uuid.UUID, targets: int) -> None:
    """DISPATCH_CHUNK_SIZE and DISPATCH_PARALLEL_CHAINS apply here as in the dispatcher."""
    if targets:
        await start_chains(call.conns.queue, call.conns.chains, call.shop.shop_id, job_id, targets)


async def notify_signup(call: Call) -> Reply:
    shop_id, signup_id = call.shop.shop_id, call.path["signup_id"]
    allow_resend = call.body["allow_resend"]
    async with call.pool.acquire() as conn, conn.transaction():
        notified = await conn.fetchval(LOCK_ONE, shop_id, signup_id)
        if notified is None:
            raise NotFound(NOT_FOUND)
        if notified and not allow_resend:
            raise Unprocessable(ALREADY_NOTIFIED, fields={"allow_resend": [RESEND_FIELD]})
        job_id = await jobs.create_job(conn, shop_id, kind="notify", trigger="manual", allow_resend=allow_resend,
                                       request_id=call.request_id)
        if not await jobs.add_targets(conn, shop_id, job_id, where=jobs.TARGETS_BY_IDS, arg=[signup_id],
                                      batch_size=None):
            raise Conflict(IN_FLIGHT)  # rolls the job back too
    await enqueue(call, job_id, 1)
    return Reply({"job_id": str(job_id)}, 202)


async def batching(call: Call, batched: bool) -> tuple[int | None, int, str]:
    if not batched:
        return None, 0, "oldest_first"
    delivery = applicable(await call.shop.effective_settings(call.pool), call.shop.plan)["delivery"]
    return delivery["batch_size"], delivery["batch_interval_minutes"], delivery["order"]


async def bulk_notify(call: Call) -> Reply:
    body, shop_id = call.body, call.shop.shop_id
    allow_resend = body["allow_resend"]
    batch_size, interval, order = await batching(call, body["batched"])
    rejected: list[dict[str, str]] = []
    if body.get("ids") is not None:
        wanted = list(dict.fromkeys(body["ids"]))  # de-duplicated, order kept
        states = {r["signup_id"]: r["notified"] for r in await call.pool.fetch(STATES, shop_id, wanted)}
        eligible = []
        for sid in wanted:
            if sid not in states:
                rejected.append({"id": str(sid), "error": NOT_FOUND})
            elif states[sid] and not allow_resend:
                rejected.append({"id": str(sid), "error": ALREADY_NOTIFIED})
            else:
                eligible.append(sid)
    else:
        filters = dict(body["filters"])
        w = queries.where(shop_id, filters, call.shop.timezone)
        if not allow_resend:
            w.clauses.append(NOT_ALERTED)
        eligible = [r["signup_id"] for r in await call.pool.fetch(
            f"SELECT s.signup_id FROM signups s WHERE {w.sql}", *w.args)]
    async with call.pool.acquire() as conn, conn.transaction():
        job_id = await jobs.create_job(conn, shop_id, kind="bulk_notify", trigger="manual",
                                       allow_resend=allow_resend, batch_interval_minutes=interval,
                                       request_id=call.request_id)
        accepted = await jobs.add_targets(conn, shop_id, job_id, where=jobs.TARGETS_BY_IDS, arg=eligible,
                                          batch_size=batch_size, order=order)
    await enqueue(call, job_id, len(accepted))
    out: dict[str, Any] = {"job_id": str(job_id), "accepted_count": len(accepted)}
    if body.get("ids") is not None:
        taken = set(accepted)
        rejected += [{"id": str(s), "error": IN_FLIGHT} for s in eligible if s not in taken]
        out["accepted"] = [str(s) for s in eligible if s in taken]
        out["rejected"] = rejected
    return Reply(out, 202)
