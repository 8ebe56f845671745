"""notify, bulk_notify and jobs through real workers; the plan limit under a race."""
from __future__ import annotations

import uuid

import pytest

from api_service.app import create_app
from dispatcher.runner import run_job
from dispatcher.runtime import Tuning
from dispatcher.worker import build_runtime, close_runtime
from shared_models.config import Config, ConfigError
from tests.conftest import Api
from tests.dispatch_support import create_signup, running_workers, wait_for
from tests.test_dispatch_restock import make_signups


async def job_done(api, job_id):
    status, job, _ = await api.get(f"/jobs/{job_id}")
    return job if job["status"] in ("done", "cancelled", "failed") else None


async def test_notify_sends_once_and_job_reports_it(api, pool, shop, config):
    [sid] = await make_signups(api, shop, 1)
    status, body, _ = await api.post(f"/back_in_stock/signups/{sid}/notify", json={})
    assert status == 202 and set(body) == {"job_id"}
    # Same signup again while queued: 409, and no second job.
    status, again, _ = await api.post(f"/back_in_stock/signups/{sid}/notify", json={})
    assert status == 409 and again["errors"] == ["A send for this signup is already queued or in flight"]
    async with running_workers(config):
        job = await wait_for(lambda: job_done(api, body["job_id"]), what="job done")
    assert job["kind"] == "notify" and job["status"] == "done"
    assert job["counts"] == {"sent": 1, "failed": 0, "blocked": 0}
    status, notes, _ = await api.get("/back_in_stock/notifications", params={"job_id": body["job_id"]})
    [note] = notes["notifications"]
    assert note["trigger"] == "manual" and note["status"] == "sent" and note["signup_id"] == sid
    assert note["batch"] == 1 and note["attempt"] == 1 and note["provider"] == "console"
    # Notified: without allow_resend 422, with it a new job.
    status, err, _ = await api.post(f"/back_in_stock/signups/{sid}/notify", json={"allow_resend": False})
    assert status == 422
    status, resend, _ = await api.post(f"/back_in_stock/signups/{sid}/notify", json={"allow_resend": True})
    assert status == 202
    async with running_workers(config):
        await wait_for(lambda: job_done(api, resend["job_id"]), what="resend done")
    status, signup, _ = await api.get(f"/back_in_stock/signups/{sid}")
    assert signup["notifications_sent"] == 2 and signup["status"] == "notified"


async def test_notify_unknown_or_foreign_signup_is_404(api, make_shop):
    other = await make_shop()
    [sid] = await make_signups(api.with_key(other.api_key), other, 1)
    status, body, _ = await api.post(f"/back_in_stock/signups/{sid}/notify", json={})
    assert status == 404
    status, body, _ = await api.post("/back_in_stock/signups/00000000-0000-0000-0000-000000000000/notify", json={})
    assert status == 404


async def test_bulk_notify_by_ids_accepts_and_rejects(api, pool, shop, config):
    ids = await make_signups(api, shop, 4)
    await pool.execute("UPDATE signups SET last_notified_at = now(), notifications_sent = 1 WHERE signup_id = $1",
                       uuid.UUID(ids[0]))
    status, single, _ = await api.post(f"/back_in_stock/signups/{ids[1]}/notify", json={})
    unknown = "00000000-0000-0000-0000-000000000001"
    status, body, _ = await api.post("/back_in_stock/signups/bulk_notify",
                                     json={"ids": [*ids, unknown, ids[2]]})
    assert status == 202
    assert body["accepted_count"] == 2 and body["accepted"] == ids[2:]
    assert {(r["id"], r["error"]) for r in body["rejected"]} == {
        (ids[0], "Signup was already notified; set allow_resend to send again"),
        (ids[1], "A send for this signup is already queued or in flight"),
        (unknown, "Signup not found"),
    }
    async with running_workers(config):
        job = await wait_for(lambda: job_done(api, body["job_id"]), what="bulk done")
    assert job["kind"] == "bulk_notify" and job["counts"]["sent"] == 2


async def test_bulk_notify_by_filter(api, pool, shop, config):
    await make_signups(api, shop, 3, variant_id=4001)
    await make_signups(api, shop, 2, variant_id=4002, item=7002)
    status, body, _ = await api.post("/back_in_stock/signups/bulk_notify", json={"filter": {"variant_id": 4002}})
    assert status == 202 and body["accepted_count"] == 2 and "accepted" not in body
    async with running_workers(config):
        await wait_for(lambda: job_done(api, body["job_id"]), what="done")
    assert await pool.fetchval("SELECT count(*) FROM notifications WHERE variant_id = 4002 AND status='sent'") == 2
    assert await pool.fetchval("SELECT count(*) FROM notifications WHERE variant_id = 4001") == 0


async def test_free_plan_53_notifies_two_workers_exactly_50_sent(api, pool, shop, config):
    ids = await make_signups(api, shop, 53)
    jobs = []
    for sid in ids:
        status, body, _ = await api.post(f"/back_in_stock/signups/{sid}/notify", json={})
        assert status == 202
        jobs.append(body["job_id"])
    async with running_workers(config, n=2, chunk_size=5):
        await wait_for(lambda: _all_jobs_done(pool, shop), timeout=60, what="53 jobs done")
    counts = dict(await pool.fetch(
        "SELECT coalesce(blocked_reason, status), count(*) FROM notifications WHERE shop_id = $1 GROUP BY 1",
        shop.shop_id))
    assert counts == {"sent": 50, "plan_limit": 3}
    assert await pool.fetchval("SELECT used FROM plan_usage WHERE shop_id = $1", shop.shop_id) == 50
    statuses = [r["status"] for r in await pool.fetch("SELECT status FROM signups WHERE shop_id = $1", shop.shop_id)]
    assert statuses.count("notified") == 50 and statuses.count("blocked") == 3


async def _all_jobs_done(pool, shop):
    return not await pool.fetchval(
        "SELECT count(*) FROM jobs WHERE shop_id = $1 AND status IN ('queued', 'running')", shop.shop_id)


async def test_cancel_stops_unsent_work(api, pool, make_shop, config):
    shop = await make_shop(plan="lite")
    api = api.with_key(shop.api_key)
    ids = await make_signups(api, shop, 6)
    await api.patch("/back_in_stock/settings/delivery", json={"batch_size": 2, "batch_interval_minutes": 60})
    status, body, _ = await api.post("/back_in_stock/signups/bulk_notify", json={"ids": ids, "batched": True})
    async with running_workers(config):
        await wait_for(lambda: _sent_count(pool, shop, 2), what="first batch sent")
        status, job, _ = await api.post(f"/jobs/{body['job_id']}/cancel", json={})
        assert status == 200 and job["status"] == "cancelled" and job["counts"]["sent"] == 2
    # Batch 2 comes due: a worker running the job now finds it cancelled.
    await pool.execute("UPDATE jobs SET next_run_at = now()")
    rt = await build_runtime(config, Tuning())
    try:
        assert await run_job(rt, shop.shop_id, uuid.UUID(body["job_id"])) == "idle"
    finally:
        await close_runtime(rt)
    assert await pool.fetchval("SELECT count(*) FROM notifications WHERE shop_id = $1", shop.shop_id) == 2
    assert await pool.fetchval("SELECT count(*) FROM job_targets WHERE state = 'cancelled'") == 4
    status, again, _ = await api.post(f"/jobs/{body['job_id']}/cancel", json={})
    assert status == 409
    # The cancelled targets are free again: a new notify is accepted.
    status, _, _ = await api.post(f"/back_in_stock/signups/{ids[5]}/notify", json={})
    assert status == 202


async def _sent_count(pool, shop, n):
    return await pool.fetchval(
        "SELECT count(*) FROM notifications WHERE shop_id = $1 AND status = 'sent'", shop.shop_id) >= n


async def test_jobs_of_other_shops_are_404(api, make_shop):
    other = await make_shop()
    other_api = api.with_key(other.api_key)
    [sid] = await make_signups(other_api, other, 1)
    status, body, _ = await other_api.post(f"/back_in_stock/signups/{sid}/notify", json={})
    assert (await api.get(f"/jobs/{body['job_id']}"))[0] == 404
    assert (await api.post(f"/jobs/{body['job_id']}/cancel", json={}))[0] == 404


async def test_notify_starts_chains_as_the_dispatch_variables_say(api, shop, redis, env, config, aiohttp_client):
    """shared_models.chains owns the rule: DISPATCH_CHUNK_SIZE and DISPATCH_PARALLEL_CHAINS
    apply to bulk_notify's jobs as to a restock's."""
    ids = [(await create_signup(api, shop, email=f"n{i}@example.com"))["id"] for i in range(7)]
    tuned_config = Config.from_env({**env, "DISPATCH_CHUNK_SIZE": "2", "DISPATCH_PARALLEL_CHAINS": "3"})
    tuned = Api(await aiohttp_client(create_app(tuned_config)), shop.headers)
    status, out, _ = await tuned.post("/back_in_stock/signups/bulk_notify", json={"ids": ids})
    assert status == 202, out
    assert await redis.zcard(config.queue_name) == 3  # 4 chunks of 2, at most 3 at once
    with pytest.raises(ConfigError, match="DISPATCH_PARALLEL_CHAINS"):
        Config.from_env({**env, "DISPATCH_PARALLEL_CHAINS": "0"})  # refused at start, never in a request
